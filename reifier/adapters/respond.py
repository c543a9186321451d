"""Act on matches: record a suggestion, or run the runbook when autonomy allows.

Shared by ``reifier patrol`` and the alert receiver, so every trigger obeys the
same policy (:mod:`reifier.core.autonomy`), the same per-runbook lock and the
same circuit breaker, and every decision lands in the store as an event.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reifier.adapters.graph import Catalog, run_history
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.core.autonomy import SUCCESS, Decision, decide
from reifier.core.match import Match

Runner = Callable[[str, Path, dict[str, str], str], Any]


@dataclass(frozen=True)
class Response:
    """One decision about one match, and the id of its stored event."""

    decision: Decision
    event_id: int
    match: Match


def _ts(iso: Any) -> float | None:
    if not isinstance(iso, str) or not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def history_with_times(store: Store, runbook_id: str) -> list[dict[str, Any]]:
    """Return run history with ``ended_ts`` added (seconds since the epoch)."""
    return [{**h, "ended_ts": _ts(h.get("ended"))} for h in run_history(store, runbook_id)]


def _lock_path(ctx: Context, runbook_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in runbook_id)
    return ctx.home / "locks" / f"{safe}.lock"


@contextmanager
def runbook_lock(ctx: Context, runbook_id: str) -> Iterator[bool]:
    """Hold the runbook's run lock if free; yield whether it was acquired."""
    path = _lock_path(ctx, runbook_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_running(ctx: Context, runbook_id: str) -> bool:
    """Tell whether some process holds the runbook's run lock."""
    with runbook_lock(ctx, runbook_id) as got:
        return not got


def demote(store: Store, runbook_id: str, reason: str) -> None:
    """Circuit breaker: an autonomous run failed, so the runbook only suggests now."""
    node = store.node("Runbook", runbook_id)
    props = dict(node["props"]) if node else {"id": runbook_id}
    props["demoted"] = reason
    store.upsert_node("Runbook", runbook_id, props)
    store.add_event("demoted", runbook_id, {"reason": reason})


def run_autonomously(
    ctx: Context, store: Store, runbook_id: str, path: Path, params: dict[str, str], trigger: str
) -> Any:
    """Run under the runbook's lock, unattended; demote it if the run fails."""
    from reifier.adapters.runner import execute_runbook
    from reifier.errors import ReifierError

    with runbook_lock(ctx, runbook_id) as got:
        if not got:
            store.add_event(
                "decision",
                runbook_id,
                {"action": "skip", "reason": "run in progress", "trigger": trigger},
            )
            return None
        try:
            result = execute_runbook(
                path, params, workspace=str(ctx.workspace), trigger=trigger, unattended=True
            )
        except ReifierError as exc:
            demote(store, runbook_id, f"refused: {exc}")
            raise
        if result.status not in SUCCESS:
            demote(store, runbook_id, f"run {result.run_id} {result.status}")
        return result


def respond(
    ctx: Context,
    store: Store,
    cat: Catalog,
    matches: Sequence[Match],
    *,
    trigger: Mapping[str, Any],
    params: Callable[[Mapping[str, Any]], dict[str, str]] | None = None,
    runner: Runner | None = None,
    now: float | None = None,
) -> list[Response]:
    """Decide for each match, record it; run the best one if the policy allows."""
    now = time.time() if now is None else now
    out: list[Response] = []
    for rank, m in enumerate(matches):
        runbook = {**cat.runbooks.get(m.runbook_id, {}), "id": m.runbook_id}
        decision = decide(
            runbook,
            m.score,
            history_with_times(store, m.runbook_id),
            ctx.settings.autonomy,
            now=now,
            running=is_running(ctx, m.runbook_id),
        )
        if rank > 0 and decision.action == "run":
            decision = Decision("suggest", m.runbook_id, m.score, "not the best match")
        payload = {
            "trigger": dict(trigger),
            "runbook": m.runbook_id,
            "score": m.score,
            "action": decision.action,
            "reason": decision.reason,
            "pattern": m.pattern,
            "matched_tokens": list(m.matched_tokens),
            "variables": [list(v) for v in m.variables],
            "path": runbook.get("path"),
        }
        event = store.add_event("suggestion", m.runbook_id, payload)
        out.append(Response(decision, event, m))
        if decision.action == "run" and runner is not None:
            values = params(runbook) if params else {}
            runner(m.runbook_id, Path(str(runbook["path"])), values, _trigger_text(trigger))
    return out


def _trigger_text(trigger: Mapping[str, Any]) -> str:
    if trigger.get("alert"):
        return f"alert {trigger['alert']}"
    if trigger.get("line"):
        return f"log line: {str(trigger['line'])[:200]}"
    return str(trigger.get("kind", "unknown"))
