"""Benchmark the pattern matcher: 1,000 runbooks' patterns against 200,000 log lines.

Patterns: the labeled set's examples (tests/data/logeval) plus variants of them with
one or two words swapped or a word appended, so many patterns share most words.
Lines (written to a temporary file and read back): 70% lines of the labeled set
with fresh numbers and hex ids, 25% lines of 300 "background" templates that match nothing, 5%
unique random lines (the slow path). Prints lines/s on one core, the share of lines
matched, and peak memory (tracemalloc during a second run; ru_maxrss at the end).

Then the same through the CLI: a workspace with the patterns as symptoms of approved
runbooks, and ``reifier match --file`` (text and ``--json`` output to /dev/null) timed as
a whole process, start-up and graph sync included, with its peak RSS.

Usage: ``python benchmarks/bench_match.py [--lines N] [--runbooks N] [--no-cli]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import approval_keys, run_measured

from reifier.core.match import DEFAULT_THRESHOLD, PatternIndex
from reifier.core.patterns import clear_caches

EVAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "logeval" / "eval.jsonl"
WORDS = ["alpha", "bravo", "cache", "daemon", "engine", "filter", "gateway", "handler", "index", "journal", "kernel", "ledger", "mirror", "network", "object", "parser", "queue", "replica", "scheduler", "shard", "socket", "token", "upstream", "vault", "worker", "backup", "cluster", "config", "driver", "export", "frontend", "policy", "quota", "router", "session", "storage", "sync"]


# numbers to refresh: not inside words ("ssh2", "AH00037") nor HTTP status codes
_NUMBER = re.compile(r'(?<![A-Za-z0-9])(?<!" )\d+(?![A-Za-z0-9])')


# hex ids and hashes (and so UUIDs, pod suffixes made of hex) get fresh values too
_HEX = re.compile(r"(?<![A-Za-z0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,}(?![A-Za-z0-9])")


def _mutate(rng: random.Random, line: str) -> str:
    words = [m for m in re.finditer(r"(?<![\w./-])[A-Za-z]{4,}(?![\w./-])", line)]
    if not words or rng.random() < 0.3:
        return f"{line} ({rng.choice(WORDS)}-{rng.choice(WORDS)})"
    out = line
    for m in sorted(rng.sample(words, min(len(words), rng.choice((1, 2)))), key=lambda m: -m.start()):
        out = out[: m.start()] + rng.choice(WORDS) + out[m.end() :]
    return out


def make_patterns(rows: list[dict[str, Any]], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Return ``count`` (runbook id, pattern) pairs: the examples, then variants of them."""
    examples = [r["line"] for r in rows if r["role"] == "example"]
    out = [(f"rb-{i:04}", ex) for i, ex in enumerate(examples)]
    while len(out) < count:
        out.append((f"rb-{len(out):04}", _mutate(rng, rng.choice(examples))))
    return out[:count]


def make_lines(rows: list[dict[str, Any]], count: int, rng: random.Random) -> list[str]:
    """Return ``count`` lines: labeled-set lines with fresh digits, background and random lines."""
    known = [r["line"] for r in rows if r["role"] != "example"]
    background = []
    for _ in range(300):  # templates of other software: words with a number at a fixed place
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        words.insert(rng.randrange(len(words)), "{}")
        background.append(" ".join(words))
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.70:
            # fresh numbers, IPs, ports, ids; words with digits ("ssh2", "AH00037") stay
            line = _NUMBER.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group()), rng.choice(known))
            line = _HEX.sub(lambda m: "".join(rng.choice("0123456789abcdef") for _ in m.group()), line)
        elif roll < 0.95:
            text = rng.choice(background).format(rng.randint(0, 10**6))
            line = f"2024-01-0{rng.randint(1, 9)} 10:{rng.randint(10, 59)}:00 INFO {text} id={rng.randint(1, 10**9)}"
        else:
            line = " ".join(rng.choice(WORDS) + str(rng.randint(0, 99)) for _ in range(rng.randint(5, 15)))
        out.append(line)
    return out


def run(patterns: list[tuple[str, str]], path: Path) -> dict[str, float]:
    """Build an index and match every line of ``path``; return timings and counts."""
    t0 = time.perf_counter()
    index = PatternIndex(patterns)
    t1, c1 = time.perf_counter(), time.process_time()
    lines = matched = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            lines += 1
            if index.match(line, threshold=DEFAULT_THRESHOLD, limit=5):
                matched += 1
    # CPU time as well as wall time: the single-threaded matcher shares a busy machine
    return {"build_s": t1 - t0, "wall_s": time.perf_counter() - t1, "cpu_s": time.process_time() - c1,
            "lines": lines, "matched": matched}


def run_cli(patterns: list[tuple[str, str]], path: Path, tmp: Path) -> dict[str, float]:
    """Time ``reifier match --file`` over ``path`` against approved runbooks of ``patterns``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from reifier.adapters.approve import approve_paths
    from reifier.adapters.settings import load_context
    from tests.functional.runbook_factory import make_runbook

    ws, home = tmp / "ws", tmp / "home"
    os.environ.update(REIFIER_HOME=str(home), REIFIER_WORKSPACE=str(ws), **approval_keys(ws, tmp))
    env = dict(os.environ)
    paths = [make_runbook(ws, rid, symptoms=[text]) for rid, text in patterns]
    approve_paths(load_context(str(ws)), paths, "bench")
    figures: dict[str, float] = {}
    peak = 0.0
    for label, extra in (("sync", []), ("text", []), ("json", ["--json"])):
        # the first run indexes the workspace (an empty input): timed on its own
        source = os.devnull if label == "sync" else str(path)
        with open(os.devnull, "w") as sink:
            got = run_measured([sys.executable, "-m", "reifier", "match", "--file", source, *extra],
                               env, sink)
        if got["exit"] not in (0, 1):
            raise SystemExit(f"reifier match --file exited {got['exit']}")
        figures[f"cli_{label}_wall_s"] = round(got["wall_s"], 3)
        figures[f"cli_{label}_cpu_s"] = round(got["cpu_s"], 3)
        peak = max(peak, got["peak_mib"] if label != "sync" else 0.0)
    figures["cli_peak_rss_mib"] = round(peak, 1)
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runbooks", type=int, default=1_000)
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI measurement")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rng = random.Random(7)
    rows = [json.loads(x) for x in EVAL.read_text(encoding="utf-8").splitlines() if x.strip()]
    patterns = make_patterns(rows, args.runbooks, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.log"
        path.write_text("\n".join(make_lines(rows, args.lines, rng)) + "\n", encoding="utf-8")
        timed = run(patterns, path)
        clear_caches()  # so the traced run fills the memo tables again
        tracemalloc.start()
        run(patterns, path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cli = {} if args.no_cli else run_cli(patterns, path, Path(tmp))
    # ru_maxrss is KiB on Linux
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = int(timed["lines"])
    figures = {
        "runbooks": len(patterns),
        "lines": n,
        "matched_lines": int(timed["matched"]),
        "index_build_s": round(timed["build_s"], 3),
        "match_wall_s": round(timed["wall_s"], 3),
        "match_cpu_s": round(timed["cpu_s"], 3),
        "lines_per_s": round(n / timed["cpu_s"]),
        "lines_per_wall_s": round(n / timed["wall_s"]),
        "tracemalloc_peak_mib": round(peak / 2**20, 1),
        "ru_maxrss_mib": round(maxrss_mib, 1),
        **cli,
    }
    print(f"index: {figures['runbooks']} runbooks built in {timed['build_s']:.2f} s")
    print(f"match: {n} lines in {timed['cpu_s']:.2f} s CPU ({timed['wall_s']:.2f} s wall) = "
          f"{figures['lines_per_s']:,} lines/s on one core ({figures['lines_per_wall_s']:,} by wall clock); "
          f"{figures['matched_lines']} matched at threshold {DEFAULT_THRESHOLD}")
    print(f"memory: tracemalloc peak {figures['tracemalloc_peak_mib']} MiB, ru_maxrss {figures['ru_maxrss_mib']} MiB")
    for label in ("text", "json") if cli else ():
        cpu = cli[f"cli_{label}_cpu_s"]
        figures[f"cli_{label}_lines_per_s"] = round(n / cpu)
        print(f"cli: reifier match --file ({label} output): {n} lines in {cpu:.2f} s CPU "
              f"({cli[f'cli_{label}_wall_s']:.2f} s wall, start-up and sync included) = "
              f"{round(n / cpu):,} lines/s; peak RSS {cli['cli_peak_rss_mib']} MiB")
    if cli:
        print(f"cli: first run (indexes {len(patterns)} runbooks): {cli['cli_sync_wall_s']:.2f} s wall")
    return figures


if __name__ == "__main__":
    main()
