"""An idle `reifier watch` costs nothing: its CPU time over an idle interval, with 20
spool files present, is compared with a sleeping process's over the same interval.

CPU ticks (utime + stime from /proc/<pid>/stat), not wall-clock time, so a loaded
machine does not make the test flaky; the watcher used ~1,000 ticks in 10 s when it
woke on the open/close events of its own reads.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.functional.test_spool_private import record

FILES = 20
IDLE_S = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
BOUND = 0.01  # of one core: at most 10 ticks in 10 s more than a sleeping process


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def stored(home: Path) -> list[str]:
    db = sqlite3.connect(home / "reifier.db")
    try:
        return [c for (c,) in db.execute("SELECT command FROM commands ORDER BY started, seq")]
    finally:
        db.close()


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_idle_watcher_cpu_is_that_of_a_sleeping_process(reifier_env: dict[str, str]) -> None:
    home = Path(reifier_env["REIFIER_HOME"])
    spool = home / "spool"
    spool.mkdir(mode=0o700)
    sids = [f"1764100000000000-{4_000_000 + n}-{n}" for n in range(FILES)]
    for n, sid in enumerate(sids):
        (spool / f"{sid}.spool").write_bytes(record(sid, 1, f"echo idle-{n}"))
    watch = subprocess.Popen([sys.executable, "-m", "reifier", "watch"], env=reifier_env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sleeper = subprocess.Popen(["sleep", str(IDLE_S + 60)])
    try:
        assert watch.stderr is not None
        assert "watching" in watch.stderr.readline()
        wait_for(lambda: len(stored(home)) == FILES and not list(spool.glob("*.draining")))
        assert sorted(p.name for p in spool.glob("*.spool")) == sorted(f"{s}.spool" for s in sids)
        time.sleep(1.0)  # past the last settle deadline: nothing left to do
        w0, s0 = cpu_ticks(watch.pid), cpu_ticks(sleeper.pid)
        time.sleep(IDLE_S)
        watcher, sleeping = cpu_ticks(watch.pid) - w0, cpu_ticks(sleeper.pid) - s0
        assert watch.poll() is None, "the watcher died"
        assert watcher - sleeping <= BOUND * IDLE_S * CLK_TCK, (
            f"idle watcher used {watcher} ticks in {IDLE_S:.0f} s (a sleeping process {sleeping})")
        # still awake to real writes: a hook appending to one of the files
        with (spool / f"{sids[3]}.spool").open("ab") as fh:
            fh.write(record(sids[3], 2, "echo after-idle"))
        wait_for(lambda: "echo after-idle" in stored(home), timeout=10)
    finally:
        sleeper.kill()
        sleeper.wait()
        watch.terminate()
        watch.wait(timeout=10)
