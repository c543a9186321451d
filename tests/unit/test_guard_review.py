"""The guard on real commands: a committed, hand-labelled sample of its decisions.

tests/data/guard_review.jsonl holds 535 lines drawn (seeded) from the NL2Bash and
tldr-pages corpora in ../shared/corpora/: 220 picked by a broad "could destroy
something" filter (rm -r, dd, mkfs, kill, chmod -R, DROP, delete, prune, …) and
the rest at random. Each line is labelled by the policy in the README ("Safety
model and its limits" → what counts as destructive): ``destructive``, ``benign``,
or ``unreadable`` (code the guard cannot read statically, e.g. ``eval "$(…)"``,
``… | sh`` of generated text; refused as ``unresolvable`` unless the approver
allows it for the cell, and reported here apart from false alarms).
"""

from __future__ import annotations

import json
from pathlib import Path

from reifier.core.guard import UNRESOLVABLE, evaluate

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "guard_review.jsonl"


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def _refused_by_a_danger_rule(command: str) -> bool:
    verdict = evaluate(command)
    return any(f.rule != UNRESOLVABLE for f in verdict.blocking)


def test_labelled_sample_precision_recall_and_false_alarms() -> None:
    rows = _rows()
    assert len(rows) >= 500
    tp = fp = fn = tn = 0
    missed: list[str] = []
    alarms: list[str] = []
    for row in rows:
        if row["label"] == "unreadable":
            continue
        refused = _refused_by_a_danger_rule(row["command"])
        if row["label"] == "destructive":
            tp, fn = tp + refused, fn + (not refused)
            if not refused:
                missed.append(row["command"])
        else:
            fp, tn = fp + refused, tn + (not refused)
            if refused:
                alarms.append(row["command"])
    recall = tp / (tp + fn)
    precision = tp / (tp + fp)
    false_alarm = fp / (fp + tn)
    print(f"\nguard review: {len(rows)} lines, recall {recall:.3f}, precision {precision:.3f}, "
          f"false-alarm rate {false_alarm:.4f} (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    assert recall >= 0.99, missed
    assert false_alarm <= 0.01, alarms


def test_unreadable_lines_are_refused_as_unresolvable_and_benign_ones_mostly_not() -> None:
    rows = _rows()
    unreadable = [r["command"] for r in rows if r["label"] == "unreadable"]
    assert unreadable
    for command in unreadable:
        assert not evaluate(command).allowed, command
    benign = [r["command"] for r in rows if r["label"] == "benign"]
    unresolved = [c for c in benign if not evaluate(c).allowed]
    assert len(unresolved) / len(benign) <= 0.02, unresolved
