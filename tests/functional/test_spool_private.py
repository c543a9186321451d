"""The spool holds plaintext commands, so it is private and short-lived.

A hooked bash creates its spool 0600 in a 0700 directory; `reifier watch` narrows
anything wider, retires every fully committed spool file (rename aside, read the
tail, delete), and still loses and duplicates nothing when killed with -9 at any
moment under a writer that appends like the hook (one open per record).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from reifier.adapters.settings import load_context
from reifier.adapters.store import Store
from reifier.adapters.watch import DRAINING, Watcher
from tests.functional.cli import run
from tests.functional.test_hook_bash import start_bash
from tests.functional.test_import_watch import kill_watch_while


def record(sid: str, i: int, command: str) -> bytes:
    """One spool record, as the bash hook writes it."""
    t = 1_764_100_000_000_000 + i * 1_000_000
    fields = ["bash", sid, str(i), str(t), str(t + 500), "0", "h", "u", "/srv", "", command]
    return b"RFR1\0" + b"".join(f.encode() + b"\0" for f in fields) + b".\n"


def commands(home: Path) -> list[str]:
    db = sqlite3.connect(home / "reifier.db")
    try:
        return [c for (c,) in db.execute("SELECT command FROM commands ORDER BY started, seq")]
    finally:
        db.close()


def plaintext_left(spool: Path) -> bytes:
    """Spool bytes left behind (not the hook's one-line ``.last`` buffer, checked apart)."""
    return b"".join(
        p.read_bytes() for p in spool.iterdir() if p.is_file() and not p.name.endswith(".last")
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_hooked_bash_spool_is_private_and_consumed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sh = start_bash(home, tmp_path, extra_env={"REIFIER_WORKSPACE": str(tmp_path / "ws")})
    try:
        sh.run("umask 022")  # the user's usual umask must not widen the spool
        sh.run("echo spool-check-one")
        sh.run("export API_TOKEN=ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8")
        spool = home / "spool"
        files = list(spool.glob("*.spool"))
        assert files and all(mode(p) == 0o600 for p in files)
        assert all(mode(p) == 0o600 for p in spool.glob(".*.last"))
        assert mode(spool) == 0o700
        env = dict(os.environ, REIFIER_HOME=str(home), REIFIER_WORKSPACE=str(tmp_path / "ws"))
        run("watch", "--once", env=env)
        assert "echo spool-check-one" in commands(home)
        left = plaintext_left(spool)
        assert b"spool-check-one" not in left and b"ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8" not in left
        stored = b"".join(p.read_bytes() for p in home.rglob("reifier.db*"))  # store and WAL
        assert b"API_TOKEN=<REDACTED:github-token>" in stored
        assert b"ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8" not in stored
        sh.run("echo spool-check-two")  # the hook goes on writing after its file was retired
        assert all(mode(p) == 0o600 for p in spool.glob("*.spool"))
        run("watch", "--once", env=env)
        assert commands(home)[-1] == "echo spool-check-two"
        assert b"spool-check-two" not in plaintext_left(spool)
        # the hook's line buffer holds the latest line only, privately, until the shell exits
        (last,) = spool.glob(".*.last")
        assert mode(last) == 0o600 and b"spool-check-one" not in last.read_bytes()
    finally:
        sh.close()


def test_watcher_narrows_modes_and_retires_consumed_spools(reifier_env: dict[str, str]) -> None:
    home = Path(reifier_env["REIFIER_HOME"])
    spool = home / "spool"
    spool.mkdir(mode=0o755)
    os.chmod(spool, 0o755)
    live = spool / "1-2-3.spool"
    live.write_bytes(record("1-2-3", 1, "echo one") + record("1-2-3", 2, "echo two"))
    os.chmod(live, 0o644)
    ctx = load_context()
    store = Store(ctx.db_path)
    try:
        watcher = Watcher(ctx, store, wait_settle=True)
        assert watcher.drain() == 2
        assert mode(spool) == 0o700
        assert live.exists() and live.read_bytes() == b"" and mode(live) == 0o600
        assert not list(spool.glob(f"*{DRAINING}"))  # settled, read, deleted
        assert store.get_offset(str(live)) is not None
        # a record cut short stays until it is complete, and is then consumed
        part = record("1-2-3", 3, "echo three")
        with live.open("ab") as fh:
            fh.write(part[:20])
        assert watcher.drain() == 0 and live.read_bytes() == part[:20]
        with live.open("ab") as fh:
            fh.write(part[20:])
        assert watcher.drain() == 1 and live.read_bytes() == b""
    finally:
        store.close()
    assert commands(home) == ["echo one", "echo two", "echo three"]


def test_a_crash_after_the_rename_loses_and_duplicates_nothing(reifier_env: dict[str, str]) -> None:
    home = Path(reifier_env["REIFIER_HOME"])
    spool = home / "spool"
    spool.mkdir(mode=0o700)
    live = spool / "9-9-9.spool"
    live.write_bytes(record("9-9-9", 1, "echo a") + record("9-9-9", 2, "echo b"))
    ctx = load_context()
    store = Store(ctx.db_path)
    try:
        watcher = Watcher(ctx, store, wait_settle=True)
        watcher.drain([(live, "spool")])  # commits rows + offset, then retires the file
        # Simulate a watcher killed between the rename and the bookkeeping: the old
        # inode is back under a .draining name, with a tail the hook appended.
        live.write_bytes(record("9-9-9", 3, "echo c"))
        ino = live.stat().st_ino
        draining = spool / f"{live.name}.{ino}{DRAINING}"
        live.rename(draining)
        with draining.open("ab") as fh:
            fh.write(record("9-9-9", 4, "echo d"))
        assert watcher.drain() == 2
        assert not draining.exists()
        assert store.get_offset(str(draining)) is None
    finally:
        store.close()
    assert commands(home) == ["echo a", "echo b", "echo c", "echo d"]


@pytest.mark.slow
def test_kill_9_under_a_hook_like_writer_loses_nothing(reifier_env: dict[str, str]) -> None:
    home = Path(reifier_env["REIFIER_HOME"])
    spool = home / "spool"
    spool.mkdir(mode=0o700)
    total = 1500
    sid = "1764100000000000-4242-7"
    path = spool / f"{sid}.spool"

    def writer() -> None:
        for i in range(total):
            rec = record(sid, i, f"echo command-{i} 'with  spaces'")
            with path.open("ab", buffering=0) as fh:  # the hook opens the path per record
                fh.write(rec[: len(rec) // 2])  # a torn write the watcher must not half-read
                fh.write(rec[len(rec) // 2 :])
            if i % 50 == 0:
                time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    kill_watch_while(thread, reifier_env)
    run("watch", "--once", env=reifier_env)
    assert commands(home) == [f"echo command-{i} 'with  spaces'" for i in range(total)]
    assert b"command-" not in plaintext_left(spool)
    assert not list(spool.glob(f"*{DRAINING}"))
    assert all(mode(p) == 0o600 for p in spool.glob("*.spool"))
