"""`reifier serve` logs every request at info level with what it decided, plain or JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.runbook_factory import approve, make_runbook
from tests.functional.test_webhook import TOKEN, alert_payload, post, request

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(reifier_env: dict[str, str]) -> dict[str, str]:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "disk-fix", alerts=[{"alertname": "DiskFull"}],
                      cells=["echo cleaning"], folder="approved")
    approve(reifier_env, md)
    return {**reifier_env, "REIFIER_TOKEN": TOKEN}


def serve(env: dict[str, str], log: Path, *extra: str) -> Iterator[int]:
    port = free_port()
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "reifier", "serve", "--port", str(port),
                                 *extra], env=env, stdout=fh, stderr=fh)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def exchange(port: int) -> str:
    """One accepted alert, one duplicate, one request without a token; return the alert key."""
    status, body = post(port, alert_payload("DiskFull", instance="db1:9100"))
    assert status == 202, body
    assert post(port, alert_payload("DiskFull", instance="db1:9100"))[0] == 202
    assert post(port, alert_payload("DiskFull"), token=None)[0] == 401
    return str(body["alerts"][0]["key"])


def test_every_request_is_logged_with_its_decisions(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    for port in serve(env, log):
        key = exchange(port)
    lines = log.read_text().splitlines()
    accepted = [line for line in lines if "POST /hooks/alertmanager 202" in line]
    assert len(accepted) == 2
    assert " INFO reifier.server: " in accepted[0]
    assert f"alert {key} firing matches=[disk-fix:" in accepted[0]
    assert "decisions=[disk-fix:suggest (suggest only: autonomy is suggest)] runs=[]" in accepted[0]
    assert f"alert {key} firing duplicate" in accepted[1]
    assert any(" INFO reifier.server: GET /healthz 200" in line for line in lines)
    (refused,) = [line for line in lines if "POST /hooks/alertmanager 401" in line]
    assert " WARNING " in refused and "401 " in refused and "(missing or wrong bearer token)" in refused
    assert "db1:9100" not in "\n".join(lines)  # labels are never logged


def test_log_json_is_one_object_per_line(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "serve.jsonl"
    for port in serve(env, log, "--log-json"):
        key = exchange(port)
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert records[0]["logger"] == "reifier.serve" and "hooks/alertmanager" in records[0]["msg"]
    posts = [r for r in records if r.get("path") == "/hooks/alertmanager"]
    assert [(r["status"], r["level"]) for r in posts] == [
        (202, "info"), (202, "info"), (401, "warning")]
    (alert,) = posts[0]["alerts"]
    assert alert["key"] == key and alert["duplicate"] is False and alert["runs"] == []
    assert alert["decisions"] == ["disk-fix:suggest (suggest only: autonomy is suggest)"]
    assert alert["matches"][0].startswith("disk-fix:")
    assert posts[1]["alerts"][0]["duplicate"] is True
    assert posts[2]["error"] == "missing or wrong bearer token"
    assert all(isinstance(r["ms"], float) and r["method"] == "POST" for r in posts)
    assert os.path.getsize(log) > 0
