"""Measure the pattern matcher's precision and recall on the labeled log set.

Each template's example line (``role: example`` in ``tests/data/logeval/eval.jsonl``)
is one runbook's symptom; every other line is matched against the index of all of
them, and the top match (or none) is compared with the line's label:

* true positive: the top match is the labeled template;
* false positive: something matched that is not the label (a near miss, or another
  template's line);
* false negative: a labeled line whose template is not the top match.

Usage: ``python benchmarks/eval_match.py [--failures]``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from reifier.core.match import DEFAULT_THRESHOLD, PatternIndex

EVAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "logeval" / "eval.jsonl"
THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
TARGET_PRECISION, TARGET_RECALL = 0.98, 0.95


def load(path: Path = EVAL) -> list[dict[str, Any]]:
    """Read the evaluation rows."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_index(rows: list[dict[str, Any]]) -> PatternIndex:
    """Index every template's example line under its template id."""
    return PatternIndex((r["template_id"], r["line"]) for r in rows if r["role"] == "example")


def predict(index: PatternIndex, rows: list[dict[str, Any]], threshold: float) -> list[str | None]:
    """Return the top match's runbook id (or None) for every row."""
    out: list[str | None] = []
    for r in rows:
        found = index.match(r["line"], threshold=threshold, limit=1)
        out.append(found[0].runbook_id if found else None)
    return out


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def evaluate(threshold: float, rows: list[dict[str, Any]] | None = None,
             index: PatternIndex | None = None) -> dict[str, Any]:
    """Score the matcher at one threshold: precision/recall overall and per format."""
    rows = [r for r in (rows or load()) if r["role"] != "example"]
    index = index or build_index(load())
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    failures = []
    for r, got in zip(rows, predict(index, rows, threshold), strict=True):
        for key in (r["format"], "overall", f"split:{r.get('split', 'tuning')}"):
            c = counts[key]
            if got is not None and got == r["label"]:
                c[0] += 1
            else:
                c[1] += got is not None
                c[2] += r["label"] is not None
        if got != r["label"]:
            failures.append({"line": r["line"], "label": r["label"], "got": got})
    per = {k: {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "tp": tp, "fp": fp, "fn": fn}
           for k, (tp, fp, fn) in counts.items()}
    splits = {k.split(":", 1)[1]: per.pop(k) for k in list(per) if k.startswith("split:")}
    return {"threshold": threshold, "overall": per.pop("overall"), "per_format": per, "per_split": splits,
            "failures": failures}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print precision/recall per format at the default threshold and overall at several."""
    argv = sys.argv[1:] if argv is None else argv
    rows = load()
    index = build_index(rows)
    results = {t: evaluate(t, rows, index) for t in sorted({*THRESHOLDS, DEFAULT_THRESHOLD})}
    default = results[DEFAULT_THRESHOLD]
    n = sum(1 for r in rows if r["role"] != "example")
    print(f"{len(index)} templates, {n} lines; threshold {DEFAULT_THRESHOLD}")
    print(f"{'format':<14}{'precision':>10}{'recall':>8}{'tp':>6}{'fp':>5}{'fn':>5}")
    for name, m in sorted(default["per_format"].items()):
        print(f"{name:<14}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['tp']:>6}{m['fp']:>5}{m['fn']:>5}")
    for name, m in sorted(default["per_split"].items()):
        print(f"{'(' + name + ')':<14}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['tp']:>6}{m['fp']:>5}{m['fn']:>5}")
    print(f"{'threshold':<14}{'precision':>10}{'recall':>8}")
    for t, res in results.items():
        o = res["overall"]
        print(f"{t:<14}{o['precision']:>10.3f}{o['recall']:>8.3f}")
    if "--failures" in argv:
        for f in default["failures"]:
            print(f"label={f['label']} got={f['got']}: {f['line']}")
    # precision first (a match may auto-run a runbook), then recall, then the default
    meets = [r for r in results.values()
             if r["overall"]["precision"] >= TARGET_PRECISION and r["overall"]["recall"] >= TARGET_RECALL]
    best = max(meets or results.values(), key=lambda r: (
        r["overall"]["precision"], r["overall"]["recall"], -abs(r["threshold"] - DEFAULT_THRESHOLD)))
    summary = {
        "templates": len(index),
        "lines": n,
        "default_threshold": DEFAULT_THRESHOLD,
        "recommended_threshold": best["threshold"],
        "overall": {t: r["overall"] for t, r in results.items()},
        "per_format": default["per_format"],
        "per_split": default["per_split"],
    }
    print(f"recommended threshold: {best['threshold']}")
    return summary


if __name__ == "__main__":
    main()
