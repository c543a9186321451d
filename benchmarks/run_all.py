"""Run every benchmark of the project; write benchmarks/results.md and results.json.

Usage: .venv/bin/python benchmarks/run_all.py [NAME ...]
Each benchmark module has ``main() -> dict`` and prints its own figures; this
script adds a description of the machine and one Markdown table per benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_cli", "bench_hook", "bench_import", "bench_watch", "bench_draft", "bench_records",
              "bench_kernel", "bench_run", "bench_approval", "bench_match", "eval_match", "eval_loghub",
              "bench_patrol", "bench_webhook", "bench_guard")


def machine() -> dict[str, Any]:
    """Describe the machine the figures were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in
                           Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name"))
        info["mem_gib"] = round(int(next(line.split()[1] for line in
                                         Path("/proc/meminfo").read_text().splitlines()
                                         if line.startswith("MemTotal"))) / 2**20, 1)
        info["load_before"] = os.getloadavg()[0]
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                        capture_output=True, text=True).stdout.strip()
    except (OSError, StopIteration):
        pass
    return info


def load(name: str) -> Any:
    """Import a benchmark module from this directory by name."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Flatten nested figures into (dotted key, value) rows."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in flat(f"{prefix}.{k}" if prefix else k, v)]
    return [(prefix, value)]


def main(names: list[str]) -> int:
    """Run the named benchmarks (all by default) and write the results files."""
    results: dict[str, Any] = {"machine": machine(), "benchmarks": {}}
    failed = 0
    for name in names or BENCHMARKS:
        if not (HERE / f"{name}.py").exists():
            results["benchmarks"][name] = {"error": "missing"}
            continue
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        sys.argv = [name]
        try:
            figures = load(name).main()
        except BaseException as exc:  # a benchmark that breaks is reported, not hidden
            traceback.print_exc()
            figures = {"error": f"{type(exc).__name__}: {exc}"}
            failed += 1
        results["benchmarks"][name] = {"figures": figures,
                                       "seconds": round(time.perf_counter() - t0, 1)}
    (HERE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=str))
    lines = ["# Benchmark results", "", "Produced by `.venv/bin/python benchmarks/run_all.py`.", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results["machine"].items()]
    for name, data in results["benchmarks"].items():
        lines += ["", f"## {name}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in flat("", data.get("figures", data))]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'results.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
