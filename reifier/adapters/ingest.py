"""Bring parsed commands into the store: prepare (redact, classify), insert, re-split.

Both ``reifier import`` and ``reifier watch`` go through :func:`ingest`, so
redaction cannot be bypassed and sessions are computed one way only.
"""

from __future__ import annotations

import getpass
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from reifier.adapters.evidence import prune_snapshots
from reifier.adapters.settings import Context
from reifier.adapters.store import Offset, Store
from reifier.core.history.common import drop_future
from reifier.core.history.registry import formats
from reifier.core.models import CommandEvent, ParseResult, Skipped
from reifier.core.prepare import Preparer
from reifier.errors import BadInput


@dataclass
class ImportReport:
    """What one import or watch pass did, for humans and ``--json``."""

    path: str
    fmt: str
    read: int = 0
    added: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    closed_sessions: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Return how many commands were already in the store."""
        return self.read - self.added

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-ready summary (skip reasons, never skipped content)."""
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        return {
            "path": self.path,
            "format": self.fmt,
            "read": self.read,
            "added": self.added,
            "duplicates": self.duplicates,
            "skipped": len(self.skipped),
            "skip_reasons": reasons,
            "closed_sessions": self.closed_sessions,
        }


def ingest(
    ctx: Context,
    store: Store,
    events: list[CommandEvent],
    *,
    offset: Offset | None = None,
    now: float | None = None,
) -> tuple[int, list[str]]:
    """Store events and (atomically with them) the read offset that produced them."""
    preparer = Preparer.from_settings(ctx.settings)
    now = time.time() if now is None else now
    with store.transaction():
        added, shells = store.insert_commands(events, preparer.prepared)
        if offset is not None:
            store.set_offset(offset)
        closed = store.refresh_sessions(shells, ctx.settings.session_gap_s, now) if added else []
    if added:  # snapshots of sessions never drafted are kept 7 days at most
        prune_snapshots(ctx.home / "snapshots", now)
    return added, closed


def whoami() -> tuple[str, str]:
    """Return (host, user) for commands whose source does not say."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return socket.gethostname(), user


def parse_history(
    data: bytes,
    *,
    fmt: str | None,
    source: str,
    host: str,
    user: str,
    final: bool = True,
    start_seq: int = 0,
) -> ParseResult:
    """Parse history bytes in ``fmt`` (auto-detected when ``None``)."""
    hf = formats.get(fmt) if fmt else formats.detect(data)
    shell = f"{hf.name}:{user}@{host}"
    return hf.parse(
        data,
        source=source,
        shell_session=shell,
        host=host,
        user=user,
        final=final,
        start_seq=start_seq,
    )


def import_file(
    ctx: Context,
    path: Path,
    fmt: str | None = None,
    *,
    host: str | None = None,
    user: str | None = None,
    store: Store | None = None,
) -> ImportReport:
    """Import a whole history file; importing the same file twice adds nothing."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    me_host, me_user = whoami()
    # A last line with no newline is a line still being written (or cut short): it is
    # left for the import that sees it complete, or it would be stored twice, once
    # cut ("systemctl resta") and once whole.
    complete = not data or data.endswith(b"\n")
    result = parse_history(
        data,
        fmt=fmt,
        source=f"import:{path.name}",
        host=host or me_host,
        user=user or me_user,
        final=complete,
    )
    events, future = drop_future(list(result.events), time.time())
    if not complete:
        line = data.count(b"\n") + 1
        future.append(Skipped(line=line, reason="last line has no newline yet (imported "
                                                "once complete)"))
    report = ImportReport(str(path), result.fmt, read=len(events),
                          skipped=[*result.skipped, *future])
    if not events:
        why = (
            f"; first problem: line {report.skipped[0].line}: {report.skipped[0].reason}"
            if report.skipped
            else ""
        )
        raise BadInput(f"{path}: no usable history entries ({len(report.skipped)} skipped){why}")
    own = store is None
    st = store or Store(ctx.db_path)
    try:
        report.added, report.closed_sessions = ingest(ctx, st, events)
    finally:
        if own:
            st.close()
    return report
