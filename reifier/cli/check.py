"""``reifier check PATH…|--command CMD``: run the guard without running anything.

Exit 0 when everything is allowed, 3 when anything is refused, 2 on a bad path.
Notebooks are read with the stdlib ``json`` module: importing nbformat would cost
more than the check itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option
from reifier.errors import EXIT_REFUSED, BadInput


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--command", "-c", "command", default=None, help="A shell command to judge.")
@click.option("--allow", "allow", multiple=True, metavar="RULE",
              help="A rule the approver allowed for --command (repeatable).")
@click.option("--strict", is_flag=True,
              help="Refuse unresolvable code even when allowed (as autonomous runs do).")
@click.option("--list-rules", is_flag=True, help="List the guard's rules and exit.")
@json_option
def cmd_check(*, paths: tuple[Path, ...], command: str | None, allow: tuple[str, ...],
              strict: bool, list_rules: bool, as_json: bool) -> None:
    """Judge a command or the code cells of runbook notebooks with the safety guard."""
    from reifier.core import guard

    if list_rules:
        _list_rules(as_json)
        return
    if command is None and not paths:
        raise BadInput("give a notebook PATH or --command CMD (see reifier check --help)")
    unknown = sorted(set(allow) - guard.RULE_NAMES)
    if unknown:
        raise BadInput(f"unknown rule(s) {', '.join(unknown)}; valid: "
                       f"{', '.join(sorted(guard.RULE_NAMES))}")
    notebooks = [(path, _load(path)) for path in paths]  # every path is checked before output
    report: dict[str, Any] = {}
    refused = False
    if command is not None:
        verdict = guard.evaluate(command, allow=frozenset(allow), require_resolvable=strict)
        report["command"] = {"command": command, **_verdict_dict(verdict)}
        refused = not verdict.allowed
        if not as_json:
            _print_verdict("", verdict)
    report["notebooks"] = []
    for path, nb in notebooks:
        cells = guard.check_notebook(nb, require_resolvable=strict)
        ok = all(c.verdict.allowed for c in cells)
        refused = refused or not ok
        report["notebooks"].append({
            "path": str(path), "allowed": ok,
            "cells": [{"index": c.index, "id": c.cell_id, **_verdict_dict(c.verdict)}
                      for c in cells]})
        if not as_json:
            for cell in cells:
                if cell.verdict.findings:
                    _print_verdict(f"{path}: cell {cell.index}: ", cell.verdict)
            bad = sum(not c.verdict.allowed for c in cells)
            click.echo(f"{path}: {len(cells)} code cell(s), {bad} refused")
    if as_json:
        emit_json({"allowed": not refused, **report})
    if refused:
        click.get_current_context().exit(EXIT_REFUSED)


def _load(path: Path) -> dict[str, Any]:
    """Read a notebook as a plain dict, or raise BadInput with a one-line reason."""
    if path.suffix != ".ipynb":
        raise BadInput(f"{path}: only .ipynb notebooks can be checked")
    if not path.is_file():
        raise BadInput(f"{path}: no such notebook")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not a notebook ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise BadInput(f"{path}: not a notebook (no cells list)")
    return data


def _verdict_dict(verdict: Any) -> dict[str, Any]:
    return {
        "allowed": verdict.allowed,
        "reason": verdict.reason,
        "waived": sorted(verdict.waived),
        "findings": [{"rule": f.rule, "message": f.message, "span": list(f.span),
                      "snippet": f.snippet, "unknown": f.unknown} for f in verdict.findings],
    }


def _print_verdict(prefix: str, verdict: Any) -> None:
    click.echo(f"{prefix}{verdict.reason}")
    for f in verdict.findings:
        state = "allowed" if f.rule in verdict.waived else "refused"
        click.echo(f"  {state} {f.rule} [{f.span[0]}:{f.span[1]}] {f.message}: `{f.snippet}`")


def _list_rules(as_json: bool) -> None:
    from reifier.core.guard import DANGER_RULES

    if as_json:
        emit_json([{"name": r.name, "description": r.description, "examples": list(r.examples)}
                   for r in DANGER_RULES])
        return
    for rule in DANGER_RULES:
        click.echo(f"{rule.name:22} {rule.description}")
