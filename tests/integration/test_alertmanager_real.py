"""Against a real Alertmanager: fire -> webhook -> match -> run -> record -> resolve.

Uses ``/usr/bin/prometheus-alertmanager`` (Debian's ``prometheus-alertmanager``
package; CI installs it) on 127.0.0.1 with clustering off and temp storage. Its
webhook receiver is ``reifier serve`` with a bearer token; the runbook asks for
a silence, so the run also creates and expires one through Alertmanager's API.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters.settings import load_context
from reifier.adapters.store import Store
from tests.functional.test_webhook import AUTH, TOKEN, request
from tests.integration import test_serve
from tests.integration.test_serve import Serve, approved_runbook, free_port, wait_run

pytestmark = pytest.mark.slow
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
env = test_serve.env  # the same fixture: kernel findable, disposable HOME, REIFIER_TOKEN
WAIT_S = 90

if ALERTMANAGER is None:
    pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)",
                allow_module_level=True)


def am_call(base: str, method: str, path: str, body: Any = None) -> Any:
    """Call Alertmanager's API v2; return the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    return json.loads(text) if text.strip() else None


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wait_for(what: str, check: Any) -> Any:
    """Poll ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def start_alertmanager(base: str, port: int, config: Path, hook_port: int) -> subprocess.Popen[bytes]:
    """Write the config (webhook -> reifier serve, bearer token) and start Alertmanager."""
    config.write_text(f"""\
route:
  receiver: reifier
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: reifier
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {TOKEN}
""")
    if AMTOOL:
        check = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    assert ALERTMANAGER is not None
    with (config.parent / "alertmanager.log").open("wb") as log:
        proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={config.parent / 'am'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=log)

    def ready() -> bool:
        assert proc.poll() is None, (config.parent / "alertmanager.log").read_text()
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    wait_for("Alertmanager to be ready", ready)
    return proc


def test_real_alertmanager_fires_runs_and_resolves(env: dict[str, str], tmp_path: Path) -> None:
    am_port = free_port()
    base, config = f"http://127.0.0.1:{am_port}", tmp_path / "alertmanager.yml"
    out = tmp_path / "fixed-host.txt"
    approved_runbook(env, "am-fix", "ReifierRealTest",
                     ["sleep 2", f'printf "%s" "$HOST" > {out}'], params={"HOST": "none"},
                     extra={"alert_params": {"HOST": "instance"}, "silence": True},
                     constraints={"HOST": {"host": {}}})  # any well-formed host name
    serve = Serve({**env, "REIFIER_ALERTMANAGER_URL": base}, tmp_path / "serve.log")
    serve.start()
    proc = start_alertmanager(base, am_port, config, serve.port)
    try:
        labels = {"alertname": "ReifierRealTest", "instance": "web-9", "severity": "page"}
        starts = datetime.now(UTC) - timedelta(seconds=5)
        alert = {"labels": labels, "annotations": {"summary": "web-9 is down"},
                 "startsAt": iso(starts), "generatorURL": "http://prometheus.invalid/graph"}
        am_call(base, "POST", "/api/v2/alerts", [alert])

        # delivery -> match -> run
        runs = wait_for("a run started by the webhook",
                        lambda: request(serve.port, "GET", "/runs", headers=AUTH)[1])
        [run] = runs
        assert run["runbook"] == "am-fix" and run["parameters"] == {"HOST": "web-9"}
        [am_alert] = am_call(base, "GET", "/api/v2/alerts")
        assert run["alert"].startswith(am_alert["fingerprint"] + "@")  # same fingerprint
        # while it runs, the alert is silenced by reifier
        silence = wait_for("the run's silence", lambda: [
            s for s in am_call(base, "GET", "/api/v2/silences")
            if s["createdBy"] == "reifier" and s["status"]["state"] == "active"])[0]
        assert {(m["name"], m["value"]) for m in silence["matchers"]} == set(labels.items())

        # -> record
        info = wait_run(serve.port, run["id"])
        assert info["status"] == "ok", info
        assert out.read_text() == "web-9"
        assert Path(info["record"]).is_file() and Path(info["html"]).is_file()
        assert info["silence"] == silence["id"]
        after = am_call(base, "GET", f"/api/v2/silence/{silence['id']}")
        assert after["status"]["state"] == "expired"  # expired when the run ended

        # resolve: endsAt in the past; send_resolved delivers the resolution
        am_call(base, "POST", "/api/v2/alerts",
                [{**alert, "endsAt": iso(datetime.now(UTC) - timedelta(seconds=1))}])
        ctx = load_context()

        def resolved() -> dict[str, Any] | None:
            store = Store(ctx.db_path)
            try:
                nodes = [n["props"] for n in store.nodes("Alert")]
            finally:
                store.close()
            return next((p for p in nodes if p["status"] == "resolved"), None)

        props = wait_for("the resolved notification", resolved)
        assert props["labels"] == labels and props["ends_ts"] > props["starts_ts"]
        assert props["fingerprint"] == am_alert["fingerprint"]
        assert list((ctx.runbooks / "drafts").glob("*.ipynb")) == []  # we fixed it: no GUI draft
        metrics = str(request(serve.port, "GET", "/metrics")[1]).splitlines()
        assert 'reifier_alerts_received_total{status="resolved"} 1.0' in metrics
        store = Store(ctx.db_path)
        try:
            assert len(store.list_runs()) == 1  # re-deliveries never ran it twice
        finally:
            store.close()
    finally:
        proc.terminate()
        proc.wait(30)
        serve.stop()
