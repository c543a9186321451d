"""``reifier draft``: write the draft runbook pair of a session."""

from __future__ import annotations

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option


@click.command("draft")
@click.argument("session_id", required=False)
@click.option("--last", is_flag=True, help="Draft the newest session (the default).")
@click.option("--symptom", default=None, help="What was wrong (an error line, an alert).")
@click.option("--force", is_flag=True,
              help="Regenerate the session's existing draft in place (its edits are lost).")
@workspace_option
@json_option
def cmd_draft(
    session_id: str | None,
    last: bool,
    symptom: str | None,
    force: bool,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Write runbooks/drafts/<slug>-<date>.md + .ipynb for SESSION_ID (or --last)."""
    from reifier.adapters.scribe import draft_session

    ctx, store = open_store(workspace)
    try:
        result = draft_session(ctx, store, None if last else session_id, symptom=symptom,
                                force=force)
    finally:
        store.close()
    if as_json:
        emit_json(
            {
                "md": str(result.md),
                "ipynb": str(result.ipynb),
                "created": result.created,
                "id": result.runbook_id,
                "fix": list(result.fix),
            }
        )
        return
    verb = "wrote" if result.created else "already drafted:"
    click.echo(f"{verb} {result.md}\n      {result.ipynb}")
    if result.fix:
        click.echo("fix sequence:")
        for i, src in enumerate(result.fix, 1):
            first, *rest = src.splitlines() or [""]
            click.echo(f"  {i}. {first}" + (f"  …(+{len(rest)} lines)" if rest else ""))
