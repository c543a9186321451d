"""``reifier approve PATH…``: sign runbooks (both files of each pair) after the checks."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from reifier.cli.options import emit_json, json_option, workspace_option


def default_approver() -> str:
    """Return ``$USER`` (or the login name when it is unset)."""
    return os.environ.get("USER") or getpass.getuser()


@click.command("approve")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--by", default=None, metavar="NAME", help="Who approves (default: $USER).")
@click.option(
    "--allow",
    "allow",
    multiple=True,
    metavar="CELL:RULE",
    help="Let code cell CELL (number or cell id) run despite guard rule RULE; signed too.",
)
@click.option("--revoke", is_flag=True,
              help="Put the runbooks back in draft instead; the revocation is signed with "
                   "your SSH key and recorded (a restored approved copy stays revoked).")
@click.option("--allow-empty", is_flag=True,
              help="Approve a runbook that has no code cells to run (refused otherwise).")
@workspace_option
@json_option
def cmd_approve(
    *,
    paths: tuple[Path, ...],
    by: str | None,
    allow: tuple[str, ...],
    revoke: bool,
    allow_empty: bool,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Approve runbooks (either file of a pair): guard, four-eyes, then sign both files.

    Exits 3 when the guard refuses a cell (unless allowed with --allow), when the
    four-eyes rule forbids this approver, for ``autonomy: auto`` without four eyes,
    when another runbook in the workspace has the same id, or when there is no code
    cell to run (unless --allow-empty).
    Nothing is written unless every runbook passes.
    """
    from reifier.adapters.approve import approve_paths, parse_allow, unapprove_paths
    from reifier.adapters.settings import load_context

    ctx = load_context(workspace)
    if revoke:
        results = unapprove_paths(ctx, list(paths), by or default_approver())
    else:
        results = approve_paths(ctx, list(paths), by or default_approver(), parse_allow(allow),
                                allow_empty=allow_empty)
    if as_json:
        emit_json([r.to_json() for r in results])
        return
    for r in results:
        if revoke:
            rev = r.revocation
            signed = ("" if not rev.get("problem") else f" ({rev['problem']}"
                      + (f": {rev['unsigned']}" if rev.get("unsigned") else "") + ")")
            click.echo(f"{r.path}: revoked by {rev.get('by', '?')}{signed}; back to "
                       f"{r.state.status}")
        else:
            _echo_signed(r.path)
            digest = str(r.approval.get("digest", ""))[:19]
            click.echo(f"{r.path}: approved by {r.approval.get('by')} ({digest}…)")


def _echo_signed(path: Path) -> None:
    """Show, verbatim, every code cell the signature now covers (what will run)."""
    from reifier.adapters import notebooks
    from reifier.core.approval import code_cells

    nb = notebooks.read(path)
    constraints = nb.get("metadata", {}).get("reifier", {}).get("parameters") or {}
    click.echo(f"{path}: signed these code cells, exactly:")
    for number, cell in enumerate(code_cells(nb), 1):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        tags = ",".join(cell.get("metadata", {}).get("tags") or [])
        click.echo(f"  --- code cell {number}" + (f" [{tags}]" if tags else ""))
        click.echo("".join(f"  | {line}\n" for line in text.rstrip("\n").split("\n")), nl=False)
    for name, spec in constraints.items():
        click.echo(f"  parameter {name}: {spec}")
