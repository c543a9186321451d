"""Issue #22: a store held by another process is waited for (bounded), then one line, exit 1."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from tests.functional.cli import run


def _hold(db: Path, seconds: float) -> threading.Thread:
    """Hold the store's write lock from another connection, as a long import does."""
    con = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()

    t = threading.Thread(target=release)
    t.start()
    return t


def _history(tmp_path: Path) -> Path:
    hist = tmp_path / "hist"
    hist.write_text("#1700000000\nuptime\n#1700000005\ndf -h\n")
    return hist


def test_import_waits_for_a_held_store(reifier_env: dict[str, str], tmp_path: Path) -> None:
    hist = _history(tmp_path)
    run("sessions", env=reifier_env)  # creates the store
    t = _hold(Path(reifier_env["REIFIER_HOME"]) / "reifier.db", 1.5)
    out = run("import", str(hist), env={**reifier_env, "REIFIER_BUSY_TIMEOUT_S": "20"})
    t.join()
    assert "2 added" in out.stdout


def test_import_and_watch_give_one_line_when_the_wait_runs_out(
    reifier_env: dict[str, str], tmp_path: Path
) -> None:
    hist = _history(tmp_path)
    run("sessions", env=reifier_env)
    t = _hold(Path(reifier_env["REIFIER_HOME"]) / "reifier.db", 4)
    env = {**reifier_env, "REIFIER_BUSY_TIMEOUT_S": "0.5"}
    try:
        spool = Path(reifier_env["REIFIER_HOME"]) / "spool"
        spool.mkdir(mode=0o700, exist_ok=True)
        (spool / "s1.spool").write_bytes(
            b"RFR1\0bash\0s1\0001\0001700000000000000\0001700000001000000\0000\0h\0u\0/\0\0uptime\0.\n")
        for args in (("import", str(hist)), ("watch", "--once")):
            out = run(*args, env=env, check=False)
            assert out.returncode == 1, out
            assert "Traceback" not in out.stderr
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and "busy" in lines[0] and "REIFIER_BUSY_TIMEOUT_S" in lines[0]
    finally:
        t.join()
    assert "2 added" in run("import", str(hist), env=reifier_env).stdout
