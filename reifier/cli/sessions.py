"""``reifier sessions`` and ``reifier session ID``: what the observer recorded."""

from __future__ import annotations

import time
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option
from reifier.core.models import ROLES, Session
from reifier.errors import NotFound


def _when(ts: float | None) -> str:
    if ts is None:
        return "time unknown"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def session_dict(session: Session, with_commands: bool = False) -> dict[str, Any]:
    """Return a JSON-ready view of a session with its role counts."""
    data: dict[str, Any] = {
        "id": session.id,
        "shell_session": session.shell_session,
        "host": session.host,
        "user": session.user,
        "started": session.started,
        "ended": session.ended,
        "closed": session.closed,
        "commands": len(session.commands),
        "roles": session.role_counts,
    }
    if with_commands:
        data["command_list"] = [
            {
                "command": c.command,
                "role": c.role,
                "started": c.started,
                "duration": c.duration,
                "exit_code": c.exit_code,
                "cwd": c.cwd,
                "redactions": list(c.redactions),
            }
            for c in session.commands
        ]
    return data


def load_sessions(store: Any, limit: int | None) -> list[Session]:
    """Load sessions with their commands and contextual roles (verify after a fix)."""
    from reifier.core.classify import assign_roles

    out = []
    for bare in store.sessions(limit):
        cmds = assign_roles(store.session_commands(bare))
        out.append(Session(**{**bare.__dict__, "commands": cmds}))
    return out


@click.command("sessions")
@click.option("--limit", default=50, show_default=True, help="Newest N sessions (0: all).")
@workspace_option
@json_option
def cmd_sessions(limit: int, workspace: str | None, as_json: bool) -> None:
    """List sessions, newest first, with how many commands each role has."""
    _, store = open_store(workspace)
    try:
        sessions = load_sessions(store, limit or None)
    finally:
        store.close()
    if as_json:
        emit_json([session_dict(s) for s in sessions])
        return
    if not sessions:
        click.echo("no sessions recorded yet (try `reifier import ~/.bash_history`)")
        return
    for s in sessions:
        counts = s.role_counts
        roles = " ".join(f"{r}={counts[r]}" for r in ROLES if counts[r])
        state = "closed" if s.closed else "open"
        click.echo(
            f"{s.id}  {_when(s.started)}  {s.user}@{s.host}  {len(s.commands):4d} cmds"
            f"  {state:6s}  {roles}"
        )


@click.command("session")
@click.argument("session_id")
@workspace_option
@json_option
def cmd_session(session_id: str, workspace: str | None, as_json: bool) -> None:
    """Show the commands of one session (by id or unique id prefix)."""
    from reifier.core.classify import assign_roles

    _, store = open_store(workspace)
    try:
        session = store.session(session_id)
    finally:
        store.close()
    if session is None:
        raise NotFound(f"no single session matches {session_id!r} (see `reifier sessions`)")
    session = Session(**{**session.__dict__, "commands": assign_roles(session.commands)})
    if as_json:
        emit_json(session_dict(session, with_commands=True))
        return
    click.echo(f"session {session.id}  {session.user}@{session.host}  {_when(session.started)}")
    for c in session.commands:
        status = "" if c.exit_code in (None, 0) else f"  [exit {c.exit_code}]"
        red = f"  (redacted: {', '.join(c.redactions)})" if c.redactions else ""
        first, *rest = c.command.split("\n")
        more = f" …(+{len(rest)} lines)" if rest else ""
        click.echo(f"  {c.role or 'noise':10s} {first}{more}{status}{red}")
