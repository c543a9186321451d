"""CLI start-up: `reifier --help`, `sessions`, and the notebook-touching commands.

Targets on this machine, whole-process medians: `--help` and `sessions` under
300 ms (Jupyter imports stay lazy); `status`, `check`, `match TEXT`,
`run --dry-run` and an error exit (`run nope.md`) under 500 ms (no jsonschema
format checkers or Jupyter contents managers on the CLI path).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import FIXTURES, ROOT, approval_keys, median, pct, report, time_cmd

RUNS = 15


def main() -> dict[str, object]:
    """Time the CLI's start-up and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "REIFIER_HOME": f"{tmp}/home", "REIFIER_WORKSPACE": tmp,
               **approval_keys(Path(tmp), Path(tmp))}
        cli = [sys.executable, "-m", "reifier"]
        time_cmd([*cli, "import", str(FIXTURES / "histories" / "db_lockup_bash_history")], 1, env)
        approved = Path(tmp) / "runbooks" / "approved"
        approved.mkdir(parents=True)
        for suffix in (".md", ".ipynb"):
            shutil.copy(ROOT / "runbooks" / "approved" / f"clear-stale-lock{suffix}", approved)
        book = str(approved / "clear-stale-lock.md")
        time_cmd([*cli, "approve", book, "--by", "bench"], 1, env)
        base = time_cmd([sys.executable, "-c", "pass"], RUNS, env)
        timed = {
            "help": time_cmd([*cli, "--help"], RUNS, env),
            "sessions": time_cmd([*cli, "sessions"], RUNS, env),
            "status": time_cmd([*cli, "status", book], RUNS, env),
            "check": time_cmd([*cli, "check", book], RUNS, env),
            "match_text": time_cmd([*cli, "match", "cannot start: lock file /x exists (pid 1)"],
                                   RUNS, env, check=False),
            "run_dry_run": time_cmd([*cli, "run", book, "--dry-run"], RUNS, env),
            "error_exit": time_cmd([*cli, "run", "nope.md"], RUNS, env, check=False),
        }
    figures: dict[str, object] = {"python_start_ms_median": round(median(base) * 1000, 1)}
    for name, values in timed.items():
        figures[f"{name}_ms_median"] = round(median(values) * 1000, 1)
        figures[f"{name}_ms_p90"] = round(pct(values, 90) * 1000, 1)
    figures.update(target_start_ms=300, target_notebook_ms=500, runs=RUNS)
    return report("cli_start", figures)


if __name__ == "__main__":
    main()
