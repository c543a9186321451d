"""``reifier records``: list runs, or ``--verify`` the hash-chained evidence."""

from __future__ import annotations

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option
from reifier.errors import ReifierError


class EvidenceAltered(ReifierError):
    """The records or their index were altered or removed (exit 1)."""


@click.command("records")
@click.option("--verify", is_flag=True, help="Check the index chain and every record's hash.")
@click.option("--runbook", default=None, metavar="ID", help="Only runs of this runbook.")
@workspace_option
@json_option
def cmd_records(verify: bool, runbook: str | None, workspace: str | None, as_json: bool) -> None:
    """List runs from ``runbooks/records/index.jsonl`` (newest last), or verify them."""
    from reifier.adapters import records

    ctx, store = open_store(workspace)
    try:
        if verify:
            problems = records.verify(ctx, store)
            count = len(records.read_index(ctx))
            if as_json:
                emit_json({"ok": not problems, "runs": count, "problems": problems})
            else:
                for problem in problems:
                    click.echo(f"ALTERED: {problem}")
                if not problems:
                    click.echo(f"records intact: {count} runs, chain and hashes verified")
            if problems:
                raise EvidenceAltered(f"{len(problems)} problem(s) in the run records")
            return
        lines = [r for r in records.read_index(ctx) if runbook in (None, r.get("runbook"))]
    finally:
        store.close()
    if as_json:
        emit_json(lines)
        return
    if not lines:
        click.echo("no runs recorded yet (try `reifier run PATH`)")
    for r in lines:
        click.echo(f"{r.get('run_id')}  {r.get('runbook')}  {r.get('status'):20s}"
                   f"  {r.get('trigger')}  {r.get('record')}")
