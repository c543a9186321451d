"""Small helpers shared by the benchmark scripts (timing, memory, printing)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def time_cmd(argv: Sequence[str], runs: int, env: dict[str, str] | None = None,
             check: bool = True) -> list[float]:
    """Run a command ``runs`` times; return wall-clock seconds of each run.

    ``check=False`` times error paths, whose non-zero exit is the point.
    """
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(list(argv), env=env, check=check, capture_output=True)
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


def run_measured(argv: Sequence[str], env: dict[str, str], stdout: Any) -> dict[str, float]:
    """Run a command; return its wall and CPU seconds, exit code and its own peak RSS.

    The peak is the child's VmHWM, polled: ru_maxrss of a child counts the memory of
    the parent it was forked from, which is not the child's.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    status = Path(f"/proc/{proc.pid}/status")
    peak_kib = 0
    while True:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(code)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": usage.ru_utime + usage.ru_stime,
            "exit": proc.returncode, "peak_mib": peak_kib / 1024}


def report(name: str, figures: dict[str, object]) -> dict[str, object]:
    """Print figures as JSON under a name and return them."""
    print(json.dumps({name: figures}, indent=2, sort_keys=True, default=str))
    sys.stdout.flush()
    return figures


def approval_keys(ws: Path, tmp: Path) -> dict[str, str]:
    """Make two SSH keys, trust them in ``ws``'s allowed_signers, return the env to sign with.

    Approvals are OpenSSH signatures: a benchmark that approves runbooks needs a key,
    as a user does (the second one signs the autonomy: auto runbooks' second approval).
    """
    sys.path.insert(0, str(ROOT))
    from reifier.core.approval import PERSON_NAMESPACES

    lines = []
    keys = []
    for name in ("bench-1", "bench-2"):
        key = tmp / "keys" / name
        key.parent.mkdir(parents=True, exist_ok=True)
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True)
        keys.append(key)
        pub = key.with_name(name + ".pub").read_text().strip()
        lines.append(f'* namespaces="{PERSON_NAMESPACES}" {pub}')
    signers = ws / "runbooks" / "allowed_signers"
    signers.parent.mkdir(parents=True, exist_ok=True)
    signers.write_text("\n".join(lines) + "\n")
    return {"REIFIER_SIGNING_KEY": str(keys[0]), "REIFIER_TEST_SECOND_KEY": str(keys[1])}
