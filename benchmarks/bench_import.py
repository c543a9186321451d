"""History import throughput: parsing alone, then the whole ``import_file``.

Builds a 1,000,000-line bash-timestamps history by repeating the shared fixture
histories (bash, zsh, plain) with timestamps shifted two hours per repetition,
then measures, each phase in a fresh child process so memory figures do not
mix: (a) ``formats.detect`` + parse, (b) ``reifier.adapters.ingest.import_file``
into an empty store (skipped with a note if that module is missing).
Lines/s come from untraced runs; tracemalloc peaks from a second, traced run
(tracemalloc slows Python down several times). Target: well over 100,000
lines/s for the whole import.

    python benchmarks/bench_import.py [--lines N] [--no-trace-import]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import FIXTURES, maxrss_mb, report

LINES = 1_000_000
BASE = 1_763_978_400
SHIFT = 7200  # two hours between repetitions: each one is a session of its own


def fixture_entries() -> list[tuple[int, str]]:
    """Return (seconds after BASE, command) for every fixture command, in order."""
    from reifier.core.history.registry import formats

    entries: list[tuple[int, str]] = []
    offset = 0
    for path in sorted((FIXTURES / "histories").iterdir()):
        data = path.read_bytes()
        result = formats.detect(data).parse(data, source="bench", shell_session="bench")
        first = next((e.started for e in result.events if e.started is not None), None)
        for i, ev in enumerate(result.events):
            rel = (
                int(ev.started - first) if ev.started is not None and first is not None else i * 10
            )
            entries.append((offset + rel, ev.command))
        offset = entries[-1][0] + 30
    return entries


def build_history(path: Path, lines: int) -> int:
    """Write a bash-timestamps history of at least ``lines`` lines; return its line count."""
    entries = fixture_entries()
    block_lines = sum(2 + cmd.count("\n") for _, cmd in entries)
    reps = -(-lines // block_lines)
    with path.open("w", encoding="utf-8") as fh:
        for rep in range(reps):
            start = BASE + rep * SHIFT
            fh.write("".join(f"#{start + rel}\n{cmd}\n" for rel, cmd in entries))
    return reps * block_lines


def phase_parse(path: Path, lines: int) -> dict[str, object]:
    """Time detect + parse of the file (bytes already in memory), then trace its peak."""
    from reifier.core.history.registry import formats

    data = path.read_bytes()
    best = float("inf")
    events = 0
    for _ in range(2):
        t0 = time.perf_counter()
        result = formats.detect(data).parse(data, source="bench", shell_session="bench")
        best = min(best, time.perf_counter() - t0)
        events = len(result.events)
        del result
    rss = maxrss_mb()  # before tracing: tracemalloc's own bookkeeping inflates RSS
    tracemalloc.start()
    result = formats.detect(data).parse(data, source="bench", shell_session="bench")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "seconds": round(best, 3),
        "lines_per_s": round(lines / best),
        "events": events,
        "events_per_s": round(events / best),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "ru_maxrss_mb": round(rss, 1),
        "skipped": len(result.skipped),
    }


def phase_import(path: Path, lines: int, trace: bool) -> dict[str, object]:
    """Run the full import into a fresh REIFIER_HOME; return timing and memory."""
    from reifier.adapters.ingest import import_file
    from reifier.adapters.settings import load_context

    with tempfile.TemporaryDirectory() as tmp:
        ctx = load_context(workspace=tmp, env={"REIFIER_HOME": tmp, "REIFIER_WORKSPACE": tmp})
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        rep = import_file(ctx, path, fmt=None)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        db_mb = (ctx.db_path.stat().st_size / 2**20) if ctx.db_path.exists() else 0.0
    figures: dict[str, object] = {
        "seconds": round(seconds, 3),
        "ru_maxrss_mb": round(maxrss_mb(), 1),
    }
    if trace:
        figures["tracemalloc_peak_mb"] = round(peak / 2**20, 1)
    else:
        figures.update(
            lines_per_s=round(lines / seconds),
            read=rep.read,
            added=rep.added,
            sessions_closed=len(rep.closed_sessions),
            db_mb=round(db_mb, 1),
        )
    return figures


def _child(phase: str, path: Path, lines: int) -> dict[str, object]:
    """Run one phase in a fresh interpreter and return its figures."""
    argv = [sys.executable, __file__, "--phase", phase, "--file", str(path), "--lines", str(lines)]
    out = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ), check=False)
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"phase {phase} exited {out.returncode}: {tail[0]}"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(lines: int = LINES, trace_import: bool = True) -> dict[str, object]:
    """Build the history, measure parse and import, print and return the figures."""
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big_bash_history"
        t0 = time.perf_counter()
        total = build_history(path, lines)
        figures["history"] = {
            "lines": total,
            "mb": round(path.stat().st_size / 2**20, 1),
            "build_s": round(time.perf_counter() - t0, 2),
        }
        parsed = _child("parse", path, total)
        figures["parse"] = parsed
        if importlib.util.find_spec("reifier.adapters.ingest") is None:
            figures["import"] = "skipped: reifier.adapters.ingest does not exist yet"
        else:
            imp = _child("import", path, total)
            if trace_import:
                imp["traced"] = _child("import-traced", path, total)
            figures["import"] = imp
            if "error" not in imp and "error" not in parsed:
                share = float(str(parsed["seconds"])) / float(str(imp["seconds"]))
                figures["parse_share_of_import"] = round(share, 2)
    figures["target_lines_per_s"] = 100_000
    return report("import", figures)


def _cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=LINES)
    ap.add_argument(
        "--no-trace-import", action="store_true", help="skip the slow traced import run"
    )
    ap.add_argument("--phase", choices=["parse", "import", "import-traced"], help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "parse":
        print(json.dumps(phase_parse(args.file, args.lines)))
    elif args.phase:
        print(json.dumps(phase_import(args.file, args.lines, trace=args.phase == "import-traced")))
    else:
        main(args.lines, trace_import=not args.no_trace_import)


if __name__ == "__main__":
    _cli()
