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
@click.option("--follow", "-f", is_flag=True,
              help="Keep following the files (rotation handled); goes on from the last patrol.")
@click.option("--from-start", is_flag=True,
              help="Read the files from the beginning, whatever was read before.")
@click.option("--resume", is_flag=True,
              help="Go on from where the last patrol of these files stopped.")
@click.option("--window", type=click.FloatRange(min=0), default=60.0, show_default=True,
              metavar="SECONDS",
              help="Lines matching one pattern within this time make one suggestion, counted.")
@click.option("--no-run", is_flag=True, help="Only suggest, even when autonomy would run.")
@workspace_option
def cmd_patrol(
    files: tuple[Path, ...],
    follow: bool,
    from_start: bool,
    resume: bool,
    window: float,
    no_run: bool,
    workspace: str | None,
) -> None:
    """Match new lines of FILES against approved runbooks; suggest or run them.

    A new patrol starts at the end of each file, like `tail -f`: run once, it reads
    nothing and remembers the end. --from-start reads from the beginning; --resume
    (and --follow) go on from the stored offset. Exits 2 if a file does not exist.

    \b
    Examples:
      reifier patrol /var/log/app.log --from-start      # the whole file, once
      reifier patrol /var/log/app.log --resume          # what is new since the last patrol
      reifier patrol /var/log/postgresql/*.log --follow # keep answering new lines
    """
    from reifier.errors import BadInput, NotFound

    if from_start and resume:
        raise BadInput("--from-start and --resume contradict each other: pick one")
    for path in files:
        if not path.exists():
            raise NotFound(f"{path}: no such file")
        if not path.is_file():
            raise BadInput(f"{path}: not a regular file")

    from reifier.adapters import patrol, respond

    ctx, store = open_store(workspace)

    def runner(rid: str, path: Path, params: dict[str, str], trigger: str) -> Any:
        result = respond.run_autonomously(ctx, store, rid, path, params, trigger)
        if result is not None:
            click.echo(f"ran {rid}: {result.status}  record: {result.html}")
        return result

    def show(line: str, resp: respond.Response, count: int = 1) -> None:
        d = resp.decision
        times = f"  x{count}" if count > 1 else ""
        click.echo(f"{d.action:7s} {d.runbook_id}  score {d.score:.2f}  ({d.reason}){times}"
                   f"  <- {line[:120]}")

    def show_group(group: patrol.Group) -> None:  # a one-shot patrol: each with its count
        for resp in group.responses:
            show(group.line, resp, group.count)

    def show_repeats(group: patrol.Group) -> None:  # following: the first was shown at once
        if group.count > 1:
            click.echo(f"repeat  {group.runbook_id}  {group.count - 1} more matching line(s)"
                       f" within {window:g}s: one suggestion, count {group.count}")

    start = "beginning" if from_start else "resume" if resume or follow else "end"
    try:
        p = patrol.Patrol(ctx, store, files, runner=None if no_run else runner,
                          on_response=show if follow else None,
                          on_group=show_repeats if follow else show_group, window_s=window)
        if not follow:
            p.poll(start=start)
            p.expire(float("inf"))
            hint = ""
            if start == "end":
                hint = " (a new patrol starts at the end: --from-start reads the whole file," \
                       " --resume goes on from here next time)"
            click.echo(f"{p.stats.lines} lines read, {p.stats.matched} matched,"
                       f" {p.stats.suggestions} suggestion(s){hint}", err=True)
            return
        p.poll(start=start)
        click.echo(f"reifier: patrolling {len(files)} file(s) (Ctrl-C to stop)", err=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        patrol.follow(p, stop)
    finally:
        store.close()
