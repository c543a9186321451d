"""Watch latency: a command runs in a real bash with the hook → its row is in the store.

Measured from sending the command line to the pty (so it includes bash reading
and running it, and the hook writing the spool record) to the row being visible
to another SQLite reader, with `reifier watch` following.
Target: within 1 s; p50 and p99 printed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, pct, report

N = 100


def main() -> dict[str, object]:
    """Run N commands and time each one's arrival in the store."""
    import pexpect

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "REIFIER_HOME": tmp, "REIFIER_WORKSPACE": tmp}
        watch = subprocess.Popen([sys.executable, "-m", "reifier", "watch"], env=env,
                                 stderr=subprocess.PIPE, text=True)
        assert watch.stderr is not None
        watch.stderr.readline()  # "watching ..."
        bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, encoding="utf-8",
                             timeout=30)
        prompt = "BENCH$ "
        bash.sendline(f"PS1='{prompt}'")
        bash.expect_exact(prompt)
        bash.expect_exact(prompt)
        bash.sendline(f'eval "$({sys.executable} -m reifier init bash)"')
        bash.expect_exact(prompt)
        db_path = Path(tmp) / "reifier.db"
        while not db_path.exists():
            time.sleep(0.05)
        db = sqlite3.connect(db_path)
        lat = []
        for i in range(N):
            t0 = time.perf_counter()  # upper bound: includes typing and running the command
            bash.sendline(f"echo bench-{i}")
            while True:
                row = db.execute("SELECT 1 FROM commands WHERE command=?", (f"echo bench-{i}",)).fetchone()
                if row:
                    break
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"command {i} never reached the store")
                time.sleep(0.002)
            lat.append(time.perf_counter() - t0)
            bash.expect_exact(prompt)
        bash.sendline("exit")
        watch.terminate()
        watch.wait(timeout=10)
        db.close()
    return report("watch_latency", {
        "commands": N,
        "p50_ms": round(median(lat) * 1000, 1),
        "p99_ms": round(pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1),
        "target_ms": 1000,
    })


if __name__ == "__main__":
    main()
