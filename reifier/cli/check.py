"""``reifier check PATH…|--command CMD``: the guard and approval checks, statically.

Exit 0 when everything would run, 3 when anything would be refused (a draft, a
stale or badly signed approval, a guarded cell), 2 on a bad path. A team can
lint its runbook repository with it in CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, workspace_option
from reifier.errors import EXIT_REFUSED, BadInput


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--command", "-c", "command", default=None, help="A shell command to judge.")
@click.option(
    "--allow",
    "allow",
    multiple=True,
    metavar="RULE",
    help="A rule the approver allowed for --command (repeatable).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse unresolvable code even when allowed (as autonomous runs do).",
)
@click.option("--list-rules", is_flag=True, help="List the guard's rules and exit.")
@workspace_option
@json_option
def cmd_check(
    *,
    paths: tuple[Path, ...],
    command: str | None,
    allow: tuple[str, ...],
    strict: bool,
    list_rules: bool,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Judge a command or the code cells of runbook notebooks with the safety guard."""
    from reifier.core import guard

    if list_rules:
        _list_rules(as_json)
        return
    if command is None and not paths:
        raise BadInput("give a notebook PATH or --command CMD (see reifier check --help)")
    unknown = sorted(set(allow) - guard.RULE_NAMES)
    if unknown:
        raise BadInput(
            f"unknown rule(s) {', '.join(unknown)}; valid: {', '.join(sorted(guard.RULE_NAMES))}"
        )
    for path in paths:
        if path.suffix not in {".md", ".ipynb"}:
            raise BadInput(f"{path}: a runbook is a .md or .ipynb file")
    report: dict[str, Any] = {}
    refused = False
    if command is not None:
        verdict = guard.evaluate(command, allow=frozenset(allow), require_resolvable=strict)
        report["command"] = {"command": command, **_verdict_dict(verdict)}
        refused = not verdict.allowed
        if not as_json:
            _print_verdict("", verdict)
    report["runbooks"] = []
    if paths:
        from reifier.adapters.approve import check_paths
        from reifier.adapters.settings import load_context

        for result in check_paths(load_context(workspace), list(paths), require_resolvable=strict):
            refused = refused or not result.ok
            report["runbooks"].append(result.to_json())
            if as_json:
                continue
            state = result.status.state
            click.echo(
                f"{result.path}: {state.status}" + (f" ({state.reason})" if not state.ok else "")
            )
            for r in result.refusals:
                click.echo(f"  code cell {r.cell}: refused: {r.reason}")
    if as_json:
        emit_json({"allowed": not refused, **report})
    if refused:
        click.get_current_context().exit(EXIT_REFUSED)


def _verdict_dict(verdict: Any) -> dict[str, Any]:
    return {
        "allowed": verdict.allowed,
        "reason": verdict.reason,
        "waived": sorted(verdict.waived),
        "findings": [
            {
                "rule": f.rule,
                "message": f.message,
                "span": list(f.span),
                "snippet": f.snippet,
                "unknown": f.unknown,
            }
            for f in verdict.findings
        ],
    }


def _print_verdict(prefix: str, verdict: Any) -> None:
    """One line per finding (the rule, where, why), or the verdict when nothing fired."""
    if not verdict.findings:
        click.echo(f"{prefix}{verdict.reason}")
        return
    for f in verdict.findings:
        state = "allowed" if f.rule in verdict.waived else "refused"
        click.echo(f"{prefix}{state} by rule {f.rule} [{f.span[0]}:{f.span[1]}]: {f.message} "
                   f"in `{f.snippet}`")


def _list_rules(as_json: bool) -> None:
    from reifier.core.guard import DANGER_RULES

    if as_json:
        emit_json(
            [
                {"name": r.name, "description": r.description, "examples": list(r.examples)}
                for r in DANGER_RULES
            ]
        )
        return
    for rule in DANGER_RULES:
        click.echo(f"{rule.name:22} {rule.description}")
