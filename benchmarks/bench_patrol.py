"""Patrol latency: a new log line → its suggestion recorded in the store.

A real `reifier patrol --follow` (watchdog) against 100 approved runbooks; lines
are appended one at a time and the time until the suggestion row is visible to
another SQLite reader is measured. Target: p99 under 200 ms.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import ROOT, approval_keys, median, pct, report

RUNBOOKS = 100
LINES = 100


def main() -> dict[str, object]:
    """Append matching lines and time each suggestion."""
    from reifier.adapters.approve import approve_paths
    from reifier.adapters.settings import load_context
    from tests.functional.runbook_factory import make_runbook

    rows = [json.loads(x) for x in (ROOT / "tests" / "data" / "logeval" / "eval.jsonl").read_text().splitlines()]
    examples = [r["line"] for r in rows if r.get("role") == "example"][:RUNBOOKS]
    with tempfile.TemporaryDirectory() as tmp:
        ws, home = Path(tmp) / "ws", Path(tmp) / "home"
        os.environ.update(REIFIER_HOME=str(home), REIFIER_WORKSPACE=str(ws),
                          **approval_keys(ws, Path(tmp)))
        env = dict(os.environ)
        paths = [make_runbook(ws, f"rb-{i}", symptoms=[line]) for i, line in enumerate(examples)]
        approve_paths(load_context(str(ws)), paths, "bench")
        log = Path(tmp) / "app.log"
        log.write_text("")
        proc = subprocess.Popen([sys.executable, "-m", "reifier", "patrol", str(log), "--follow", "--no-run"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        proc.stderr.readline()
        db = sqlite3.connect(home / "reifier.db")
        lat = []
        for i in range(LINES):
            before = db.execute("SELECT count(*) FROM events WHERE kind='suggestion'").fetchone()[0]
            line = examples[i % len(examples)]
            t0 = time.perf_counter()
            with log.open("a") as fh:
                fh.write(line + "\n")
            while db.execute("SELECT count(*) FROM events WHERE kind='suggestion'").fetchone()[0] <= before:
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"line {i} never produced a suggestion")
                time.sleep(0.002)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.02)
        proc.terminate()
        proc.wait(timeout=10)
        db.close()
    return report("patrol_latency", {
        "runbooks": len(examples), "lines": LINES,
        "p50_ms": round(median(lat) * 1000, 1), "p99_ms": round(pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1), "target_p99_ms": 200,
    })


if __name__ == "__main__":
    main()
