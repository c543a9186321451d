"""``reifier watch``: follow the hook spool and history files into the store."""

from __future__ import annotations

import signal
import threading
from typing import Any

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
            _draft_closed(ctx, store, watcher.stats.closed)
            for path in watcher.approve_moved():
                click.echo(f"approved {path} (moved into runbooks/approved/)")
            click.echo(
                f"{added} commands added, {len(watcher.stats.closed)} sessions closed,"
                f" {len(watcher.stats.skipped)} records skipped"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"reifier: watching {ctx.spool_dir} (Ctrl-C to stop)", err=True)
        run_forever(watcher, stop=stop, on_closed=lambda ids: _draft_closed(ctx, store, ids))
    finally:
        store.close()


def _draft_closed(ctx: Any, store: Any, session_ids: list[str]) -> None:
    """Tell subscribers a session closed, then draft it (``auto_draft``); survive errors."""
    from reifier.adapters.watch import notify_closed

    for problem in notify_closed(ctx, store, session_ids):
        click.echo(f"reifier: {problem}", err=True)
    if not ctx.settings.auto_draft:
        return
    from reifier.adapters.scribe import draft_session, load_session
    from reifier.errors import ReifierError

    for sid in session_ids:
        try:
            session = load_session(store, sid)
            if not any(c.role in {"fix", "edit"} for c in session.commands):
                continue  # browsing, not fixing: nothing to write a runbook about
            result = draft_session(ctx, store, sid)
        except ReifierError as exc:
            click.echo(f"reifier: session {sid}: no draft: {exc}", err=True)
            continue
        if result.created:
            click.echo(f"reifier: drafted {result.md}", err=True)
