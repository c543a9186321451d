"""``reifier watch``: follow the hook spool and history files into the store."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from reifier.cli.options import workspace_option


def _say(line: str) -> None:
    click.echo(f"reifier: {line}", err=True)


@click.command("watch")
@click.option("--once", is_flag=True, help="Drain what is pending, close idle sessions, exit.")
@workspace_option
def cmd_watch(once: bool, workspace: str | None) -> None:
    """Follow the spool (and configured history files) until interrupted.

    Idle, it sleeps: only writes and renames in the spool folder wake it. It never
    approves anything: a runbook moved into runbooks/approved/ without a valid
    approval is reported once per change (run `reifier approve` to sign it).
    """
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
            for line in watcher.unapproved_notices():
                _say(line)
            click.echo(
                f"{added} commands added, {len(watcher.stats.closed)} sessions closed,"
                f" {len(watcher.stats.skipped)} records skipped"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"reifier: watching {ctx.spool_dir} (Ctrl-C to stop)", err=True)
        run_forever(watcher, stop=stop, on_closed=lambda ids: _draft_closed(ctx, store, ids),
                    say=_say)
    finally:
        store.close()


def _draft_closed(ctx: Any, store: Any, session_ids: list[str]) -> None:
    """Say each session closed, tell subscribers, then draft it (``auto_draft``); survive errors."""
    from reifier.adapters.scribe import draft_session, load_session
    from reifier.adapters.watch import notify_closed
    from reifier.errors import ReifierError

    sessions: dict[str, Any] = {}
    for sid in session_ids:
        try:
            sessions[sid] = load_session(store, sid)
        except ReifierError:
            sessions[sid] = None
        commands = getattr(sessions[sid], "commands", None) or []
        fixes = sum(1 for c in commands if c.role in {"fix", "edit"})
        _say(f"closed session {sid} ({len(commands)} commands, {fixes} fix/edit)")
    for problem in notify_closed(ctx, store, session_ids):
        _say(problem)
    if not ctx.settings.auto_draft:
        return
    from reifier.core.sessions import draft_worthy

    for sid, session in sessions.items():
        why = "unreadable" if session is None else draft_worthy(
            session.commands, ctx.settings.auto_draft_min_commands)
        if why:
            _say(f"session {sid}: {why}, no draft (reifier draft {sid} drafts it anyway)")
            continue
        try:
            result = draft_session(ctx, store, sid)
        except ReifierError as exc:
            _say(f"session {sid}: no draft: {exc}")
            continue
        if result.created:
            _say(f"drafted {result.md} from session {sid}")
        else:
            _say(f"session {sid}: draft {result.md} already exists, left as it is")
