"""The memory graph's nodes and edges, as a mixin of :class:`~reifier.adapters.store.Store`."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from reifier.errors import StoreError

NODE_KINDS = ("ErrorPattern", "Runbook", "Command", "Session", "Alert", "Execution", "LogLine")
EDGE_KINDS = ("mitigated_by", "contains", "produced", "observed_in", "ran", "triggered")


class GraphMixin:
    """Typed access to the ``nodes`` and ``edges`` tables."""

    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def upsert_node(self, kind: str, key: str, props: dict[str, Any] | None = None) -> int:
        """Create or update a node; return its id."""
        if kind not in NODE_KINDS:
            raise StoreError(f"unknown node kind {kind!r} (valid: {', '.join(NODE_KINDS)})")
        now = time.time()
        data = json.dumps(props or {}, sort_keys=True, default=str)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO nodes (kind, key, props, created, updated) VALUES (?,?,?,?,?)"
                " ON CONFLICT(kind, key) DO UPDATE SET props=excluded.props,"
                " updated=excluded.updated",
                (kind, key, data, now, now),
            )
            row = db.execute("SELECT id FROM nodes WHERE kind=? AND key=?", (kind, key)).fetchone()
        return int(row[0])

    def add_edge(self, src: int, rel: str, dst: int, props: dict[str, Any] | None = None) -> None:
        """Link two nodes (idempotent)."""
        if rel not in EDGE_KINDS:
            raise StoreError(f"unknown edge kind {rel!r} (valid: {', '.join(EDGE_KINDS)})")
        self.db.execute(
            "INSERT OR IGNORE INTO edges (src, rel, dst, props, created) VALUES (?,?,?,?,?)",
            (src, rel, dst, json.dumps(props or {}, sort_keys=True), time.time()),
        )

    def nodes(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Return nodes as dicts (``id``, ``kind``, ``key``, ``props``)."""
        sql = "SELECT id, kind, key, props FROM nodes"
        params: Sequence[Any] = ()
        if kind:
            sql += " WHERE kind=?"
            params = (kind,)
        return [
            {"id": r[0], "kind": r[1], "key": r[2], "props": json.loads(r[3])}
            for r in self.db.execute(sql + " ORDER BY id", params)
        ]

    def node(self, kind: str, key: str) -> dict[str, Any] | None:
        """Return one node by kind and key (the unique index), or None."""
        r = self.db.execute(
            "SELECT id, kind, key, props FROM nodes WHERE kind=? AND key=?", (kind, key)
        ).fetchone()
        return {"id": r[0], "kind": r[1], "key": r[2], "props": json.loads(r[3])} if r else None

    def edges(self) -> list[dict[str, Any]]:
        """Return every edge as a dict (``src``, ``rel``, ``dst``, ``props``)."""
        return [
            {"src": r[0], "rel": r[1], "dst": r[2], "props": json.loads(r[3])}
            for r in self.db.execute("SELECT src, rel, dst, props FROM edges ORDER BY id")
        ]
