"""Follow the hook spool and history files into the store (watchdog).

Crash safety: the rows a read produced and the new read offset are committed in
one SQLite transaction, so ``kill -9`` at any moment either keeps both or
neither; on restart the same bytes are read again and the dedup key drops
anything already stored. A file whose inode changed, that shrank below the
saved offset, or whose first bytes differ (a history rewritten by
``HISTFILESIZE`` truncation, or rotated) is read again from the start.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reifier.adapters.ingest import ingest, parse_history, whoami
from reifier.adapters.settings import Context
from reifier.adapters.store import Offset, Store
from reifier.core.history.spool import parse_spool
from reifier.core.models import ParseResult, Skipped

HEAD_BYTES = 512
SETTLE_S = 0.3  # a history file untouched this long ends with a complete entry
MAX_READ = 8 * 1024 * 1024  # bytes per pass: bounds memory on a huge backlog


@dataclass
class WatchStats:
    """Counters of one watcher, for logs and tests."""

    added: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    resets: int = 0


def _digest(data: bytes) -> str:
    return f"{len(data)}:{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"


def _head(path: Path, length: int) -> str:
    with path.open("rb") as fh:
        return _digest(fh.read(length))


def read_chunk(path: Path, start: int, limit: int) -> tuple[bytes, bytes]:
    """Read the file's first bytes, then ``limit`` bytes from ``start``, through one handle.

    The head is read *before* the data, so an offset never vouches for content
    that was not read (a file rewritten in between is detected on the next pass).
    """
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        fh.seek(start)
        return head, fh.read(limit)


def resume_offset(saved: Offset | None, path: Path, st: os.stat_result) -> tuple[int, bool]:
    """Return where to resume reading ``path`` and whether it was reset to the start.

    Resume at the ``saved`` offset only if it is the same file (device, inode), it
    did not shrink below the offset and its first bytes are unchanged.
    """
    if saved is None:
        return 0, False
    if saved.dev == st.st_dev and saved.inode == st.st_ino and st.st_size >= saved.offset:
        head_len = int(saved.head.split(":", 1)[0] or 0)
        if _head(path, head_len) == saved.head:
            return saved.offset, False
    return 0, True


def offset_after(key: str, head: bytes, st: os.stat_result, end: int) -> Offset:
    """Return the offset record for having read up to ``end`` (``head``: the first bytes)."""
    return Offset(key, st.st_dev, st.st_ino, end, _digest(head[: min(HEAD_BYTES, end)]))


class Watcher:
    """Drain spool files and configured history files into the store."""

    def __init__(self, ctx: Context, store: Store, *, wait_settle: bool = False) -> None:
        self.ctx = ctx
        self.wait_settle = wait_settle  # --once: wait for a fresh history write to settle
        self.store = store
        self.stats = WatchStats()
        self.host, self.user = whoami()
        self._lock = threading.Lock()
        self.refused: dict[str, str] = {}
        self._approved_stamp: int | None = None

    def sources(self) -> list[tuple[Path, str]]:
        """Return (path, kind) of every file to follow: spool files, then histories."""
        found: list[tuple[Path, str]] = []
        if self.ctx.spool_dir.is_dir():
            found += [(p, "spool") for p in sorted(self.ctx.spool_dir.glob("*.spool"))]
        for item in self.ctx.settings.history_files:
            found.append((Path(item).expanduser(), "history"))
        return found

    def drain(self, paths: Iterable[tuple[Path, str]] | None = None) -> int:
        """Read every source to its end; return commands added."""
        added = 0
        with self._lock:
            for path, kind in self.sources() if paths is None else paths:
                while True:
                    try:
                        n, more = self._drain_one(path, kind)
                    except FileNotFoundError:
                        break  # rotated or cleaned up mid-read: picked up on the next pass
                    added += n
                    if not more:
                        break
        return added

    def _drain_one(self, path: Path, kind: str) -> tuple[int, bool]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return 0, False
        start, reset = resume_offset(self.store.get_offset(str(path)), path, st)
        self.stats.resets += reset
        if start >= st.st_size:
            return 0, False
        head, data = read_chunk(path, start, MAX_READ)
        result = self._parse(data, kind, path, start)
        if kind == "history" and result.consumed < len(data) and data.endswith(b"\n"):
            # The parser holds the last entry back (a multi-line entry may still be
            # growing). bash appends whole entries, so once the file has been quiet
            # for SETTLE_S the last entry is complete.
            age = time.time() - st.st_mtime
            if age < SETTLE_S and self.wait_settle:
                time.sleep(SETTLE_S - age)
                age = SETTLE_S
            if age >= SETTLE_S and path.stat().st_size == st.st_size:
                result = self._parse(data, kind, path, start, final=True)
        if result.consumed == 0:
            return 0, False
        end = start + result.consumed
        offset = offset_after(str(path), head, st, end)
        added, closed = ingest(self.ctx, self.store, list(result.events), offset=offset)
        self.stats.added += added
        self.stats.skipped += result.skipped
        self.stats.closed += closed
        return added, len(data) == MAX_READ

    def _parse(
        self, data: bytes, kind: str, path: Path, start: int, final: bool = False
    ) -> ParseResult:
        if kind == "spool":
            return parse_spool(data, source=f"spool:{path.name}", start_seq=start)
        return parse_history(
            data,
            fmt=self.ctx.settings.history_format or None,
            source=f"history:{path.name}",
            host=self.host,
            user=self.user,
            final=final,
            start_seq=start,
        )

    def approve_moved(self) -> list[str]:
        """Approve drafts a human moved into ``runbooks/approved/`` (as the watching user)."""
        import getpass
        import json as _json

        from reifier.adapters.approve import approve_paths
        from reifier.errors import ReifierError

        approved_dir = self.ctx.runbooks / "approved"
        try:
            stamp = approved_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if stamp == self._approved_stamp:
            return []  # nothing was moved in or rewritten since the last look: no reads
        self._approved_stamp = stamp
        done: list[str] = []
        for nb_path in sorted(approved_dir.glob("*.ipynb")):
            try:
                meta = _json.loads(nb_path.read_text(encoding="utf-8"))["metadata"]["reifier"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not isinstance(meta, dict) or meta.get("status") != "draft":
                continue
            if str(nb_path) in self.refused:
                continue
            try:
                approve_paths(self.ctx, [nb_path], getpass.getuser())
            except ReifierError as exc:
                self.refused[str(nb_path)] = str(exc)  # reported once, not every tick
                self.store.add_event("approval_refused", nb_path.stem, {"reason": str(exc)})
                continue
            done.append(str(nb_path))
        return done

    def close_idle(self, now: float | None = None) -> list[str]:
        """Close sessions whose idle gap has passed; return their ids."""
        with self._lock:
            closed = self.store.close_idle_sessions(
                self.ctx.settings.session_gap_s, time.time() if now is None else now
            )
        self.stats.closed += closed
        return closed


SUBSCRIBERS_GROUP = "reifier.session_closed"


def notify_closed(ctx: Context, store: Store, session_ids: list[str]) -> list[str]:
    """Call every ``reifier.session_closed`` entry point with each closed session id.

    A subscriber is ``callable(ctx, store, session_id)``; its failure is reported
    (returned as a one-line problem), never allowed to stop the watcher.
    """
    from importlib.metadata import entry_points

    problems = []
    for ep in entry_points(group=SUBSCRIBERS_GROUP):
        try:
            subscriber = ep.load()
            for sid in session_ids:
                subscriber(ctx, store, sid)
        except Exception as exc:  # a plug-in's bug must not stop capture
            problems.append(f"subscriber {ep.name}: {type(exc).__name__}: {exc}")
    return problems


def run_forever(
    watcher: Watcher,
    *,
    tick_s: float = 1.0,
    stop: threading.Event | None = None,
    on_closed: Callable[[list[str]], None] | None = None,
) -> None:
    """Follow sources with watchdog until ``stop`` is set; close idle sessions each tick."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    wake = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            wake.set()

    watcher.ctx.spool_dir.mkdir(parents=True, exist_ok=True)
    observer = Observer()
    dirs = {watcher.ctx.spool_dir, watcher.ctx.runbooks / "approved"}
    dirs |= {p.parent for p, k in watcher.sources() if k == "history"}
    for directory in dirs:
        if directory.is_dir():
            observer.schedule(Handler(), os.fspath(directory), recursive=False)
    observer.start()
    seen = len(watcher.stats.closed)
    try:
        while not stop.is_set():
            watcher.drain()
            watcher.close_idle()
            watcher.approve_moved()
            closed = watcher.stats.closed[seen:]
            seen = len(watcher.stats.closed)
            if closed and on_closed:
                on_closed(closed)
            wake.wait(tick_s)
            wake.clear()
    finally:
        observer.stop()
        observer.join(timeout=5)
