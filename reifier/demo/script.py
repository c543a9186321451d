"""What the demo's engineer types, and what the demo's alert says.

About fifteen commands: mostly ``ls``/``cat``/``cd`` noise, a few diagnostics,
the three key fix commands, then a verification — the seed's database lock-up,
played on a real local service.
"""

from __future__ import annotations

#: The incident session, typed into a real interactive bash with the hook.
SESSION: tuple[str, ...] = (
    "cd {home}",
    "ls",
    "ls -la",
    "cat README",
    "./appctl status",
    "tail -n 20 logs/app.log",
    "cd state",
    "ls",
    "cat app.lock",
    "cd ..",
    "./appctl stop",
    "rm state/app.lock",
    "./appctl start",
    "curl -fsS http://127.0.0.1:{port}/health",
    "ls",
)

#: The commands the draft's fix sequence must consist of (before parameter lifting).
KEY_FIXES = ("./appctl stop", "rm state/app.lock", "./appctl start")

README = """demo-app: a tiny HTTP service with a lock file.
appctl start|stop|status manages it; logs/app.log has its log.
"""


def alert_payload(port: int, summary: str, starts_at: str, fingerprint: str) -> dict[str, object]:
    """Return a real-shaped Alertmanager v4 webhook payload for the demo's outage."""
    labels = {"alertname": "DemoAppDown", "instance": f"127.0.0.1:{port}", "job": "demo-app",
              "severity": "critical"}
    annotations = {"summary": summary, "description": "demo-app fails its health check"}
    return {
        "receiver": "reifier",
        "status": "firing",
        "alerts": [{
            "status": "firing", "labels": labels, "annotations": annotations,
            "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0",
            "fingerprint": fingerprint,
        }],
        "groupLabels": {"alertname": "DemoAppDown"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="DemoAppDown"}',
        "truncatedAlerts": 0,
    }
