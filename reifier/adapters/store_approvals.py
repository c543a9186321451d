"""Approval history per runbook id, as a mixin of :class:`~reifier.adapters.store.Store`.

A signed approval proves that someone approved *these* files once; it cannot
prove that nothing was approved or revoked since. The store keeps every
approval and revocation per runbook id, so a copy of older approved files
(restored from git, a backup, another branch) is refused as superseded, and a
revoked runbook stays revoked whatever files come back.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass


@dataclass(frozen=True)
class ApprovalEvent:
    """The latest approval or revocation recorded for a runbook id."""

    action: str  # "approve" or "revoke"
    digest: str
    signature: str
    by: str
    at: str


class ApprovalsMixin:
    """Typed access to the ``approvals`` table."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def record_approval(self, runbook: str, action: str, *, digest: str = "",
                        signature: str = "", by: str = "", at: str) -> None:
        """Append an approval (``approve``) or revocation (``revoke``) of ``runbook``."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO approvals(runbook, action, digest, signature, by, at, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (runbook, action, digest, signature, by, at, time.time()),
            )

    def latest_approval(self, runbook: str) -> ApprovalEvent | None:
        """Return the most recent approval or revocation of ``runbook`` (None: never)."""
        row = self.db.execute(
            "SELECT action, digest, signature, by, at FROM approvals WHERE runbook = ? "
            "ORDER BY id DESC LIMIT 1", (runbook,)).fetchone()
        return ApprovalEvent(*row) if row else None
