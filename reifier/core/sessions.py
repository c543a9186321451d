"""Split a shell session's commands into work sessions at idle gaps.

A gap longer than ``gap_s`` between the end of one command and the start of the
next ends a session (default 300 s). Commands whose time is unknown (plain bash
history) form one session of their own per shell session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reifier.core.models import CommandEvent, Session


@dataclass(frozen=True)
class Span:
    """A session's extent inside one shell session."""

    shell_session: str
    started: float | None
    ended: float | None
    count: int

    @property
    def id(self) -> str:
        """Return a stable id: the same commands always give the same session id."""
        return session_id(self.shell_session, self.started)


def session_id(shell_session: str, started: float | None) -> str:
    """Derive a short, stable session id from its shell session and first start time."""
    key = f"{shell_session}\x00{'-' if started is None else f'{started:.6f}'}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]


def split_times(
    shell_session: str,
    times: Iterable[tuple[float | None, float | None]],
    gap_s: float,
) -> list[Span]:
    """Split ``(started, duration)`` pairs, sorted by start, into :class:`Span` s."""
    spans: list[Span] = []
    unknown = 0
    first: float | None = None
    last_end: float | None = None
    count = 0
    for started, duration in times:
        if started is None:
            unknown += 1
            continue
        end = started + (duration or 0.0)
        if first is not None and last_end is not None and started - last_end > gap_s:
            spans.append(Span(shell_session, first, last_end, count))
            first, count = None, 0
        if first is None:
            first, last_end = started, end
        last_end = max(last_end or end, end)
        count += 1
    if first is not None:
        spans.append(Span(shell_session, first, last_end, count))
    if unknown:
        spans.insert(0, Span(shell_session, None, None, unknown))
    return spans


def build_sessions(events: Sequence[CommandEvent], gap_s: float) -> list[Session]:
    """Group events (any order, any shell sessions) into :class:`Session` s."""
    by_shell: dict[str, list[CommandEvent]] = {}
    for event in events:
        by_shell.setdefault(event.shell_session, []).append(event)
    sessions: list[Session] = []
    for shell, evs in by_shell.items():
        evs.sort(key=lambda e: (e.started is not None, e.started or 0.0, e.seq))
        spans = split_times(shell, ((e.started, e.duration) for e in evs), gap_s)
        pos = 0
        for span in spans:
            members = tuple(evs[pos : pos + span.count])
            pos += span.count
            first = members[0]
            sessions.append(
                Session(
                    id=span.id,
                    shell_session=shell,
                    host=first.host,
                    user=first.user,
                    started=span.started,
                    ended=span.ended,
                    commands=members,
                )
            )
    sessions.sort(key=lambda s: (s.started is not None, s.started or 0.0))
    return sessions


def is_closed(ended: float | None, now: float, gap_s: float) -> bool:
    """Tell whether a session that ended at ``ended`` can take no more commands."""
    return ended is None or now - ended > gap_s


#: job control changes nothing outside the shell: `kill %1; jobs` is not an incident fix
JOB_CONTROL = frozenset({"jobs", "fg", "bg", "wait", "disown", "suspend"})


def _job_control(command: str) -> bool:
    words = command.split()
    if not words:
        return True
    if words[0] in JOB_CONTROL:
        return True
    return words[0] == "kill" and all(w.startswith(("%", "-")) for w in words[1:])


def draft_worthy(commands: Sequence[CommandEvent], min_kept: int = 2) -> str:
    """Say why a closed session is not drafted automatically ('' when it is worth a draft).

    A session is drafted when it changed something (a fix or an edit that is not
    job control) and kept at least ``min_kept`` commands that are not noise.
    ``reifier draft SESSION`` still drafts any session by hand.
    """
    changes = [c for c in commands if c.role in {"fix", "edit"}]
    if not changes:
        return "no fix or edit"
    if all(_job_control(c.command) for c in changes):
        return "only job control (kill %N, fg, bg, jobs)"
    kept = [c for c in commands if c.role and c.role != "noise"]
    if len(kept) < min_kept:
        return f"only {len(kept)} command(s) that matter (auto_draft_min_commands = {min_kept})"
    return ""
