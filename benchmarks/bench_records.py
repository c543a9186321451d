"""Benchmark signed run evidence: signing cost per append, verification cost per run.

Builds a temp workspace and home, writes N small record files and appends N
index lines through :func:`reifier.adapters.records.append_index` (hash over
every field, ``ssh-keygen -Y sign`` with the host key, store anchor), then
times :func:`reifier.adapters.records.check` (chain, file hashes, one
``ssh-keygen -Y verify`` per line, anchor) and the whole ``reifier records
--verify`` process. Prints milliseconds per run; the target is well under the
cost of a run itself (a 1-cell run takes about a second).

Run: ``.venv/bin/python benchmarks/bench_records.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 3


def _fill(n: int) -> None:
    """Append ``n`` runs (tiny record files, real signed index lines)."""
    from reifier.adapters import records
    from reifier.adapters.settings import load_context
    from reifier.adapters.store import Store

    ctx = load_context()
    store = Store(ctx.db_path)
    base = records.records_dir(ctx)
    try:
        for i in range(n):
            run_id = f"20261124T10{i // 60 % 60:02d}{i % 60:02d}Z-{i:06x}"
            ipynb, page = records.record_paths(ctx, "bench", run_id)
            ipynb.parent.mkdir(parents=True, exist_ok=True)
            ipynb.write_text(json.dumps({"cells": [], "metadata": {}, "run": i}))
            page.write_text(f"<html>run {i}</html>")
            records.append_index(ctx, {
                "run_id": run_id, "runbook": "bench", "status": "ok", "trigger": "human",
                "started": "2026-11-24T10:00:00Z", "ended": "2026-11-24T10:00:01Z",
                "digest": "sha256:" + "a" * 64, "record": str(ipynb.relative_to(base)),
                "html": str(page.relative_to(base)),
                "sha256": {"ipynb": records.sha256_file(ipynb),
                           "html": records.sha256_file(page)}}, store)
    finally:
        store.close()


def _check() -> int:
    from reifier.adapters import records
    from reifier.adapters.settings import load_context

    found = records.check(load_context())
    if found.problems:
        raise SystemExit(f"verification failed: {found.problems[0]}")
    return len(found.runs)


def main() -> dict[str, Any]:
    """Time appends and verification; print ms per run and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="index lines to sign and verify")
    args = parser.parse_args()
    n = args.runs
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        home, ws = Path(tmp) / "home", Path(tmp) / "ws"
        home.mkdir()
        ws.mkdir()
        os.environ.update(REIFIER_HOME=str(home), REIFIER_WORKSPACE=str(ws))
        start = time.perf_counter()
        _fill(1)  # the first append creates the host key (ssh-keygen -t ed25519)
        first = time.perf_counter() - start
        start = time.perf_counter()
        if n > 1:
            _fill(n - 1)
        append = (time.perf_counter() - start) / max(n - 1, 1)
        checks = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            assert _check() == n
            checks.append(time.perf_counter() - start)
        verify = statistics.median(checks) / n
        cli = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "reifier", "records", "--verify"],
                           check=True, capture_output=True, cwd=ROOT)
            cli.append(time.perf_counter() - start)
    figures = {"runs": n, "first_append_ms": first * 1000, "append_ms_per_run": append * 1000,
               "verify_ms_per_run": verify * 1000,
               "cli_verify_s": statistics.median(cli),
               "cli_verify_ms_per_run": statistics.median(cli) / n * 1000}
    print(f"runs: {n}")
    print(f"first append (creates the host key): {figures['first_append_ms']:.1f} ms")
    print(f"append (hash + ssh-keygen -Y sign + anchor): {append * 1000:.1f} ms per run")
    print(f"verification (chain, file hashes, ssh-keygen -Y verify, anchor): "
          f"{verify * 1000:.1f} ms per run")
    print(f"reifier records --verify, whole process: {figures['cli_verify_s']:.2f} s "
          f"({figures['cli_verify_ms_per_run']:.1f} ms per run)")
    return figures


if __name__ == "__main__":
    main()
