"""``reifier watch``: follow the hook spool and history files into the store."""

from __future__ import annotations

import signal
import threading

import click

from reifier.cli.options import workspace_option


@click.command("watch")
@click.option("--once", is_flag=True, help="Drain what is pending, close idle sessions, exit.")
@workspace_option
def cmd_watch(once: bool, workspace: str | None) -> None:
    """Follow the spool (and configured history files) until interrupted."""
    from reifier.adapters.settings import load_context
    from reifier.adapters.store import Store
    from reifier.adapters.watch import Watcher, run_forever

    ctx = load_context(workspace)
    store = Store(ctx.db_path)
    watcher = Watcher(ctx, store, wait_settle=once)
    try:
        if once:
            added = watcher.drain()
            watcher.close_idle()
            click.echo(
                f"{added} commands added, {len(watcher.stats.closed)} sessions closed,"
                f" {len(watcher.stats.skipped)} records skipped"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"reifier: watching {ctx.spool_dir} (Ctrl-C to stop)", err=True)
        run_forever(watcher, stop=stop)
    finally:
        store.close()
