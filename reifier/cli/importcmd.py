"""``reifier import FILE``: read a bash or zsh history file into the store."""

from __future__ import annotations

from pathlib import Path

import click

from reifier.cli.options import emit_json, json_option, workspace_option


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    default=None,
    help="Force a format: bash, bash-timestamps, zsh-extended, spool (default: detect).",
)
@click.option("--host", default=None, help="Host the history came from (default: this host).")
@click.option("--user", default=None, help="User the history belongs to (default: you).")
@workspace_option
@json_option
def cmd_import(
    files: tuple[Path, ...],
    fmt: str | None,
    host: str | None,
    user: str | None,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Import history FILES; importing the same file twice adds nothing."""
    from reifier.adapters.ingest import import_file
    from reifier.adapters.settings import load_context
    from reifier.adapters.store import Store

    ctx = load_context(workspace)
    store = Store(ctx.db_path)
    reports = []
    try:
        for path in files:
            reports.append(import_file(ctx, path, fmt, host=host, user=user, store=store))
    finally:
        store.close()
    if as_json:
        emit_json([r.as_dict() for r in reports])
        return
    for r in reports:
        d = r.as_dict()
        line = (
            f"{r.path}: {d['format']}, {r.read} commands read, {r.added} added,"
            f" {r.duplicates} already stored"
        )
        if r.skipped:
            reasons = ", ".join(f"{n}× {why}" for why, n in d["skip_reasons"].items())  # type: ignore[attr-defined]
            line += f", {len(r.skipped)} skipped ({reasons})"
        click.echo(line)
