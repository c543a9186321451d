"""``reifier match``: which approved runbook fixes this error line?"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option
from reifier.errors import EXIT_FAILED, BadInput


def match_dict(line: str, matches: Any, runbooks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return one line's result: the line and its ranked candidates with evidence."""
    return {
        "line": line,
        "candidates": [
            {
                "runbook": m.runbook_id,
                "title": runbooks.get(m.runbook_id, {}).get("title", ""),
                "path": runbooks.get(m.runbook_id, {}).get("path"),
                "score": m.score,
                "pattern": m.pattern,
                "matched_tokens": list(m.matched_tokens),
                "variables": [{"kind": k, "value": v} for k, v in m.variables],
            }
            for m in matches
        ],
    }


@click.command("match")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file_",
    type=click.Path(path_type=Path),
    help="Match every line of FILE ('-' for stdin).",
)
@click.option(
    "--threshold", type=float, default=None, help="Minimum score (default: match_threshold, 0.8)."
)
@click.option("--limit", type=int, default=5, show_default=True, help="Candidates per line.")
@workspace_option
@json_option
def cmd_match(
    text: str | None,
    file_: Path | None,
    threshold: float | None,
    limit: int,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Rank approved runbooks for TEXT (or each line of --file); exit 1 if nothing matched."""
    from reifier.adapters import graph

    if (text is None) == (file_ is None):
        raise BadInput("give either TEXT or --file FILE")
    ctx, store = open_store(workspace)
    try:
        graph.sync_runbooks(ctx, store)
        cat = graph.catalog(store)
    finally:
        store.close()
    floor = threshold if threshold is not None else ctx.settings.match_threshold
    if file_ is not None:
        stream = sys.stdin if str(file_) == "-" else None
        try:
            lines = (
                stream.read() if stream else file_.read_text(encoding="utf-8", errors="replace")
            ).splitlines()
        except OSError as exc:
            raise BadInput(f"cannot read {file_}: {exc.strerror or exc}") from None
    else:
        lines = [str(text)]
    any_match = False
    for line in lines:
        matches = cat.index.match(line, threshold=floor, limit=limit)
        any_match = any_match or bool(matches)
        result = match_dict(line, matches, cat.runbooks)
        if as_json:
            if file_ is not None:
                import json

                click.echo(json.dumps(result, sort_keys=True))
            else:
                emit_json(result)
            continue
        if not matches:
            if file_ is None:
                click.echo("no runbook matches")
            continue
        click.echo(line if file_ is not None else f"matches for: {line}")
        for c in result["candidates"]:
            variables = ", ".join(f"{v['kind']}={v['value']}" for v in c["variables"])
            click.echo(f"  {c['score']:.2f}  {c['runbook']}  ({c['path']})")
            click.echo(
                f"        pattern: {c['pattern']}"
                + (f"  variables: {variables}" if variables else "")
            )
    if not any_match:
        sys.exit(EXIT_FAILED)
