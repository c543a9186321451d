"""Patrol: follow log files, match each new line, record suggestions, maybe run.

Offsets are kept in the store under ``patrol:<path>`` with the same rotation and
truncation rules as the history watcher; only complete lines are read. Delivery
is at least once: a file rewritten while it is being read may have a line
matched twice, never skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reifier.adapters import graph, respond
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.adapters.watch import offset_after, read_chunk, resume_offset

MAX_READ = 4 * 1024 * 1024
MAX_LINE = 64 * 1024


@dataclass
class PatrolStats:
    """What a patrol saw and did."""

    lines: int = 0
    matched: int = 0
    responses: list[respond.Response] = field(default_factory=list)


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
    ) -> None:
        self.ctx, self.store, self.paths = ctx, store, list(paths)
        self.runner = runner
        self.on_response = on_response
        self.stats = PatrolStats()
        self.catalog = self.refresh()

    def refresh(self) -> graph.Catalog:
        """Re-read the workspace's runbooks (approvals may have changed)."""
        graph.sync_runbooks(self.ctx, self.store)
        self.catalog = graph.catalog(self.store)
        return self.catalog

    def poll(self, *, from_start: bool = False) -> int:
        """Read and match what is new in every file; return lines read."""
        total = 0
        for path in self.paths:
            total += self._poll_one(path, from_start)
        return total

    def _poll_one(self, path: Path, from_start: bool) -> int:
        try:
            return self._read_new(path, from_start)
        except FileNotFoundError:
            return 0  # rotated away between two system calls: the next event reads the new file

    def _read_new(self, path: Path, from_start: bool) -> int:
        st = path.stat()
        key = f"patrol:{path.resolve()}"
        saved = self.store.get_offset(key)
        new = saved is None
        start, reset = resume_offset(saved, path, st)
        if new and not from_start:
            start = st.st_size  # a new patrol starts at the end, like `tail -f`
        if start >= st.st_size and not (new or reset):
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
            if not matches:
                continue
            self.stats.matched += 1
            trigger = {"kind": "log", "line": line, "file": str(path)}
            for resp in respond.respond(
                self.ctx, self.store, self.catalog, matches, trigger=trigger, runner=self.runner
            ):
                self.stats.responses.append(resp)
                if self.on_response:
                    self.on_response(line, resp)
        self.store.set_offset(offset_after(key, head, st, start + end))
        self.stats.lines += len(lines)
        return len(lines)


def follow(patrol: Patrol, stop: threading.Event, tick_s: float = 0.2) -> None:
    """Poll on every change watchdog reports (and each tick) until ``stop`` is set."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    wake = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            wake.set()

    observer = Observer()
    for directory in {p.resolve().parent for p in patrol.paths}:
        if directory.is_dir():
            observer.schedule(Handler(), str(directory), recursive=False)
    observer.start()
    last_refresh = time.monotonic()
    try:
        while not stop.is_set():
            patrol.poll()
            if time.monotonic() - last_refresh > 10:
                patrol.refresh()
                last_refresh = time.monotonic()
            wake.wait(tick_s)
            wake.clear()
    finally:
        observer.stop()
        observer.join(timeout=5)
