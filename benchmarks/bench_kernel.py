"""The reifier-bash kernel: start-up time and per-cell overhead against plain bash.

* start: KernelManager.start_kernel → kernel_info reply (the kernel is ready),
  and → the first execute reply (guard imported and primed).
* per cell: N cells of ``true`` / ``echo x`` (N = 1, 10, 100) run one by one
  the way nbclient does (execute_request, reply, IOPub idle), against
  ``bash script.sh`` holding the same N commands; overhead = difference / N.
  The python3 (ipykernel) kernel running ``pass`` shows the protocol's floor.

Targets: ready in < 1 s; overhead < 20 ms per cell.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, median, report

STARTS = 5
SIZES = (1, 10, 100)
COMMANDS = ("true", "echo x")
REPEATS = 3


def _manager(name: str) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager(kernel_dirs=[str(ROOT / "kernels")]) if name == "reifier-bash" else None
    return KernelManager(kernel_name=name, **({"kernel_spec_manager": ksm} if ksm else {}))


def _run_cell(kc: Any, code: str) -> None:
    msg_id = kc.execute(code)
    while True:  # IOPub until idle, as nbclient does
        msg = kc.get_iopub_msg(timeout=60)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:  # a stale kernel_info_reply
        reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]


def time_start() -> dict[str, float]:
    """Median seconds from start_kernel to ready, and to the first execute reply."""
    ready, first = [], []
    for _ in range(STARTS):
        km = _manager("reifier-bash")
        t0 = time.perf_counter()
        km.start_kernel(env={**os.environ, "PYTHONWARNINGS": "ignore"})
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        ready.append(time.perf_counter() - t0)
        _run_cell(kc, "true")
        first.append(time.perf_counter() - t0)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"ready_s_median": round(median(ready), 3),
            "first_reply_s_median": round(median(first), 3)}


def time_cells(name: str, code: str, sizes: tuple[int, ...]) -> dict[int, float]:
    """Best-of-REPEATS seconds to run N cells of ``code`` on a warm kernel ``name``."""
    km = _manager(name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    _run_cell(kc, code)  # warm-up: imports, guard
    out = {}
    try:
        for n in sizes:
            best = float("inf")
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                for _ in range(n):
                    _run_cell(kc, code)
                best = min(best, time.perf_counter() - t0)
            out[n] = best
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return out


def time_bash(code: str, sizes: tuple[int, ...]) -> dict[int, float]:
    """Best-of-REPEATS seconds for ``bash script.sh`` holding N lines of ``code``."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            script = Path(tmp) / f"s{n}.sh"
            script.write_text((code + "\n") * n)
            best = float("inf")
            for _ in range(REPEATS * 3):
                t0 = time.perf_counter()
                subprocess.run(["bash", str(script)], check=True, capture_output=True)
                best = min(best, time.perf_counter() - t0)
            out[n] = best
    return out


def main() -> dict[str, object]:
    """Measure start-up and per-cell overhead; print and return the figures."""
    figures: dict[str, object] = dict(time_start())
    for code in COMMANDS:
        kernel = time_cells("reifier-bash", code, SIZES)
        bash = time_bash(code, SIZES)
        for n in SIZES:
            key = f"{code.replace(' ', '_')}_x{n}"
            figures[f"{key}_kernel_ms"] = round(kernel[n] * 1000, 1)
            figures[f"{key}_bash_ms"] = round(bash[n] * 1000, 1)
            figures[f"{key}_overhead_ms_per_cell"] = round((kernel[n] - bash[n]) / n * 1000, 2)
    floor = time_cells("python3", "pass", (100,))
    figures["ipykernel_python_pass_x100_ms_per_cell"] = round(floor[100] / 100 * 1000, 2)
    figures["targets"] = {"ready_s": 1.0, "overhead_ms_per_cell": 20.0}
    return report("kernel", figures)


if __name__ == "__main__":
    main()
