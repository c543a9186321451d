"""Scribe speed: a 100-command session becomes a draft pair (interpreter start excluded).

Target: under 200 ms per draft. Imports (jupytext, nbformat) are paid once by a
warm-up draft, as in a long-running `reifier watch`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, median, pct, report

RUNS = 10
SIZE = 100


def _session_events(n: int, base: float, shell: str) -> list[object]:
    from reifier.core.models import CommandEvent

    incidents = sorted((ROOT / "tests" / "data" / "incidents").glob("*.json"))
    cmds = [c for p in incidents for c in json.loads(p.read_text())["commands"]]
    return [
        CommandEvent(command=cmds[i % len(cmds)]["cmd"] + ("" if i < len(cmds) else f" # {i}"),
                     started=base + i * 2.0, shell_session=shell, host="bench", user="bench",
                     cwd=cmds[i % len(cmds)].get("cwd"), exit_code=cmds[i % len(cmds)].get("exit"),
                     seq=i)
        for i in range(n)
    ]


def main() -> dict[str, object]:
    """Time draft_session on fresh 100-command sessions."""
    from reifier.adapters.ingest import ingest
    from reifier.adapters.scribe import draft_session
    from reifier.adapters.settings import load_context
    from reifier.adapters.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["REIFIER_HOME"] = tmp
        ctx = load_context(tmp)
        store = Store(ctx.db_path)
        base = time.time() - 100_000
        for k in range(RUNS + 1):
            ingest(ctx, store, _session_events(SIZE, base + k * 10_000, f"shell-{k}"))  # type: ignore[arg-type]
        ids = [s.id for s in store.sessions()]
        assert len(ids) == RUNS + 1
        draft_session(ctx, store, ids[0])  # warm-up: imports
        times = []
        for sid in ids[1:]:
            t0 = time.perf_counter()
            result = draft_session(ctx, store, sid)
            times.append(time.perf_counter() - t0)
            assert result.created
        store.close()
    return report("draft", {
        "commands_per_session": SIZE,
        "draft_ms_median": round(median(times) * 1000, 1),
        "draft_ms_p90": round(pct(times, 90) * 1000, 1),
        "target_ms": 200,
        "runs": RUNS,
    })


if __name__ == "__main__":
    main()
