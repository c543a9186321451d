"""``reifier serve`` as a real subprocess: alerts run approved runbooks in real kernels.

Covers the end-to-end run (alert -> job -> record), idempotency across a server
restart, a killed job marked ``interrupted`` by the next start, a job that
outlives its server being adopted, and plain papermill driven by the example
receiver in ``examples/alerting/``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters import notebooks, records
from reifier.adapters.settings import load_context
from reifier.adapters.store import Store
from tests.functional.runbook_factory import approve, make_runbook
from tests.functional.test_webhook import AUTH, TOKEN, alert_payload, post, request

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FINAL_WAIT_S = 120


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def approved_runbook(env: dict[str, str], rid: str, alertname: str, cells: Sequence[str], *,
                     params: dict[str, str] | None = None, autonomy: str = "auto",
                     extra: dict[str, Any] | None = None,
                     constraints: dict[str, Any] | None = None) -> Path:
    """Write and approve a runbook matching ``alertname``; return its ``.ipynb``."""
    ws = Path(env["REIFIER_WORKSPACE"])
    toml = ws / "reifier.toml"
    if not toml.exists():
        toml.write_text("[autonomy]\nmin_successes = 0\ncooldown_s = 0\n")
    md = make_runbook(ws, rid, alerts=[{"alertname": alertname}], cells=list(cells),
                      params=params or {"X": "1"}, autonomy=autonomy, folder="approved",
                      constraints=constraints)
    if extra:
        nb = notebooks.read(md.with_suffix(".ipynb"))
        nb["metadata"]["reifier"].update(extra)
        notebooks.write_pair(nb, md)
    approve(env, md)
    return md.with_suffix(".ipynb")


class Serve:
    """``python -m reifier serve`` on a free port, restartable."""

    def __init__(self, env: dict[str, str], log: Path, *extra: str) -> None:
        self.env, self.log, self.extra = env, log, extra
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until /healthz answers."""
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reifier", "serve", "--port", str(self.port), *self.extra],
                env=self.env, stdout=fh, stderr=fh)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"reifier serve did not start:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: graceful; SIGKILL: a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None


@pytest.fixture
def env(reifier_env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Kernel findable, HOME disposable, token set; kill leftover job process groups after."""
    monkeypatch.setenv("JUPYTER_PATH", str(ROOT))
    home = tmp_path / "userhome"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("REIFIER_TOKEN", TOKEN)
    out = dict(os.environ)
    yield out
    store = Store(load_context().db_path)
    try:
        for row in store.list_runs(("queued", "running")):
            if row["pid"]:
                try:
                    os.killpg(int(row["pid"]), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    continue
    finally:
        store.close()


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[Serve]:
    server = Serve(env, tmp_path / "serve.log")
    yield server
    server.stop()


def wait_run(port: int, job: str, until: Sequence[str] = ()) -> dict[str, Any]:
    """Poll GET /runs/<job> until it leaves queued/running (or reaches ``until``)."""
    deadline = time.monotonic() + FINAL_WAIT_S
    while time.monotonic() < deadline:
        status, info = request(port, "GET", f"/runs/{job}", headers=AUTH)
        assert status == 200, info
        if info["status"] in until or (not until and info["status"] not in {"queued", "running"}):
            return dict(info)
        time.sleep(0.2)
    raise AssertionError(f"run {job} still {info['status']}")


def wait_metric(port: int, line: str) -> list[str]:
    """Poll /metrics until it has ``line`` (the worker counts a run when its process exits)."""
    deadline = time.monotonic() + 30
    while True:
        lines = str(request(port, "GET", "/metrics")[1]).splitlines()
        if line in lines or time.monotonic() > deadline:
            assert line in lines
            return lines
        time.sleep(0.1)


def test_alert_runs_the_runbook_and_a_restart_keeps_it_idempotent(
        env: dict[str, str], serve: Serve, tmp_path: Path) -> None:
    out = tmp_path / "host.txt"
    # HOST only reaches printf: no constraint needed, and any label arrives as data
    approved_runbook(env, "fix-web", "WebDown", [f'printf "%s" "$HOST" > {out}'],
                     params={"HOST": "none"}, extra={"alert_params": {"HOST": "instance"}},
                     constraints={})
    serve.start()
    hostile = f"web-1'; touch {tmp_path}/pwned; '$(touch {tmp_path}/pwned2)"
    payload = alert_payload("WebDown", instance=hostile)
    status, answer = post(serve.port, payload)
    assert status == 202, answer
    [alert] = answer["alerts"]
    assert alert["decisions"][0]["action"] == "run" and len(alert["runs"]) == 1
    job = alert["runs"][0]
    info = wait_run(serve.port, job)
    assert info["status"] == "ok", info
    assert out.read_text() == hostile  # the label arrived as data, not code
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert Path(info["record"]).is_file() and Path(info["html"]).is_file()
    assert info["parameters"] == {"HOST": hostile} and info["alert"] == alert["key"]
    rec = json.loads(Path(info["record"]).read_text())
    assert rec["metadata"]["reifier"]["run"]["trigger"] == f"alert WebDown#{alert['fingerprint']}"
    metrics = wait_metric(serve.port, "reifier_runs_succeeded_total 1.0")
    assert "reifier_runs_started_total 1.0" in metrics
    assert "reifier_runs_failed_total 0.0" in metrics
    # Alertmanager re-sends; then the server restarts and it re-sends again
    assert post(serve.port, payload)[1]["alerts"][0]["duplicate"]
    serve.stop()
    serve.start()
    again = post(serve.port, payload)[1]["alerts"][0]
    assert again["duplicate"] and again["runs"] == []
    ctx = load_context()
    store = Store(ctx.db_path)
    try:
        assert len(store.list_runs()) == 1 and len(store.events("suggestion")) == 1
        ids = {(n["kind"], n["key"]): n["id"] for n in store.nodes()}
        edge = {"src": ids[("Alert", alert["key"])], "rel": "triggered",
                "dst": ids[("Execution", info["run_id"])], "props": {}}
        assert edge in store.edges()
    finally:
        store.close()
    assert records.verify(ctx) == []


def test_a_hostile_label_cannot_make_an_approved_runbook_destructive(
        env: dict[str, str], serve: Serve, tmp_path: Path) -> None:
    """An alert label mapped to a parameter must satisfy the signed constraint."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "terraform.log"
    fake = bin_dir / "terraform"  # a stand-in that records what it was asked to do
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    approved_runbook(env, "tf-apply", "DriftDetected", ['terraform "$ACTION" -auto-approve'],
                     params={"ACTION": "plan"}, extra={"alert_params": {"ACTION": "action"}},
                     constraints={"ACTION": {"enum": ["plan", "apply"]}})
    serve.start()
    status, answer = post(serve.port, alert_payload("DriftDetected", action="destroy"))
    assert status == 202, answer
    [alert] = answer["alerts"]
    if alert["runs"]:
        info = wait_run(serve.port, alert["runs"][0])
        assert info["status"] == "refused", info
        assert "ACTION='destroy'" in info["reason"]
    else:
        assert "ACTION='destroy'" in json.dumps(alert["decisions"])
    assert not log.exists()  # nothing ran
    status, answer = post(serve.port, alert_payload("DriftDetected", action="plan"))
    [alert] = answer["alerts"]
    info = wait_run(serve.port, alert["runs"][0])
    assert info["status"] == "ok", info
    assert log.read_text() == "plan -auto-approve\n"


def test_restart_marks_a_killed_job_interrupted_and_keeps_its_record(
        env: dict[str, str], serve: Serve) -> None:
    approved_runbook(env, "slow-fix", "Slow", ["echo step-one-done", "sleep 120", "echo never"])
    serve.start()
    job = post(serve.port, alert_payload("Slow"))[1]["alerts"][0]["runs"][0]
    info = wait_run(serve.port, job, until=("running",))
    ctx = load_context()
    partial = ctx.runbooks / "records" / "slow-fix"
    deadline = time.monotonic() + 60
    while not list(partial.glob("*.ipynb")) and time.monotonic() < deadline:
        time.sleep(0.2)  # papermill writes its output as cells run
    serve.stop(signal.SIGKILL)
    os.killpg(int(info["pid"]), signal.SIGKILL)  # the job, its kernel and the sleep
    serve.start()
    after = wait_run(serve.port, job)
    assert after["status"] == "interrupted" and "restarted" in after["reason"]
    assert "interrupted by the restart" in serve.log.read_text()
    record = Path(after["record"])
    assert record.is_file() and record.parent == partial
    run = json.loads(record.read_text())["metadata"]["reifier"]["run"]
    assert run["status"] == "interrupted"
    assert records.verify(ctx) == []  # sealed into the hash-chained index
    # the interrupted run counts as a failure: the next alert is only suggested
    nxt = post(serve.port, alert_payload("Slow", starts="2026-11-24T11:00:00Z"))[1]["alerts"][0]
    assert nxt["decisions"][0]["action"] == "suggest" and nxt["runs"] == []


def test_a_job_outlives_its_server_and_is_adopted(env: dict[str, str], serve: Serve) -> None:
    approved_runbook(env, "short-fix", "Short", ["sleep 3", "echo done"])
    serve.start()
    job = post(serve.port, alert_payload("Short"))[1]["alerts"][0]["runs"][0]
    wait_run(serve.port, job, until=("running",))
    serve.stop(signal.SIGKILL)
    serve.start()  # the job process still runs: adopted, not interrupted
    assert wait_run(serve.port, job)["status"] == "ok"


def test_serve_without_token_exits_2_in_one_line(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "REIFIER_TOKEN"}
    proc = subprocess.run([sys.executable, "-m", "reifier", "serve", "--host", "0.0.0.0",
                           "--insecure"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no token" in proc.stderr


def test_example_receiver_runs_plain_papermill(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "host.txt"
    notebook = approved_runbook(env, "papermill-fix", "Plain", [f'printf "%s" "$HOST" > {out}'],
                                params={"HOST": "none"}, constraints={"HOST": {"host": {}}})
    runs = tmp_path / "runs"
    port = free_port()
    with (tmp_path / "receiver.log").open("wb") as log:  # a pipe nobody reads would fill up
        receiver = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "alerting" / "alertmanager-receiver.py"),
             "--port", str(port), "--runbook", f"Plain={notebook}", "--param", "HOST=instance",
             "--out-dir", str(runs)],
            env={**env, "RECEIVER_TOKEN": TOKEN,
                 "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
            stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = post(port, alert_payload("Plain", instance="db-7"))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 202
        assert post(port, alert_payload("Plain"), token="wrong-token-0123456789")[0] == 401
        deadline = time.monotonic() + FINAL_WAIT_S
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert out.exists(), (tmp_path / "receiver.log").read_text()
        assert out.read_text() == "db-7"
        [result] = runs.glob("*.ipynb")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # papermill finishes writing after the cell
            nb = json.loads(result.read_text())
            if nb["metadata"].get("reifier", {}).get("run", {}).get("status") == "ok":
                break
            time.sleep(0.2)
        assert nb["metadata"]["reifier"]["run"]["status"] == "ok"
    finally:
        receiver.terminate()
        receiver.wait(30)
