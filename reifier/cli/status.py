"""``reifier status PATH…``: draft, approved, stale (which cells) or bad-signature."""

from __future__ import annotations

from pathlib import Path

import click

from reifier.cli.options import emit_json, json_option, workspace_option


@click.command("status")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@workspace_option
@json_option
def cmd_status(paths: tuple[Path, ...], workspace: str | None, as_json: bool) -> None:
    """Show the approval state of runbooks, looking at both files of each pair.

    Each pair is shown once, under its .md (or its only file), however many of its
    files are named. Informational: exits 0 whatever the state (2 for a missing or
    corrupt file). Use `reifier check` to fail on anything that is not approved.

    \b
    Examples:
      reifier status runbooks/approved/*.md
      reifier status runbooks/drafts/x.md runbooks/drafts/x.ipynb   # one line
    """
    from reifier.adapters.approve import pair_status
    from reifier.adapters.settings import load_context

    ctx = load_context(workspace)
    pairs: dict[Path, Path] = {}
    for path in paths:  # X.md and X.ipynb are one runbook
        key = path.resolve()
        pairs.setdefault(key.with_suffix("") if key.suffix in {".md", ".ipynb"} else key, path)
    results = [pair_status(ctx, p) for p in pairs.values()]
    if as_json:
        emit_json([r.to_json() for r in results])
        return
    for r in results:
        click.echo(f"{r.path}: {r.state.status} ({r.state.reason})")
        for sig in r.signers():
            click.echo(f"  signed by {sig['principal']} ({sig['fingerprint']}) at {sig['at']}")
        if r.author is not None and r.author.principal:
            click.echo(f"  author: {r.author.describe()}")
