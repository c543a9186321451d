"""Decide, per match, whether a runbook may run by itself or is only suggested.

A runbook runs alone only when every condition holds; the first that fails is
the recorded reason, so the reason names the real cause: a runbook that is not
``autonomy: auto`` (or was demoted) says so, whatever its cool-down.
Rules (``[autonomy]`` in ``reifier.toml``):

1. its metadata says ``autonomy: auto`` and it was not demoted by the circuit
   breaker (a failed autonomous run demotes it to ``suggest``);
2. the match score is at least ``min_score``;
3. it has at least ``min_successes`` successful runs, and none of the last
   ``window`` runs failed;
4. no run of it is in progress, and the last one ended ``cooldown_s`` ago.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reifier.core.config import AutonomyPolicy

SUCCESS = frozenset({"succeeded", "ok"})
FAILURE = frozenset({"failed", "error", "timeout", "interrupted", "refused"})


@dataclass(frozen=True)
class Decision:
    """What to do about one match: ``run``, ``suggest`` or ``skip``, and why."""

    action: str
    runbook_id: str
    score: float
    reason: str


def decide(
    runbook: Mapping[str, Any],
    score: float,
    history: Sequence[Mapping[str, Any]],
    policy: AutonomyPolicy,
    *,
    now: float,
    running: bool,
) -> Decision:
    """Apply the autonomy policy to one matched runbook."""
    rid = str(runbook.get("id", ""))

    def out(action: str, reason: str) -> Decision:
        return Decision(action, rid, score, reason)

    if runbook.get("status") != "approved":
        return out("skip", f"runbook is {runbook.get('status', 'unknown')}, not approved")
    if running:
        return out("skip", "a run of this runbook is in progress")
    if runbook.get("autonomy") != "auto":
        return out("suggest", "suggest only: autonomy is suggest")
    if runbook.get("demoted"):
        return out(
            "suggest",
            f"demoted to suggest after a failed autonomous run ({runbook.get('demoted')})",
        )
    last_end = max((float(h["ended_ts"]) for h in history if h.get("ended_ts")), default=None)
    if last_end is not None and now - last_end < policy.cooldown_s:
        return out(
            "suggest",
            f"cool-down: last run ended {now - last_end:.0f}s ago (< {policy.cooldown_s:.0f}s)",
        )
    if score < policy.min_score:
        return out("suggest", f"score {score:.2f} < min_score {policy.min_score:.2f}")
    done = [h for h in history if h.get("status") in SUCCESS | FAILURE]
    successes = sum(1 for h in done if h.get("status") in SUCCESS)
    if successes < policy.min_successes:
        return out("suggest", f"{successes} successful runs < {policy.min_successes} required")
    recent = done[-policy.window :]
    failed = [h for h in recent if h.get("status") in FAILURE]
    if failed:
        return out("suggest", f"{len(failed)} failure(s) in the last {len(recent)} runs")
    return out(
        "run",
        f"auto: score {score:.2f}, {successes} successful runs, "
        f"no failure in the last {len(recent)}",
    )
