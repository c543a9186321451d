"""``reifier patrol``: watch log files and answer known errors with their runbooks."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import open_store, workspace_option


@click.command("patrol")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--follow", "-f", is_flag=True, help="Keep following the files (rotation handled).")
@click.option("--from-start", is_flag=True, help="Read files from the beginning, not the end.")
@click.option("--no-run", is_flag=True, help="Only suggest, even when autonomy would run.")
@workspace_option
def cmd_patrol(
    files: tuple[Path, ...], follow: bool, from_start: bool, no_run: bool, workspace: str | None
) -> None:
    """Match new lines of FILES against approved runbooks; suggest or run them."""
    from reifier.adapters import patrol, respond

    ctx, store = open_store(workspace)

    def runner(rid: str, path: Path, params: dict[str, str], trigger: str) -> Any:
        result = respond.run_autonomously(ctx, store, rid, path, params, trigger)
        if result is not None:
            click.echo(f"ran {rid}: {result.status}  record: {result.html}")
        return result

    def show(line: str, resp: respond.Response) -> None:
        d = resp.decision
        click.echo(
            f"{d.action:7s} {d.runbook_id}  score {d.score:.2f}  ({d.reason})  <- {line[:120]}"
        )

    try:
        p = patrol.Patrol(ctx, store, files, runner=None if no_run else runner, on_response=show)
        if not follow:
            p.poll(from_start=True)  # a one-shot patrol reads the whole file
            click.echo(f"{p.stats.lines} lines read, {p.stats.matched} matched", err=True)
            return
        p.poll(from_start=from_start)
        click.echo(f"reifier: patrolling {len(files)} file(s) (Ctrl-C to stop)", err=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        patrol.follow(p, stop)
    finally:
        store.close()
