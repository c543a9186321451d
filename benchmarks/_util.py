"""Small helpers shared by the benchmark scripts (timing, memory, printing)."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def time_cmd(argv: Sequence[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Run a command ``runs`` times; return wall-clock seconds of each run."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(list(argv), env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return out


def pct(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) by nearest rank."""
    data = sorted(values)
    idx = min(len(data) - 1, max(0, round(q / 100 * len(data) + 0.5) - 1))
    return data[idx]


def median(values: Sequence[float]) -> float:
    """Return the median."""
    return statistics.median(values)


def maxrss_mb() -> float:
    """Return this process's peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, figures: dict[str, object]) -> dict[str, object]:
    """Print figures as JSON under a name and return them."""
    print(json.dumps({name: figures}, indent=2, sort_keys=True, default=str))
    sys.stdout.flush()
    return figures
