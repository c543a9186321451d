"""Benchmark the safety guard: commands judged per second over the NL2Bash corpus.

Every line of ../shared/corpora/nl2bash/commands.txt (12,607 real one-liners) is
judged once with a cold cache (parse, wrappers, code strings, every rule), then the
tldr-pages benign lines. Prints commands/s on one core and the share refused.

Usage: ``python benchmarks/bench_guard.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import report

from reifier.core import bashparse, guard

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def _judge(lines: list[str]) -> tuple[float, int]:
    guard.findings.cache_clear()
    bashparse.parse.cache_clear()
    start = time.perf_counter()
    refused = sum(1 for line in lines if not guard.evaluate(line).allowed)
    return time.perf_counter() - start, refused


def main() -> dict[str, object]:
    nl2bash = [ln for ln in (CORPORA / "nl2bash" / "commands.txt").read_text(
        encoding="utf-8").splitlines() if ln.strip()]
    tldr = [json.loads(ln)["cmd"] for ln in (CORPORA / "tldr" / "benign.jsonl").read_text(
        encoding="utf-8").splitlines() if ln.strip()]
    guard.evaluate("psql -c 'SELECT 1'")  # sqlglot's import is start-up, not per command
    seconds, refused = _judge(nl2bash)
    tldr_seconds, tldr_refused = _judge(tldr)
    return report("guard", {
        "nl2bash_commands": len(nl2bash),
        "nl2bash_commands_per_s": round(len(nl2bash) / seconds),
        "nl2bash_refused_share": round(refused / len(nl2bash), 4),
        "tldr_commands": len(tldr),
        "tldr_commands_per_s": round(len(tldr) / tldr_seconds),
        "tldr_refused_share": round(tldr_refused / len(tldr), 4),
    })


if __name__ == "__main__":
    figures = main()
    sys.exit(0 if int(str(figures["nl2bash_commands_per_s"])) >= 1000 else 1)
