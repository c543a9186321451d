"""``reifier demo``: the whole cycle, end to end, in a temporary sandbox."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--sandbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to use (default: a new temporary directory, kept at the end).")
def cmd_demo(sandbox: Path | None) -> None:
    """Break a real service, fix it in a recorded shell, draft, approve, alert, run."""
    from reifier.demo.runner import run_demo

    run_demo(click.echo, sandbox)
