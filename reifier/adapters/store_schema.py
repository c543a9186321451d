"""The store's schema: ordered migrations, applied in one transaction each.

Append, never edit: a database records how many it has applied in
``PRAGMA user_version``.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: capture + graph skeleton
    """
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        dedup INTEGER NOT NULL UNIQUE,  -- 64-bit hash of the dedup key: re-imports collide
        shell_session TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        user TEXT NOT NULL DEFAULT '',
        started REAL,
        duration REAL,
        exit_code INTEGER,
        cwd TEXT,
        command TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        seq INTEGER NOT NULL DEFAULT 0,
        redactions TEXT NOT NULL DEFAULT '',
        snapshot TEXT,
        raw BLOB
    );
    CREATE INDEX commands_by_shell ON commands(shell_session, started, seq);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        shell_session TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        user TEXT NOT NULL DEFAULT '',
        started REAL,
        ended REAL,
        n INTEGER NOT NULL,
        closed_at REAL
    );
    CREATE INDEX sessions_by_shell ON sessions(shell_session, started);
    CREATE TABLE offsets (
        path TEXT PRIMARY KEY,
        dev INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        head TEXT NOT NULL DEFAULT '',
        updated REAL NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL
    );
    CREATE INDEX events_by_kind ON events(kind, id);
    CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        props TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        UNIQUE(kind, key)
    );
    CREATE TABLE edges (
        id INTEGER PRIMARY KEY,
        src INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        rel TEXT NOT NULL,
        dst INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        props TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        UNIQUE(src, rel, dst)
    );
    CREATE INDEX edges_by_dst ON edges(dst, rel);
    """,
    # 2: background runs started by the alert receiver (reifier serve)
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        runbook TEXT NOT NULL,
        alert_key TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        spec TEXT NOT NULL DEFAULT '{}',
        pid INTEGER,
        run_id TEXT NOT NULL DEFAULT '',
        record TEXT NOT NULL DEFAULT '',
        html TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        silence TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        started REAL,
        ended REAL
    );
    CREATE INDEX runs_by_status ON runs(status, runbook);
    """,
    # 3: approval history per runbook id: an older or revoked approval restored from
    # git or a backup must not count (replay)
    """
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        runbook TEXT NOT NULL,
        action TEXT NOT NULL,  -- 'approve' or 'revoke'
        digest TEXT NOT NULL DEFAULT '',
        signature TEXT NOT NULL DEFAULT '',
        by TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX approvals_by_runbook ON approvals(runbook, id);
    """,
    # 4: run evidence anchored outside the workspace: each records index's chain head
    # (latest line hash and line count) and the host keys this store created to sign
    # index lines, so truncation, wiping, re-chaining and a swapped key are caught
    """
    CREATE TABLE record_anchors (
        index_path TEXT PRIMARY KEY,
        head TEXT NOT NULL,
        count INTEGER NOT NULL,
        run_id TEXT NOT NULL DEFAULT '',
        updated REAL NOT NULL
    );
    CREATE TABLE host_keys (
        fingerprint TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        principal TEXT NOT NULL,
        public_key TEXT NOT NULL,
        created REAL NOT NULL
    );
    """,
)
