"""CLI start-up: `reifier --help` and `reifier sessions` against `python -c pass`.

Target: both under 300 ms on this machine (Jupyter imports stay lazy).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import FIXTURES, median, pct, report, time_cmd

RUNS = 15


def main() -> dict[str, object]:
    """Time the CLI's start-up and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "REIFIER_HOME": tmp, "REIFIER_WORKSPACE": tmp}
        cli = [sys.executable, "-m", "reifier"]
        time_cmd([*cli, "import", str(FIXTURES / "histories" / "db_lockup_bash_history")], 1, env)
        base = time_cmd([sys.executable, "-c", "pass"], RUNS, env)
        helps = time_cmd([*cli, "--help"], RUNS, env)
        sessions = time_cmd([*cli, "sessions"], RUNS, env)
    figures = {
        "python_start_ms_median": round(median(base) * 1000, 1),
        "help_ms_median": round(median(helps) * 1000, 1),
        "help_ms_p90": round(pct(helps, 90) * 1000, 1),
        "sessions_ms_median": round(median(sessions) * 1000, 1),
        "sessions_ms_p90": round(pct(sessions, 90) * 1000, 1),
        "target_ms": 300,
        "runs": RUNS,
    }
    return report("cli_start", figures)


if __name__ == "__main__":
    main()
