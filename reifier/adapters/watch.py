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

Idle cost: :func:`run_forever` asks inotify (through watchdog) only for writes,
creations and renames in the spool folder (watched once, not each file), the
folders of ``history_files`` and ``runbooks/approved``, never for opens, reads or
closes without a write, so the watcher's own reads never wake it. Events are
coalesced into one pass; between events it sleeps until the next deadline it
knows of (a session's idle gap, a write settling), with no periodic rescans.

The watcher never approves: a runbook moved into ``runbooks/approved/`` without
a valid approval is reported once per change, as a request for ``reifier approve``.
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
from typing import Any

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
        if (saved.head == _digest(b"") if head_len == 0 else _head(path, head_len) == saved.head):
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
        self._reported: dict[str, tuple[tuple[str, int, int], ...]] = {}
        self._due: float | None = None
        self._tidied = float("-inf")
        self._spool_dir = os.path.abspath(ctx.spool_dir)
        self._approved_dir = os.path.abspath(ctx.runbooks / "approved")
        self._history = {os.path.abspath(Path(item).expanduser())
                         for item in ctx.settings.history_files}

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
            if paths is None:
                self._due = None  # this pass finds every deadline again
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
            elif age < SETTLE_S:
                self._defer(st.st_mtime + SETTLE_S)
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
        if age < SETTLE_S:
            self._defer(st.st_mtime + SETTLE_S)
            return  # a write may be in flight: the next pass reads it, then deletes
        if path.stat().st_size != st.st_size:
            return  # it grew: its write event brings the next pass
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

    def unapproved_notices(self) -> list[str]:
        """One line per runbook in ``runbooks/approved/`` that is not approved, once per change.

        Moving a file there is a request, never an approval: only ``reifier approve``
        signs. A pair is reported again only when one of its files changes.
        """
        from reifier.adapters.approve import pair_status
        from reifier.errors import ReifierError

        approved_dir = self.ctx.runbooks / "approved"
        try:
            names = sorted(approved_dir.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        pairs: dict[Path, list[Path]] = {}
        for path in names:
            if path.suffix in {".md", ".ipynb"} and not path.name.startswith("."):
                pairs.setdefault(path.with_suffix(""), []).append(path)
        lines: list[str] = []
        seen: set[str] = set()
        for stem, files in pairs.items():
            try:
                stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
            except FileNotFoundError:
                continue  # moved away meanwhile: the event of that move brings us back
            key = str(stem)
            seen.add(key)
            if self._reported.get(key) == stamp:
                continue
            self._reported[key] = stamp
            shown = _shown(files[0].with_suffix(".md") if len(files) > 1 else files[0],
                           self.ctx.workspace)
            try:
                state = pair_status(self.ctx, files[0], store=self.store).state
            except (ReifierError, OSError, ValueError) as exc:
                lines.append(f"{shown} is not approved: {exc}")
                continue
            if state.status != "approved":
                lines.append(f"{shown} is not approved ({state.status}): run reifier approve"
                             f" {shown} --by NAME")
        for gone in set(self._reported) - seen:
            del self._reported[gone]
        return lines

    def due(self, now: float | None = None) -> float | None:
        """When (``time.time()``) a pass is needed without any file event, or None.

        A write still settling (a ``.draining`` file, a history entry held back) and
        the next session to pass its idle gap set the deadline.
        """
        row = self.store.db.execute(
            "SELECT COUNT(*), MIN(COALESCE(ended, 0)) FROM sessions WHERE closed_at IS NULL"
        ).fetchone()
        deadlines = [d for d in (self._due,) if d is not None]
        if row and row[0]:
            deadlines.append(float(row[1]) + self.ctx.settings.session_gap_s + 0.05)
        return min(deadlines, default=None)

    def _defer(self, when: float) -> None:
        self._due = when if self._due is None else min(self._due, when)

    def wants(self, path: str) -> str | None:
        """What an event on ``path`` asks for: ``"drain"``, ``"approved"`` or nothing."""
        folder, name = os.path.split(path)
        if folder == self._spool_dir:
            return "drain" if name.endswith((".spool", DRAINING)) else None
        if path in self._history:
            return "drain"
        if folder == self._approved_dir and name.endswith((".md", ".ipynb")):
            return "approved"
        return None

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


EVENTS_WANTED = (
    "FileModifiedEvent", "FileClosedEvent", "FileCreatedEvent", "FileMovedEvent",
    "DirCreatedEvent", "DirMovedEvent",
)  # writes, close-after-write, creations and renames; never opens, reads or closes-no-write
APPROVED_SETTLE_S = 0.5  # a pair moved in file by file is looked at once, not twice


class Wakeups:
    """What file events asked for since the last pass; coalesces any number of them."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._mutex = threading.Lock()
        self._drain = True  # the first pass looks at everything
        self._approved_at: float | None = time.monotonic()

    def ask(self, *, drain: bool = False, approved: bool = False) -> None:
        """Note a request (from the observer thread) and wake the loop."""
        with self._mutex:
            self._drain = self._drain or drain
            if approved:  # looked at once the folder has been quiet for a moment
                self._approved_at = time.monotonic() + APPROVED_SETTLE_S
        self.event.set()

    def take_drain(self) -> bool:
        """Whether a drain was asked for; clears the request."""
        with self._mutex:
            drain, self._drain = self._drain, False
        return drain

    def take_approved(self) -> bool:
        """Whether ``runbooks/approved/`` is due for a look; clears the request if so."""
        with self._mutex:
            if self._approved_at is None or time.monotonic() < self._approved_at:
                return False
            self._approved_at = None
        return True

    def wait(self, due: float | None) -> None:
        """Sleep until an event, or until ``due`` (``time.time()``) or the approved look."""
        timeouts = [] if due is None else [max(due - time.time(), 0.01)]
        with self._mutex:
            if self._approved_at is not None:
                timeouts.append(max(self._approved_at - time.monotonic(), 0.0))
        self.event.wait(min(timeouts) if timeouts else None)
        self.event.clear()


def _observe(watcher: Watcher, wakeups: Wakeups) -> Any:
    """Start a watchdog observer on the folders the watcher follows, each watched once."""
    import watchdog.events as wev
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    wanted: list[type[FileSystemEvent]] = [getattr(wev, name) for name in EVENTS_WANTED]
    observer = Observer()
    approved_dir = watcher.ctx.runbooks / "approved"
    watched: set[str] = set()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            paths = [os.fsdecode(p) for p in (event.src_path, event.dest_path) if p]
            if event.is_directory:
                if os.path.abspath(approved_dir) in map(os.path.abspath, paths):
                    watch_dir(approved_dir)  # created after the watcher started
                    wakeups.ask(approved=True)
                return
            asks = {watcher.wants(p) for p in paths}
            if asks & {"drain", "approved"}:
                wakeups.ask(drain="drain" in asks, approved="approved" in asks)

    handler = Handler()

    def watch_dir(directory: Path) -> None:
        key = os.path.abspath(directory)
        if key not in watched and directory.is_dir():
            watched.add(key)
            observer.schedule(handler, key, recursive=False, event_filter=wanted)

    for path in watcher.ctx.settings.history_files:
        watch_dir(Path(path).expanduser().parent)
    watch_dir(watcher.ctx.spool_dir)
    watch_dir(approved_dir)
    if not approved_dir.is_dir():
        watch_dir(watcher.ctx.runbooks)  # to notice runbooks/approved/ being created
    observer.start()
    return observer


def run_forever(
    watcher: Watcher,
    *,
    stop: threading.Event | None = None,
    on_closed: Callable[[list[str]], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Follow sources with watchdog until ``stop`` is set.

    Sleeps until an event asks for a pass or a deadline from :meth:`Watcher.due`
    (a session's idle gap ending, a write settling) arrives: no polling, no
    periodic rescans. Events during a pass make exactly one more pass.
    """
    stop = stop or threading.Event()
    say = say or (lambda _line: None)
    wakeups = Wakeups()
    private_dir(watcher.ctx.spool_dir)
    observer = _observe(watcher, wakeups)

    def wake_on_stop() -> None:  # a signal handler sets ``stop``; the loop may be asleep
        stop.wait()
        wakeups.event.set()

    threading.Thread(target=wake_on_stop, daemon=True).start()
    closed_seen = len(watcher.stats.closed)
    skipped_seen = len(watcher.stats.skipped)
    try:
        while not stop.is_set():
            if wakeups.take_drain():
                watcher.drain()
            now = time.time()
            due = watcher.due()
            if due is not None and due <= now:
                watcher.close_idle(now)
                watcher.drain()  # settles what was waiting (.draining files, held-back entries)
            if wakeups.take_approved():
                for line in watcher.unapproved_notices():
                    say(line)
            for skip in watcher.stats.skipped[skipped_seen:]:
                say(f"skipped a record at {skip.line}: {skip.reason}")
            skipped_seen = len(watcher.stats.skipped)
            closed = watcher.stats.closed[closed_seen:]
            closed_seen = len(watcher.stats.closed)
            if closed and on_closed:
                on_closed(closed)
            wakeups.wait(watcher.due())
    finally:
        observer.stop()
        observer.join(timeout=5)


def _shown(path: Path, workspace: Path) -> str:
    """``path`` relative to the workspace when inside it, as people type it."""
    try:
        return str(path.resolve().relative_to(workspace.resolve()))
    except ValueError:
        return str(path)
