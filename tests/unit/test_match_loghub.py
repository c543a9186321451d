"""The matcher on real labelled logs (Loghub, read from ../shared/corpora; not copied here).

One example line per template (first line of each template seen at least five
times), every other line of the system scored; see benchmarks/eval_loghub.py.
The floors are the figures reached when this test was last tightened, less a
small margin: a change to masking or scoring must not lower them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "loghub"

OVERALL_PRECISION, OVERALL_RECALL = 0.995, 0.972
SYSTEM_PRECISION = 0.97

pytestmark = pytest.mark.skipif(not list(CORPUS.glob("*_2k.log_structured.csv")),
                                reason="Loghub corpus not present")


@pytest.fixture(scope="module")
def evalmod() -> ModuleType:
    return load_benchmark("eval_loghub")


@pytest.fixture(scope="module")
def result(evalmod: ModuleType) -> dict[str, Any]:
    out: dict[str, Any] = evalmod.evaluate(baseline=False, corpus=CORPUS)
    return out


def test_protocol(evalmod: ModuleType) -> None:
    names = evalmod.systems(CORPUS)
    assert len(names) >= 8
    rows = evalmod.load("HealthApp", CORPUS)
    assert len(rows) == 2000
    examples, scored = evalmod.split(rows)
    assert len(examples) + len(scored) == len(rows)
    # an example is the first line of its template and is not scored again
    first: dict[str, str] = {}
    for content, event in rows:
        first.setdefault(event, content)
    assert all(first[event] == line for event, line in examples.items())
    # lines of rare templates have no runbook: any match for them is a false alarm
    rare = {e for e, n in Counter(e for _, e in rows).items() if n < evalmod.MIN_SUPPORT}
    assert {c for c, label in scored if label is None} == {c for c, e in rows if e in rare}


def test_overall_does_not_regress(result: dict[str, Any]) -> None:
    overall = result["overall"]
    sample = [f for f in result["failures"] if f["got"] is not None][:5]
    assert overall["precision"] >= OVERALL_PRECISION, sample
    assert overall["recall"] >= OVERALL_RECALL, result["failures"][:5]


def test_every_system_precise(result: dict[str, Any]) -> None:
    low = {name: round(m["precision"], 3) for name, m in result["per_system"].items()
           if m["precision"] < SYSTEM_PRECISION}
    assert not low


def test_baseline_scorer_finds_near_duplicates(evalmod: ModuleType) -> None:
    name, ratio = evalmod._baseline_scorer()
    assert "ratio" in name
    assert ratio("Connection refused from 10.0.0.1", "Connection refused from 10.0.0.2") >= 0.8
    assert ratio("Connection refused", "Disk quota exceeded for user bob") < 0.8
