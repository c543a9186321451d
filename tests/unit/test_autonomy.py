"""The autonomy policy: when a runbook may run alone, and the reason when not."""

from __future__ import annotations

import pytest

from reifier.core.autonomy import decide
from reifier.core.config import AutonomyPolicy

POLICY = AutonomyPolicy(min_score=0.9, min_successes=3, window=5, cooldown_s=300)
AUTO = {"id": "rb", "status": "approved", "autonomy": "auto"}
OK3 = [{"status": "ok", "ended_ts": 0.0}] * 3


def test_earned_autonomy_runs() -> None:
    d = decide(AUTO, 0.95, OK3, POLICY, now=10_000, running=False)
    assert d.action == "run" and "3 successful" in d.reason


@pytest.mark.parametrize(
    ("runbook", "score", "history", "running", "action", "reason"),
    [
        ({**AUTO, "status": "stale"}, 0.99, OK3, False, "skip", "stale"),
        (AUTO, 0.99, OK3, True, "skip", "in progress"),
        ({**AUTO, "autonomy": "suggest"}, 0.99, OK3, False, "suggest", "autonomy is suggest"),
        ({**AUTO, "demoted": "run x failed"}, 0.99, OK3, False, "suggest", "demoted"),
        (AUTO, 0.85, OK3, False, "suggest", "min_score"),
        (AUTO, 0.99, OK3[:2], False, "suggest", "2 successful runs < 3"),
        (AUTO, 0.99, [*OK3, {"status": "failed", "ended_ts": 0.0}, *OK3], False, "suggest",
         "failure(s) in the last 5"),
        (AUTO, 0.99, [*OK3[:2], {"status": "ok", "ended_ts": 9_900.0}], False, "suggest",
         "cool-down"),
        # in its cool-down too, but the real cause is that it only suggests (or was demoted)
        ({**AUTO, "autonomy": "suggest"}, 0.99, [{"status": "ok", "ended_ts": 9_990.0}], False,
         "suggest", "suggest only"),
        ({**AUTO, "demoted": "run x failed"}, 0.99, [{"status": "failed", "ended_ts": 9_990.0}],
         False, "suggest", "demoted"),
    ],
)
def test_every_refusal_has_its_reason(runbook: dict[str, object], score: float,
                                      history: list[dict[str, object]], running: bool,
                                      action: str, reason: str) -> None:
    d = decide(runbook, score, history, POLICY, now=10_000, running=running)
    assert d.action == action
    assert reason in d.reason


def test_old_failure_outside_window_is_forgiven() -> None:
    history = [{"status": "failed", "ended_ts": 0.0}] + [{"status": "ok", "ended_ts": 0.0}] * 5
    assert decide(AUTO, 0.99, history, POLICY, now=10_000, running=False).action == "run"
