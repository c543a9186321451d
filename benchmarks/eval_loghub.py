"""Measure the matcher on real labelled logs nobody on the project wrote (Loghub).

For each system in ``../shared/corpora/loghub/`` (``*_2k.log_structured.csv``:
``Content`` is the message, ``EventId`` its template), the first line of every
template that occurs at least ``MIN_SUPPORT`` times is one runbook's symptom;
every other line of the system is matched against the index of all of them and
the top match (or none) compared with the line's template:

* true positive: the top match is the line's template;
* false positive: something matched that is not the line's template (another
  template's example, or a line whose template has no runbook);
* false negative: a line whose template has a runbook and is not the top match.

The same lines are scored by a plain fuzzy string ratio as a baseline:
``rapidfuzz.fuzz.ratio >= 80`` if rapidfuzz is importable, else
``difflib.SequenceMatcher.ratio() >= 0.8`` (the same Indel-based ratio for
most strings), the best example by that ratio being the top match.

Usage: ``python benchmarks/eval_loghub.py [--failures] [--no-baseline] [SYSTEM ...]``.
"""

from __future__ import annotations

import csv
import difflib
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reifier.core.match import DEFAULT_THRESHOLD, PatternIndex

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "loghub"
MIN_SUPPORT = 5
BASELINE_RATIO = 0.8


def systems(corpus: Path = CORPUS) -> list[str]:
    """Return the names of the Loghub systems present (``Android``, ``BGL``, …)."""
    return sorted(p.name.split("_2k.")[0] for p in corpus.glob("*_2k.log_structured.csv"))


def load(system: str, corpus: Path = CORPUS) -> list[tuple[str, str]]:
    """Return ``(content, event id)`` for every line of one system, in file order."""
    path = corpus / f"{system}_2k.log_structured.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["Content"], row["EventId"]) for row in csv.DictReader(fh)]


def split(rows: Sequence[tuple[str, str]]) -> tuple[dict[str, str], list[tuple[str, str | None]]]:
    """Pick the example of each template seen ``MIN_SUPPORT`` times; label the other lines.

    Returns the examples (event id -> line) and the scored lines with their label
    (the event id, or None where the template has no example).
    """
    support = Counter(event for _, event in rows)
    examples: dict[str, str] = {}
    scored: list[tuple[str, str | None]] = []
    for content, event in rows:
        if support[event] >= MIN_SUPPORT and event not in examples:
            examples[event] = content
            continue
        scored.append((content, event if event in examples or support[event] >= MIN_SUPPORT else None))
    return examples, scored


def _baseline_scorer() -> tuple[str, Callable[[str, str], float]]:
    try:
        from rapidfuzz import fuzz  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        def ratio(a: str, b: str) -> float:
            sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
            if sm.real_quick_ratio() < BASELINE_RATIO or sm.quick_ratio() < BASELINE_RATIO:
                return 0.0  # upper bounds below the bar: not a candidate
            return sm.ratio()
        return "difflib ratio >= 0.8", ratio
    return "rapidfuzz ratio >= 80", lambda a, b: float(fuzz.ratio(a, b)) / 100.0


def _count(counts: list[int], got: str | None, label: str | None) -> None:
    if got is not None and got == label:
        counts[0] += 1
    else:
        counts[1] += got is not None
        counts[2] += label is not None


def _figures(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {"precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}


def evaluate(names: Sequence[str] | None = None, *, threshold: float = DEFAULT_THRESHOLD,
             baseline: bool = True, corpus: Path = CORPUS) -> dict[str, Any]:
    """Score the matcher (and the fuzzy baseline) per system and overall."""
    names = list(names or systems(corpus))
    label, scorer = _baseline_scorer()
    per: dict[str, dict[str, Any]] = {}
    base: dict[str, dict[str, Any]] = {}
    total, base_total = [0, 0, 0], [0, 0, 0]
    failures: list[dict[str, Any]] = []
    seconds = 0.0
    lines = 0
    for name in names:
        examples, scored = split(load(name, corpus))
        index = PatternIndex(examples.items())
        counts = [0, 0, 0]
        start = time.perf_counter()
        got_all = []
        for content, _ in scored:
            found = index.match(content, threshold=threshold, limit=1)
            got_all.append(found[0].runbook_id if found else None)
        elapsed = time.perf_counter() - start
        seconds += elapsed
        lines += len(scored)
        for (content, want), got in zip(scored, got_all, strict=True):
            _count(counts, got, want)
            _count(total, got, want)
            if got != want:
                failures.append({"system": name, "line": content, "label": want, "got": got,
                                 "label_example": examples.get(want or ""),
                                 "got_example": examples.get(got or "")})
        per[name] = {**_figures(*counts), "templates": len(examples), "lines": len(scored),
                     "lines_per_s": round(len(scored) / elapsed) if elapsed else 0}
        if baseline:
            bcounts = [0, 0, 0]
            items = list(examples.items())
            for content, want in scored:
                best, best_ratio = None, BASELINE_RATIO
                for event, example in items:
                    r = scorer(example, content)
                    if r >= best_ratio and (best is None or r > best_ratio):
                        best, best_ratio = event, r
                _count(bcounts, best, want)
                _count(base_total, best, want)
            base[name] = _figures(*bcounts)
    return {"threshold": threshold, "overall": {**_figures(*total), "lines": lines,
                                                "lines_per_s": round(lines / seconds) if seconds else 0},
            "per_system": per, "baseline": {"scorer": label, "overall": _figures(*base_total),
                                            "per_system": base} if baseline else None,
            "failures": failures}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print per-system and overall precision/recall, matcher and baseline."""
    argv = sys.argv[1:] if argv is None else argv
    names = [a for a in argv if not a.startswith("-")]
    result = evaluate(names or None, baseline="--no-baseline" not in argv)
    base = result["baseline"]
    print(f"Loghub, threshold {result['threshold']}; baseline: {base['scorer'] if base else 'skipped'}")
    print(f"{'system':<12}{'tmpl':>5}{'lines':>6}{'prec':>7}{'recall':>7}{'fp':>5}{'fn':>5}"
          f"{'lines/s':>9}{'base P':>8}{'base R':>8}")
    for name, m in result["per_system"].items():
        b = base["per_system"][name] if base else None
        tail = f"{b['precision']:>8.3f}{b['recall']:>8.3f}" if b else ""
        print(f"{name:<12}{m['templates']:>5}{m['lines']:>6}{m['precision']:>7.3f}{m['recall']:>7.3f}"
              f"{m['fp']:>5}{m['fn']:>5}{m['lines_per_s']:>9}{tail}")
    o = result["overall"]
    tail = f"{base['overall']['precision']:>8.3f}{base['overall']['recall']:>8.3f}" if base else ""
    print(f"{'overall':<12}{'':>5}{o['lines']:>6}{o['precision']:>7.3f}{o['recall']:>7.3f}"
          f"{o['fp']:>5}{o['fn']:>5}{o['lines_per_s']:>9}{tail}")
    if "--failures" in argv:
        for f in result["failures"]:
            print(f"[{f['system']}] label={f['label']} got={f['got']}\n  line: {f['line']}\n"
                  f"  want: {f['label_example']}\n  got:  {f['got_example']}")
    summary = {k: v for k, v in result.items() if k != "failures"}
    summary["failures"] = len(result["failures"])
    return summary


if __name__ == "__main__":
    main()
