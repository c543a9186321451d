"""Background runs of the alert receiver, as a mixin of :class:`~reifier.adapters.store.Store`."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from reifier.errors import StoreError


class RunsMixin:
    """Typed access to the ``runs`` table (one row per background job)."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    RUN_COLUMNS = (
        "status",
        "pid",
        "run_id",
        "record",
        "html",
        "reason",
        "silence",
        "started",
        "ended",
    )

    @staticmethod
    def _run_row(description: Any, row: Sequence[Any]) -> dict[str, Any]:
        out = dict(zip([d[0] for d in description], row, strict=True))
        out["spec"] = json.loads(out["spec"])
        return out

    def create_run(self, job_id: str, runbook: str, alert_key: str, spec: dict[str, Any]) -> None:
        """Add a ``queued`` run row (call inside the transaction that decided it)."""
        self.db.execute(
            "INSERT INTO runs (id, runbook, alert_key, status, spec, created)"
            " VALUES (?,?,?,'queued',?,?)",
            (job_id, runbook, alert_key, json.dumps(spec, sort_keys=True), time.time()),
        )

    def update_run(self, job_id: str, **fields: Any) -> None:
        """Set some columns of a run row (status, pid, record, reason, started, ended...)."""
        bad = set(fields) - set(self.RUN_COLUMNS)
        if bad or not fields:
            raise StoreError(f"cannot update run columns {sorted(bad) or '(none)'}")
        names = sorted(fields)
        self.db.execute(
            f"UPDATE runs SET {', '.join(f'{n}=?' for n in names)} WHERE id=?",
            (*(fields[n] for n in names), job_id),
        )

    def get_run(self, job_id: str) -> dict[str, Any] | None:
        """Return one run row as a dict (``spec`` decoded), or None."""
        cur = self.db.execute("SELECT * FROM runs WHERE id=?", (job_id,))
        row = cur.fetchone()
        return self._run_row(cur.description, row) if row else None

    def list_runs(
        self, statuses: Sequence[str] = (), runbook: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return run rows, newest first, optionally only some statuses or one runbook."""
        sql, params = "SELECT * FROM runs WHERE 1=1", []
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params += list(statuses)
        if runbook is not None:
            sql += " AND runbook=?"
            params.append(runbook)
        cur = self.db.execute(sql + " ORDER BY created DESC, id DESC LIMIT ?", (*params, limit))
        return [self._run_row(cur.description, r) for r in cur.fetchall()]

    def mark_interrupted(self, alive: Callable[[dict[str, Any]], bool], reason: str) -> list[str]:
        """Mark ``queued``/``running`` runs whose process is gone as ``interrupted``."""
        gone: list[str] = []
        with self.transaction() as db:
            for row in self.list_runs(("queued", "running"), limit=1_000_000):
                if not alive(row):
                    db.execute(
                        "UPDATE runs SET status='interrupted', reason=?, ended=? WHERE id=?",
                        (reason, time.time(), row["id"]),
                    )
                    gone.append(str(row["id"]))
        return gone
