"""The SQLite store: WAL, migrations, transactions, bad databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reifier.adapters.store import MIGRATIONS, Store
from reifier.core.models import CommandEvent
from reifier.errors import StoreError


def test_new_store_is_wal_and_fully_migrated(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    assert store.schema_version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    again = Store(tmp_path / "r.db")  # reopening applies nothing twice
    assert again.schema_version == len(MIGRATIONS)


def test_newer_schema_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this Reifier"):
        Store(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Store(path)


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_commands([CommandEvent("echo 1", 1.0, "s")])
        raise RuntimeError("crash mid-batch")
    assert store.count_commands() == 0
    added, _ = store.insert_commands([CommandEvent("echo 1", 1.0, "s")])
    assert added == 1 and store.count_commands() == 1


def test_invalid_utf8_commands_keep_their_bytes(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    cmd = b"echo caf\xe9 \xff".decode("utf-8", "surrogateescape")
    store.insert_commands([CommandEvent(cmd, 5.0, "s")])
    store.refresh_sessions({"s"}, 300, 10_000)
    (session,) = store.sessions()
    (back,) = store.session_commands(session)
    assert back.command.encode("utf-8", "surrogateescape") == b"echo caf\xe9 \xff"


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import sys; from reifier.adapters.store import Store; Store(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r.db")],
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert Store(tmp_path / "r.db").schema_version == len(MIGRATIONS)


def test_store_is_private(tmp_path: Path) -> None:
    import stat as st

    home = tmp_path / "new-home"
    store = Store(home / "reifier.db")
    store.add_event("x", "y")
    store.close()
    assert st.S_IMODE(home.stat().st_mode) == 0o700
    for f in home.iterdir():  # the database and SQLite's -wal/-shm companions
        assert st.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    loose = shared / "reifier.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    Store(loose).close()
    assert st.S_IMODE(loose.stat().st_mode) == 0o600  # tightened
    assert st.S_IMODE(shared.stat().st_mode) == 0o755  # an existing folder is left alone
