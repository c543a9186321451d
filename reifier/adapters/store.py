"""The SQLite store: commands, sessions, watch offsets, events and the memory graph.

WAL mode so readers never block the watcher, ``BEGIN IMMEDIATE`` transactions so
a crash leaves either all of a batch (rows *and* the read offset that produced
them) or none of it, and ordered migrations keyed by ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reifier.adapters.store_approvals import ApprovalsMixin
from reifier.adapters.store_graph import EDGE_KINDS, NODE_KINDS, GraphMixin
from reifier.adapters.store_records import RecordsMixin
from reifier.adapters.store_runs import RunsMixin
from reifier.adapters.store_schema import MIGRATIONS
from reifier.core.models import CommandEvent, Session
from reifier.core.sessions import is_closed, split_times
from reifier.errors import StoreError


@dataclass(frozen=True)
class Offset:
    """How far the watcher has read a file, and which file it was."""

    path: str
    dev: int
    inode: int
    offset: int
    head: str  # hash of the file's first bytes: a rewritten file has another head


def _dedup_key(ev: CommandEvent, command: str) -> int:
    """Identify a command occurrence: same shell, host, user, start (or position), text."""
    started = "-" if ev.started is None else f"{ev.started:.6f}"
    seq = str(ev.seq) if ev.started is None else ""
    key = f"{ev.shell_session}\x1f{ev.host}\x1f{ev.user}\x1f{started}\x1f{seq}\x1f{command}"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


BUSY_TIMEOUT_S = 300.0  # a long import holds the write lock: wait this long for it

__all__ = ["BUSY_TIMEOUT_S", "EDGE_KINDS", "MIGRATIONS", "NODE_KINDS", "Offset", "Store"]


def _private_file(path: Path) -> None:
    """Create the store's folder 0700 and its file 0600 (SQLite's -wal/-shm follow it).

    The store holds every command typed (redacted, but still a record of a
    production shell): nobody else on the machine reads it. A folder we create
    is made 0700 (an existing one is left alone: it may be shared, like /tmp);
    an existing store file of ours that is looser than 0600 is tightened.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.parent.chmod(0o700)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.suppress(OSError):
        st = path.stat()
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
            path.chmod(0o600)


class Store(GraphMixin, RunsMixin, ApprovalsMixin, RecordsMixin):
    """A thin, typed wrapper around one SQLite connection."""

    def __init__(self, path: str | Path, busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        if busy_timeout is None:  # how long to wait for another process's write (an import)
            try:
                busy_timeout = float(os.environ.get("REIFIER_BUSY_TIMEOUT_S", BUSY_TIMEOUT_S))
            except ValueError:
                busy_timeout = BUSY_TIMEOUT_S
        self.busy_timeout = busy_timeout
        if str(path) != ":memory:":
            _private_file(self.path)
        try:
            self.db = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports stay in memory
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {exc}") from None

    # -- schema ---------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """Return the applied migration count."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        # Read the version inside the write transaction: two processes opening a new
        # database at once must not both apply migration 1.
        with self.transaction():
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path}: schema version {current} is newer than this Reifier "
                    f"({len(MIGRATIONS)}); upgrade runbook-reifier"
                )
            for version in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one ``BEGIN IMMEDIATE`` transaction (nested calls join it)."""
        if self.db.in_transaction:
            yield self.db
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._busy(exc) from None
        try:
            yield self.db
        except sqlite3.OperationalError as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise self._busy(exc) from None
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _busy(self, exc: sqlite3.OperationalError) -> Exception:
        """A lock held past the busy timeout becomes one line (no traceback), exit 1."""
        if "locked" not in str(exc) and "busy" not in str(exc):
            return exc
        return StoreError(
            f"{self.path}: busy: another reifier process (an import?) held the database "
            f"for {self.busy_timeout:g} s; run this again once it ends "
            "(REIFIER_BUSY_TIMEOUT_S waits longer)"
        )

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- commands ---------------------------------------------------------------
    def insert_commands(
        self,
        events: Iterable[CommandEvent],
        prepare: Callable[[str], tuple[str, tuple[str, ...], str]] | None = None,
    ) -> tuple[int, set[str]]:
        """Insert events, ignoring ones already stored; return (added, shell sessions).

        ``prepare`` maps a raw command to (redacted text, rules, role); rows are
        built straight from it, so a million-line import copies no events.
        """
        rows = []
        shells: set[str] = set()
        for ev in events:
            shells.add(ev.shell_session)
            if prepare is None:
                command, rules, role = ev.command, ev.redactions, ev.role
            else:
                command, rules, role = prepare(ev.command)
            text, raw = _text_raw(command)
            rows.append(
                (
                    _dedup_key(ev, command),
                    ev.shell_session,
                    ev.host,
                    ev.user,
                    ev.started,
                    ev.duration,
                    ev.exit_code,
                    None if ev.cwd is None else _text(ev.cwd),
                    text,
                    role,
                    ev.source,
                    ev.seq,
                    ",".join(rules),
                    ev.snapshot,
                    raw,
                )
            )
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO commands (dedup, shell_session, host, user, started,"
                " duration, exit_code, cwd, command, role, source, seq, redactions, snapshot, raw)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            added = db.total_changes - before
        return added, shells

    def count_commands(self) -> int:
        """Return how many commands are stored."""
        return int(self.db.execute("SELECT count(*) FROM commands").fetchone()[0])

    def session_commands(self, session: Session) -> tuple[CommandEvent, ...]:
        """Load the commands of one session, in the order they ran."""
        if session.started is None:
            cur = self.db.execute(
                "SELECT * FROM commands WHERE shell_session=? AND started IS NULL ORDER BY seq",
                (session.shell_session,),
            )
        else:
            cur = self.db.execute(
                "SELECT * FROM commands WHERE shell_session=? AND started BETWEEN ? AND ?"
                " ORDER BY started, seq",
                (session.shell_session, session.started, session.ended),
            )
        names = [d[0] for d in cur.description]
        return tuple(_row_event(dict(zip(names, row, strict=True))) for row in cur)

    # -- sessions ---------------------------------------------------------------
    def refresh_sessions(self, shells: Iterable[str], gap_s: float, now: float) -> list[str]:
        """Recompute the sessions of some shell sessions; return ids newly closed.

        Ids are derived from content, so re-splitting keeps ids of untouched sessions
        and their ``closed_at``; each newly closed session adds a ``session_closed``
        event in the same transaction.
        """
        closed: list[str] = []
        with self.transaction() as db:
            for shell in shells:
                times = db.execute(
                    "SELECT started, duration FROM commands WHERE shell_session=?"
                    " ORDER BY started IS NOT NULL, started, seq",
                    (shell,),
                ).fetchall()
                spans = split_times(shell, times, gap_s)
                old = {
                    row[0]: row[1]
                    for row in db.execute(
                        "SELECT id, closed_at FROM sessions WHERE shell_session=?", (shell,)
                    )
                }
                first = db.execute(
                    "SELECT host, user FROM commands WHERE shell_session=? LIMIT 1", (shell,)
                ).fetchone() or ("", "")
                keep = set()
                rows, events = [], []
                for i, span in enumerate(spans):
                    sid = span.id
                    keep.add(sid)
                    last = i == len(spans) - 1
                    closed_at = old.get(sid)
                    if closed_at is None and (not last or is_closed(span.ended, now, gap_s)):
                        closed_at = now
                        closed.append(sid)
                        events.append(
                            ("session_closed", sid, json.dumps({"shell_session": shell}), now)
                        )
                    rows.append(
                        (
                            sid,
                            shell,
                            first[0],
                            first[1],
                            span.started,
                            span.ended,
                            span.count,
                            closed_at,
                        )
                    )
                db.executemany(
                    "INSERT INTO sessions (id, shell_session, host, user, started, ended, n,"
                    " closed_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                    " ended=excluded.ended, n=excluded.n, closed_at=excluded.closed_at",
                    rows,
                )
                db.executemany(
                    "INSERT INTO events (kind, subject, payload, created) VALUES (?,?,?,?)", events
                )
                gone = set(old) - keep
                db.executemany("DELETE FROM sessions WHERE id=?", [(g,) for g in gone])
        return closed

    def close_idle_sessions(self, gap_s: float, now: float) -> list[str]:
        """Close open sessions idle for longer than the gap; return their ids."""
        ids: list[str] = []
        with self.transaction() as db:
            for sid, shell, ended in db.execute(
                "SELECT id, shell_session, ended FROM sessions WHERE closed_at IS NULL"
            ).fetchall():
                if is_closed(ended, now, gap_s):
                    db.execute("UPDATE sessions SET closed_at=? WHERE id=?", (now, sid))
                    self.add_event("session_closed", sid, {"shell_session": shell})
                    ids.append(sid)
        return ids

    def sessions(self, limit: int | None = None) -> list[Session]:
        """List sessions, newest first, without their commands."""
        sql = (
            "SELECT id, shell_session, host, user, started, ended, closed_at FROM sessions"
            " ORDER BY started IS NULL, started DESC"
        )
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [_row_session(r) for r in self.db.execute(sql, params)]

    def session(self, session_id: str) -> Session | None:
        """Return one session (by id or unique id prefix) with its commands."""
        rows = self.db.execute(
            "SELECT id, shell_session, host, user, started, ended, closed_at FROM sessions"
            " WHERE id LIKE ? ORDER BY started",
            (session_id.replace("%", "") + "%",),
        ).fetchall()
        if len(rows) != 1:
            return None
        bare = _row_session(rows[0])
        return Session(**{**bare.__dict__, "commands": self.session_commands(bare)})

    # -- offsets ----------------------------------------------------------------
    def get_offset(self, path: str) -> Offset | None:
        """Return the watcher's saved position in ``path``."""
        row = self.db.execute(
            "SELECT path, dev, inode, offset, head FROM offsets WHERE path=?", (path,)
        ).fetchone()
        return Offset(*row) if row else None

    def set_offset(self, offset: Offset) -> None:
        """Save a read position (call inside the transaction that stored the rows)."""
        self.db.execute(
            "INSERT INTO offsets (path, dev, inode, offset, head, updated) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(path) DO UPDATE SET dev=excluded.dev, inode=excluded.inode,"
            " offset=excluded.offset, head=excluded.head, updated=excluded.updated",
            (offset.path, offset.dev, offset.inode, offset.offset, offset.head, time.time()),
        )

    def delete_offset(self, path: str) -> None:
        """Forget the read position of a file that no longer exists (a retired spool)."""
        with self.transaction():
            self.db.execute("DELETE FROM offsets WHERE path=?", (path,))

    # -- events -----------------------------------------------------------------
    def add_event(self, kind: str, subject: str, payload: dict[str, Any] | None = None) -> int:
        """Append an event (an outbox later stages read)."""
        cur = self.db.execute(
            "INSERT INTO events (kind, subject, payload, created) VALUES (?,?,?,?)",
            (kind, subject, json.dumps(payload or {}, sort_keys=True), time.time()),
        )
        return int(cur.lastrowid or 0)

    def events(self, kind: str, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        """Return events of one kind after an id."""
        return [
            (r[0], r[1], json.loads(r[2]))
            for r in self.db.execute(
                "SELECT id, subject, payload FROM events WHERE kind=? AND id>? ORDER BY id",
                (kind, after),
            )
        ]


def _text(value: str) -> str:
    """Make text SQLite can store: undecodable bytes (surrogates) become ``\\xNN``."""
    return _text_raw(value)[0]


def _text_raw(value: str) -> tuple[str, bytes | None]:
    """Return storable text and, only when it is not valid UTF-8, the exact bytes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace"), raw
    return value, None


def _row_session(r: Sequence[Any]) -> Session:
    """Build a Session (without commands) from a sessions row."""
    return Session(
        id=r[0],
        shell_session=r[1],
        host=r[2],
        user=r[3],
        started=r[4],
        ended=r[5],
        closed=r[6] is not None,
    )


def _row_event(row: dict[str, Any]) -> CommandEvent:
    raw = row.get("raw")
    return CommandEvent(
        command=raw.decode("utf-8", "surrogateescape") if raw is not None else row["command"],
        started=row["started"],
        shell_session=row["shell_session"],
        host=row["host"],
        user=row["user"],
        cwd=row["cwd"],
        duration=row["duration"],
        exit_code=row["exit_code"],
        source=row["source"],
        seq=row["seq"],
        role=row["role"],
        redactions=tuple(r for r in row["redactions"].split(",") if r),
        snapshot=row["snapshot"],
    )
