"""The matcher meets its precision/recall targets on the labeled log set (data-driven)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from reifier.core.match import DEFAULT_THRESHOLD
from tests.conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def evalmod() -> ModuleType:
    return load_benchmark("eval_match")


def test_eval_set_shape(evalmod: ModuleType) -> None:
    rows = evalmod.load()
    tuning = [r for r in rows if r["split"] == "tuning"]
    templates_per_format = Counter(r["format"] for r in tuning if r["role"] == "example")
    assert len(templates_per_format) >= 8
    assert min(templates_per_format.values()) >= 8
    positives: defaultdict[str, int] = defaultdict(int)
    for r in rows:
        if r["role"] == "positive":
            positives[r["template_id"]] += 1
    examples = {r["template_id"] for r in rows if r["role"] == "example"}
    assert examples == set(positives) and min(positives.values()) >= 5
    assert sum(r["role"] == "negative" for r in rows) >= 100
    assert all(r["label"] is None for r in rows if r["role"] == "negative")


def test_targets_met_at_default_threshold(evalmod: ModuleType) -> None:
    result = evalmod.evaluate(DEFAULT_THRESHOLD)
    overall = result["overall"]
    assert overall["precision"] >= evalmod.TARGET_PRECISION, result["failures"][:10]
    assert overall["recall"] >= evalmod.TARGET_RECALL, result["failures"][:10]
    # formats never tuned against must still be precise
    assert result["per_split"]["holdout"]["precision"] >= evalmod.TARGET_PRECISION


def test_lower_thresholds_trade_precision_for_recall(evalmod: ModuleType) -> None:
    low, high = evalmod.evaluate(0.5)["overall"], evalmod.evaluate(0.9)["overall"]
    assert low["recall"] >= high["recall"]
    assert low["precision"] <= high["precision"]
