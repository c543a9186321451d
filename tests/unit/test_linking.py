"""Alerts link to sessions by evidence, never by time overlap alone (issue 14)."""

from __future__ import annotations

import pytest

from reifier.core.linking import evidence

DISK = ["df -h", "du -sh /var/log/* | sort -h", "rm /var/log/app/old.log.1"]
PROBE = ["curl -fsS http://localhost:8080/health", "systemctl restart checkout",
         "journalctl -u checkout -n 50"]


@pytest.mark.parametrize(("labels", "host", "commands", "why"), [
    ({"alertname": "ProbeFailed", "service": "checkout"}, "ops-1", PROBE, "service=checkout"),
    ({"alertname": "Down", "instance": "web-3.example.com:9100"}, "web-3", DISK, "same host"),
    ({"alertname": "PodCrash", "pod": "api-7d9f8c6b5d-x2k4p", "namespace": "payments"}, "ops",
     ["kubectl -n payments get pods", "kubectl -n payments rollout restart deploy/api"],
     "namespace=payments"),
])
def test_related_sessions_are_linked_with_their_evidence(
        labels: dict[str, str], host: str, commands: list[str], why: str) -> None:
    assert why in evidence(labels, {}, host=host, commands=commands)


def test_an_unrelated_session_during_a_firing_alert_is_not_linked() -> None:
    probe = {"alertname": "ProbeFailed", "service": "checkout", "instance": "web-3:9100",
             "severity": "page", "job": "node"}
    assert evidence(probe, {"summary": "checkout probe failing"}, host="ops-1",
                    commands=DISK) == ""


def test_the_alert_text_in_a_log_line_the_session_read_links_it() -> None:
    alert = {"alertname": "DiskFull"}
    notes = {"summary": "No space left on device"}
    lines = ["2026-12-03 10:00:01 app[42]: write failed: No space left on device"]
    assert "log line" in evidence(alert, notes, host="x", commands=DISK, log_lines=lines)
    assert evidence(alert, notes, host="x", commands=DISK) == ""
