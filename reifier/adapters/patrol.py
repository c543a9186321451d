"""Patrol: follow log files, match each new line, record suggestions, maybe run.

Offsets are kept in the store under ``patrol:<path>`` with the same rotation and
truncation rules as the history watcher; only complete lines are read. Delivery
is at least once: a file rewritten while it is being read may have a line
matched twice, never skipped.

Where a poll starts (:data:`STARTS`): ``end`` (a new patrol: like ``tail -f``, it
only records the end, so a later ``resume`` goes on from there), ``beginning``
(always the whole file, whatever offset is stored) or ``resume`` (the stored
offset when it still describes the file, else the end; a rotated or truncated
file is read from its start).

Repeats: lines matching the same runbook and pattern within ``window_s`` of the
first become one suggestion (one decision, at most one run) whose stored event
counts them (``count``, ``last_line``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reifier.adapters import graph, respond
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.adapters.watch import EVENTS_WANTED, offset_after, read_chunk, resume_offset
from reifier.core.match import Match

MAX_READ = 4 * 1024 * 1024
MAX_LINE = 64 * 1024
STARTS = ("end", "beginning", "resume")
WINDOW_S = 60.0
REFRESH_S = 10.0  # re-read the workspace's runbooks (approvals may have changed)


@dataclass
class Group:
    """One suggestion and the repeats of its pattern within the window."""

    runbook_id: str
    pattern: str
    first: float  # time.monotonic() of the first line
    line: str
    responses: list[respond.Response]
    count: int = 1
    last_line: str = ""


@dataclass
class PatrolStats:
    """What a patrol saw and did."""

    lines: int = 0
    matched: int = 0
    responses: list[respond.Response] = field(default_factory=list)
    suggestions: int = 0  # groups: repeats within the window count once


class Patrol:
    """Match new lines of some log files against the approved runbooks' patterns."""

    def __init__(
        self,
        ctx: Context,
        store: Store,
        paths: Sequence[Path],
        *,
        runner: respond.Runner | None = None,
        on_response: Callable[[str, respond.Response], None] | None = None,
        on_group: Callable[[Group], None] | None = None,
        window_s: float = WINDOW_S,
    ) -> None:
        self.ctx, self.store, self.paths = ctx, store, list(paths)
        self.runner = runner
        self.on_response = on_response
        self.on_group = on_group
        self.window_s = window_s
        self.stats = PatrolStats()
        self.groups: dict[tuple[str, str], Group] = {}
        self.catalog = self.refresh()

    def refresh(self) -> graph.Catalog:
        """Re-read the workspace's runbooks (approvals may have changed)."""
        graph.sync_runbooks(self.ctx, self.store)
        self.catalog = graph.catalog(self.store)
        return self.catalog

    def poll(self, *, start: str = "resume") -> int:
        """Read and match what is new in every file; return lines read."""
        if start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, not {start!r}")
        total = 0
        for path in self.paths:
            total += self._poll_one(path, start)
        return total

    def _poll_one(self, path: Path, start: str) -> int:
        try:
            return self._read_new(path, start)
        except FileNotFoundError:
            return 0  # rotated away between two system calls: the next event reads the new file

    def _read_new(self, path: Path, how: str) -> int:
        st = path.stat()
        key = f"patrol:{path.resolve()}"
        saved = self.store.get_offset(key)
        if how == "beginning":
            start, fresh = 0, True
        else:
            start, reset = resume_offset(saved, path, st)
            fresh = saved is None or how == "end"
            if fresh:
                start = st.st_size  # a new patrol starts at the end, like `tail -f`
            if start >= st.st_size and not (fresh or reset):
                return 0  # nothing new, and the saved offset stands: no read
        head, data = read_chunk(path, start, MAX_READ)
        if start >= st.st_size:  # remember where this file starts being followed
            self.store.set_offset(offset_after(key, head, st, start))
            return 0
        end = data.rfind(b"\n") + 1
        if end == 0:
            return 0
        lines = data[:end].decode("utf-8", "replace").splitlines()
        threshold = self.ctx.settings.match_threshold
        for line in lines:
            if not line.strip() or len(line) > MAX_LINE:
                continue
            matches = self.catalog.index.match(line, threshold=threshold, limit=3)
            if matches:
                self.stats.matched += 1
                self._answer(line, matches, path)
        self.store.set_offset(offset_after(key, head, st, start + end))
        self.stats.lines += len(lines)
        return len(lines)

    def _answer(self, line: str, matches: Sequence[Match], path: Path) -> None:
        now = time.monotonic()
        self.expire(now)
        key = (matches[0].runbook_id, matches[0].pattern)
        group = self.groups.get(key)
        if group is not None:  # a repeat within the window: counted, not answered again
            group.count += 1
            group.last_line = line
            for resp in group.responses:
                _store_count(self.store, resp.event_id, group.count, line)
            return
        trigger = {"kind": "log", "line": line, "file": str(path)}
        responses = respond.respond(
            self.ctx, self.store, self.catalog, matches, trigger=trigger, runner=self.runner
        )
        self.groups[key] = Group(key[0], key[1], now, line, responses)
        self.stats.suggestions += 1
        for resp in responses:
            self.stats.responses.append(resp)
            if self.on_response:
                self.on_response(line, resp)

    def expire(self, now: float | None = None) -> None:
        """Close the groups whose window has passed (all of them with ``now=inf``)."""
        now = time.monotonic() if now is None else now
        for key, group in list(self.groups.items()):
            if now - group.first >= self.window_s:
                del self.groups[key]
                if self.on_group:
                    self.on_group(group)

    def next_expiry(self) -> float | None:
        """``time.monotonic()`` at which the oldest open group closes, or None."""
        return min((g.first + self.window_s for g in self.groups.values()), default=None)


def _store_count(store: Store, event_id: int, count: int, line: str) -> None:
    """Record on a suggestion's event how many lines it stands for, and the latest."""
    with store.transaction() as db:
        row = db.execute("SELECT payload FROM events WHERE id=?", (event_id,)).fetchone()
        if row is None:
            return
        payload: dict[str, Any] = json.loads(row[0])
        payload.update(count=count, last_line=line)
        db.execute("UPDATE events SET payload=? WHERE id=?",
                   (json.dumps(payload, sort_keys=True), event_id))


def follow(patrol: Patrol, stop: threading.Event) -> None:
    """Poll on every write, creation or rename of a followed file until ``stop`` is set.

    Sleeps between events (its own reads never wake it), except to close a repeat
    window or to re-read the workspace's runbooks every ``REFRESH_S``.
    """
    import watchdog.events as wev
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    wake = threading.Event()
    names = {os.path.abspath(p) for p in patrol.paths} | {str(p.resolve()) for p in patrol.paths}

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            paths = {os.fsdecode(p) for p in (event.src_path, event.dest_path) if p}
            if paths & names:
                wake.set()

    def wake_on_stop() -> None:
        stop.wait()
        wake.set()

    wanted: list[type[FileSystemEvent]] = [getattr(wev, n) for n in EVENTS_WANTED]
    observer = Observer()
    for directory in {os.path.dirname(name) for name in names}:
        if os.path.isdir(directory):
            observer.schedule(Handler(), directory, recursive=False, event_filter=wanted)
    observer.start()
    threading.Thread(target=wake_on_stop, daemon=True).start()
    last_refresh = time.monotonic()
    try:
        while not stop.is_set():
            patrol.poll(start="resume")
            patrol.expire()
            if time.monotonic() - last_refresh > REFRESH_S:
                patrol.refresh()
                last_refresh = time.monotonic()
            deadlines = [last_refresh + REFRESH_S, patrol.next_expiry() or float("inf")]
            wake.wait(max(min(deadlines) - time.monotonic(), 0.01))
            wake.clear()
    finally:
        patrol.expire(float("inf"))
        observer.stop()
        observer.join(timeout=5)
