"""Run evidence anchored in the store, as a mixin of :class:`~reifier.adapters.store.Store`.

The records index lives in the workspace, which anyone who can write the
folder can rewrite. The store lives under ``REIFIER_HOME``, outside it, and
keeps two things the index cannot vouch for itself:

- the chain head of each index (hash of its latest line and the line count),
  updated under the index lock after every append, so a truncated, wiped or
  re-chained index no longer ends where the store says it did;
- the host keys this store created to sign index lines (fingerprint, principal,
  public key), so a key swapped in ``REIFIER_HOME`` is not trusted as this host.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordAnchor:
    """Where an index ended after this host's last append."""

    head: str  # SHA-256 of the latest line's text
    count: int  # how many lines the index had then
    run_id: str
    updated: float


@dataclass(frozen=True)
class HostKey:
    """A host key this store created (or first saw) to sign records with."""

    fingerprint: str
    path: str
    principal: str
    public_key: str


class RecordsMixin:
    """Typed access to the ``record_anchors`` and ``host_keys`` tables."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def anchor_records(self, index_path: str, head: str, count: int, run_id: str = "") -> None:
        """Remember that the index at ``index_path`` now ends with line ``count`` = ``head``."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO record_anchors(index_path, head, count, run_id, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(index_path) DO UPDATE SET "
                "head=excluded.head, count=excluded.count, run_id=excluded.run_id, "
                "updated=excluded.updated",
                (index_path, head, count, run_id, time.time()),
            )

    def records_anchor(self, index_path: str) -> RecordAnchor | None:
        """Return the anchored chain head of an index (None: never appended from here)."""
        row = self.db.execute(
            "SELECT head, count, run_id, updated FROM record_anchors WHERE index_path = ?",
            (index_path,)).fetchone()
        return RecordAnchor(str(row[0]), int(row[1]), str(row[2]), float(row[3])) if row else None

    def register_host_key(self, key: HostKey) -> None:
        """Record a host key as this host's own (idempotent)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO host_keys(fingerprint, path, principal, public_key, "
                "created) VALUES (?, ?, ?, ?, ?)",
                (key.fingerprint, key.path, key.principal, key.public_key, time.time()),
            )

    def host_keys(self, path: str | None = None) -> list[HostKey]:
        """Return the registered host keys (of one key path, or all), oldest first."""
        sql = "SELECT fingerprint, path, principal, public_key FROM host_keys"
        args: tuple[str, ...] = ()
        if path is not None:
            sql, args = sql + " WHERE path = ?", (path,)
        return [HostKey(*map(str, row)) for row in self.db.execute(sql + " ORDER BY created",
                                                                     args)]
