"""Follow the hook spool and history files into the store (watchdog).

Crash safety: the rows a read produced and the new read offset are committed in
one SQLite transaction, so ``kill -9`` at any moment either keeps both or
neither; on restart the same bytes are read again and the dedup key drops
anything already stored. A file whose inode changed, that shrank below the
saved offset, or whose first bytes differ (a history rewritten by
``HISTFILESIZE`` truncation, or rotated) is read again from the start.

The spool holds commands in plaintext, before redaction (the hook must stay
fork-free, so it cannot redact): it is kept private (directory 0700, files 0600)
and short-lived. Once every byte of a spool file is committed, the watcher
renames it to ``<name>.<inode>.draining`` (atomic: the hook's next append, which
opens the path anew, creates a fresh file, made 0600 at once), reads whatever a
hook appended to the old inode in between, and deletes it once it has been quiet
for ``SETTLE_S``. A ``kill -9`` at any step loses and duplicates nothing: a
``.draining`` file without its own offset resumes from the live file's offset
when the inode matches (its name carries the inode), else from the start, where
the dedup key drops what is already stored.
"""

from __future__ import annotations

import contextlib
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
SPOOL_DIR_MODE = 0o700
SPOOL_FILE_MODE = 0o600
DRAINING = ".draining"  # suffix of a consumed spool file being retired
TIDY_S = 10.0
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
        self._tidied = float("-inf")

    def sources(self) -> list[tuple[Path, str]]:
        """Return (path, kind) of every file to follow: spool files, then histories."""
        found: list[tuple[Path, str]] = []
        if self.ctx.spool_dir.is_dir():
            private_dir(self.ctx.spool_dir)
            self._tidy_last_lines()
            found += [(p, "draining") for p in sorted(self.ctx.spool_dir.glob(f"*{DRAINING}"))]
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
        if kind != "history" and st.st_mode & 0o077:
            os.chmod(path, SPOOL_FILE_MODE)  # written by an older hook, or under the user's umask
        saved = self.store.get_offset(str(path))
        if kind == "draining" and saved is None:
            saved = self._live_offset(path, st)
        start, reset = resume_offset(saved, path, st)
        self.stats.resets += reset
        if start >= st.st_size:
            if kind == "draining":
                self._retire_drained(path, st)
            elif kind == "spool" and saved is not None and not reset and st.st_size:
                draining = self._rotate(path, saved)  # committed before a crash, or earlier
                if draining is not None:
                    return self._drain_one(draining, "draining")[0], False
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
        more = len(data) == MAX_READ
        if kind == "spool" and not more and end == st.st_size:
            draining = self._rotate(path, offset)
            if draining is not None:  # read a tail a hook appended meanwhile; delete if quiet
                added += self._drain_one(draining, "draining")[0]
        elif kind == "draining" and not more and end == st.st_size:
            self._retire_drained(path, st)
        return added, more

    def _tidy_last_lines(self) -> None:
        """Keep the hooks' ``.<session>.last`` files (the line being read) 0600; delete
        those of shells that have exited. At most every ``TIDY_S`` seconds."""
        now = time.monotonic()
        if now - self._tidied < TIDY_S:
            return
        self._tidied = now
        for path in self.ctx.spool_dir.glob(".*.last"):
            try:
                if not _shell_alive(path.name[1 : -len(".last")]):
                    path.unlink()
                elif path.stat().st_mode & 0o077:
                    os.chmod(path, SPOOL_FILE_MODE)
            except FileNotFoundError:
                continue

    def _rotate(self, path: Path, offset: Offset) -> Path | None:
        """Retire a fully committed spool file: rename it aside, start a fresh 0600 one."""
        draining = path.with_name(f"{path.name}.{offset.inode}{DRAINING}")
        try:
            os.rename(path, draining)
        except FileNotFoundError:
            return None
        fresh = create_private(path)
        with self.store.transaction():
            self.store.set_offset(Offset(str(draining), offset.dev, offset.inode,
                                         offset.offset, offset.head))  # fmt: skip
            if fresh is not None:
                empty = Offset(str(path), fresh.st_dev, fresh.st_ino, 0, _digest(b""))
                self.store.set_offset(empty)
        return draining

    def _live_offset(self, draining: Path, st: os.stat_result) -> Offset | None:
        """The offset of the live file a ``.draining`` file was renamed from (same inode)."""
        live = draining.name[: -len(DRAINING)].rsplit(".", 1)[0]
        saved = self.store.get_offset(str(draining.with_name(live)))
        if saved is None or saved.inode != st.st_ino or saved.dev != st.st_dev:
            return None
        return Offset(str(draining), saved.dev, saved.inode, saved.offset, saved.head)

    def _retire_drained(self, path: Path, st: os.stat_result) -> None:
        """Delete a consumed ``.draining`` file once no hook can still be appending to it."""
        age = time.time() - st.st_mtime
        if age < SETTLE_S and self.wait_settle:
            time.sleep(SETTLE_S - age)
            age = SETTLE_S
        if age < SETTLE_S or path.stat().st_size != st.st_size:
            return  # a write may be in flight: the next pass reads it, then deletes
        path.unlink(missing_ok=True)
        self.store.delete_offset(str(path))

    def _parse(
        self, data: bytes, kind: str, path: Path, start: int, final: bool = False
    ) -> ParseResult:
        if kind != "history":
            name = path.name.split(".spool", 1)[0] + ".spool"  # the same source once drained
            return parse_spool(data, source=f"spool:{name}", start_seq=start)
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


def _shell_alive(session: str) -> bool:
    """Whether the shell of a session id (``<µs>-<pid>-<random>``) still runs here."""
    parts = session.split("-")
    if len(parts) != 3 or not parts[1].isdigit():
        return True  # not ours to judge
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def private_dir(path: Path) -> None:
    """Make the spool directory exist with mode 0700 (only its owner can list or open it)."""
    path.mkdir(mode=SPOOL_DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, SPOOL_DIR_MODE)


def create_private(path: Path) -> os.stat_result | None:
    """Create an empty 0600 file at ``path`` unless one exists (then narrow its mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, SPOOL_FILE_MODE)
    except FileExistsError:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, SPOOL_FILE_MODE)  # a hook was faster: narrow the mode it got
        return None
    try:
        os.fchmod(fd, SPOOL_FILE_MODE)  # whatever the umask
        return os.fstat(fd)
    finally:
        os.close(fd)


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

    private_dir(watcher.ctx.spool_dir)
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
