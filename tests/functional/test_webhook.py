"""The Alertmanager receiver: a real ``reifier serve`` app on 127.0.0.1, real store and files.

Servers run in a thread of the test process (the same :class:`Server` the CLI
runs); runbooks are real approved pairs. No test here starts a kernel: the
runbooks that could run autonomously are only reached through the receiver
with a plain list as its job queue.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reifier.adapters import notebooks
from reifier.adapters.settings import Context, load_context
from reifier.adapters.store import Store
from reifier.adapters.webhook import Receiver
from reifier.cli import cli
from reifier.cli.serve import find_token, is_loopback
from reifier.core.alerts import ALERT_FIELDS, parse_payload
from reifier.core.models import CommandEvent
from reifier.errors import BadInput, ConfigError, NotFound, Refused, ReifierError, StoreError
from reifier.server.app import MAX_BODY, Server, http_code
from tests.conftest import signing_env
from tests.functional.runbook_factory import approve, make_runbook

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIXTURES = ("alertmanager_webhook_types_sample_v4.json", "msteams_prom_post_request.json",
            "msteams_prom_post_request_2_alerts.json")


# -- helpers shared with tests/integration ------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Send one HTTP request to 127.0.0.1:port; return (status, decoded JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read().decode()
        kind = resp.getheader("Content-Type", "")
        return resp.status, json.loads(raw) if kind.startswith("application/json") else raw
    finally:
        conn.close()


def post(port: int, payload: Any, token: str | None = TOKEN,
         content_type: str = "application/json") -> tuple[int, Any]:
    """POST a payload (dict, or raw bytes) to the webhook."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(port, "POST", "/hooks/alertmanager", body, headers)


def alert_payload(name: str, starts: str = "2026-11-24T10:00:00Z", status: str = "firing",
                  ends: str = "0001-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    """Return a one-alert v4 payload."""
    alert_labels = {"alertname": name, **labels}
    return {"version": "4", "status": status, "receiver": "reifier", "groupKey": "{}",
            "alerts": [{"status": status, "labels": alert_labels,
                        "annotations": {"summary": f"{name} fired"},
                        "startsAt": starts, "endsAt": ends}]}


class Running:
    """A real :class:`Server` serving from a thread of this process."""

    def __init__(self, ctx: Context, token: str | None = TOKEN, workers: int = 1) -> None:
        self.server = Server(ctx, token, workers)
        self.port = self.server.bind("127.0.0.1", 0)
        ready = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.run(ready.set, terminate_jobs=True)),
            daemon=True)
        self.thread.start()
        assert ready.wait(60), "server did not start"

    def close(self) -> None:
        """Stop the server and wait for it."""
        self.server.stop()
        self.thread.join(60)


def counts(ctx: Context) -> dict[str, int]:
    """Count Alert nodes, suggestion events and run rows in the store."""
    store = Store(ctx.db_path)
    try:
        return {"alerts": len(store.nodes("Alert")), "suggestions": len(store.events("suggestion")),
                "runs": len(store.list_runs(limit=100_000))}
    finally:
        store.close()


def make_workspace(env: dict[str, str], auto_params: dict[str, str] | None = None) -> None:
    """Approve a suggest-only runbook (DiskFull, Probe*) and an auto one (FuzzAuto)."""
    ws = Path(env["REIFIER_WORKSPACE"])
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "reifier.toml").write_text("[autonomy]\nmin_successes = 0\ncooldown_s = 0\n")
    disk = make_runbook(ws, "free-disk", alerts=[{"alertname": "DiskFull"}],
                        cells=["echo cleaning"], folder="approved")
    probe = make_runbook(ws, "probe", alerts=[{"alertname": "ProbeFailure"}],
                         cells=["echo probe"], folder="approved")
    auto = make_runbook(ws, "auto-fix", alerts=[{"alertname": "FuzzAuto"}], autonomy="auto",
                        cells=['echo "fixing $HOST"'], params={"HOST": "none"}, folder="approved")
    nb = notebooks.read(auto.with_suffix(".ipynb"))
    nb["metadata"]["reifier"]["alert_params"] = auto_params or {"HOST": "instance"}
    notebooks.write_pair(nb, auto)
    approve(env, disk, probe, auto)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, approver_key: Path,
             second_key: Path) -> Path:
    """Approve the runbooks once per module (approval is the slow part)."""
    root = tmp_path_factory.mktemp("template")
    env = {**os.environ, "REIFIER_HOME": str(root / "home"), "REIFIER_WORKSPACE": str(root / "ws")}
    make_workspace(signing_env(env, root / "ws", approver_key, second_key))
    return root


@pytest.fixture
def ctx(reifier_env: dict[str, str], template: Path) -> Context:
    """A fresh workspace holding the template's approved runbooks and allowed_signers."""
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    shutil.copytree(template / "ws", ws, dirs_exist_ok=True)  # allowed_signers included
    return load_context()


@pytest.fixture
def served(ctx: Context) -> Iterator[Running]:
    server = Running(ctx)
    yield server
    server.close()


# -- payloads -----------------------------------------------------------------------------


def test_fixture_payloads_are_unpacked_and_stored(served: Running, ctx: Context,
                                                  fixtures_dir: Path) -> None:
    answers = []
    for name in FIXTURES:
        body = (fixtures_dir / "alertmanager" / name).read_bytes()
        status, answer = post(served.port, body)
        assert status == 202, answer
        answers.append(answer)
    assert [a["received"] for a in answers] == [1, 1, 2]
    probe = answers[0]["alerts"][0]
    assert probe["key"] == "1a30ba71cca2921f@2023-02-06T13:08:45.828000Z"
    assert [m["runbook"] for m in probe["matches"]] == ["probe"]
    assert probe["decisions"][0]["action"] == "suggest" and probe["runs"] == []
    store = Store(ctx.db_path)
    try:
        nodes = {n["key"]: n["props"] for n in store.nodes("Alert")}
    finally:
        store.close()
    assert len(nodes) == 4
    props = nodes[probe["key"]]
    assert props["starts_ts"] == pytest.approx(1675688925.828) and props["ends_ts"] is None
    assert props["labels"]["alertname"] == "ProbeFailure" and props["status"] == "firing"
    assert {"annotations", "generatorURL", "startsAt", "endsAt"} <= set(props)


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "body is not JSON"),
    (b"[" * 50_000 + b"]" * 50_000, "body is not JSON"),
    (json.dumps({"version": "3", "alerts": []}).encode(), "version"),
    (json.dumps({"version": "4", "alerts": {"a": 1}}).encode(), "alerts: must be a list"),
    (json.dumps(alert_payload("DiskFull", severity=3)).encode(),  # type: ignore[arg-type]
     r"alerts\[0\].labels.severity: must be a string"),
    (json.dumps({"version": "4", "alerts": [{"labels": {}, "startsAt": "soon"}]}).encode(),
     "not an RFC 3339 time"),
])
def test_bad_payloads_get_400_with_the_reason(served: Running, ctx: Context, body: bytes,
                                              reason: str) -> None:
    status, answer = post(served.port, body)
    assert status == 400
    assert re.search(reason, answer["error"]), answer
    assert counts(ctx) == {"alerts": 0, "suggestions": 0, "runs": 0}


def test_size_and_type_limits(served: Running, ctx: Context) -> None:
    huge = b'{"version": "4", "alerts": [], "pad": "' + b"x" * MAX_BODY + b'"}'
    status, answer = post(served.port, huge)
    assert status == 413 and "larger than" in answer["error"]
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(f"POST /hooks/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     f"{TOKEN}\r\nContent-Type: application/json\r\nContent-Length: "
                     f"{100 * MAX_BODY}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")  # refused before any body is sent
    status, answer = post(served.port, alert_payload("DiskFull"), content_type="text/plain")
    assert status == 415 and "application/json" in answer["error"]
    assert counts(ctx)["alerts"] == 0
    assert post(served.port, alert_payload("DiskFull"),
                content_type="application/json; charset=utf-8")[0] == 202


def test_chunked_body_over_the_limit_is_refused(served: Running, ctx: Context) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MiB, no Content-Length
    try:
        conn.request("POST", "/hooks/alertmanager", body=chunks, encode_chunked=True,
                     headers={**AUTH, "Content-Type": "application/json"})
        status = conn.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        status = 0  # the server may close the connection while the client still sends
    finally:
        conn.close()
    assert status in (0, 400, 413)
    assert counts(ctx)["alerts"] == 0
    assert request(served.port, "GET", "/healthz")[0] == 200  # and the server is fine


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
])
def test_unauthenticated_requests_get_401_and_change_nothing(served: Running, ctx: Context,
                                                             headers: dict[str, str]) -> None:
    body = json.dumps(alert_payload("DiskFull")).encode()
    status, answer = request(served.port, "POST", "/hooks/alertmanager", body,
                             {**headers, "Content-Type": "application/json"})
    assert status == 401 and "token" in answer["error"]
    assert request(served.port, "GET", "/runs/job-x", headers=headers)[0] == 401
    assert request(served.port, "GET", "/runs", headers=headers)[0] == 401
    assert counts(ctx) == {"alerts": 0, "suggestions": 0, "runs": 0}


def test_public_endpoints_and_404s(served: Running) -> None:
    status, health = request(served.port, "GET", "/healthz")
    assert status == 200 and health["status"] == "ok" and health["auth"] is True
    assert request(served.port, "GET", "/runs/job-nope", headers=AUTH) == (
        404, {"error": "no run 'job-nope'", "status": 404})
    assert request(served.port, "GET", "/nowhere")[0] == 404
    assert request(served.port, "GET", "/hooks/alertmanager", headers=AUTH)[0] == 405


def test_one_server_per_home(served: Running, ctx: Context) -> None:
    other = Server(ctx, TOKEN)
    try:
        with pytest.raises(ConfigError, match="another reifier serve already uses"):
            other.bind("127.0.0.1", 0)
    finally:
        other.state.store.close()


def test_metrics_count_alerts_and_latency(served: Running) -> None:
    post(served.port, alert_payload("DiskFull"))
    post(served.port, alert_payload("DiskFull"))
    post(served.port, alert_payload("Unknown"))
    post(served.port, b"nope")
    status, text = request(served.port, "GET", "/metrics")
    assert status == 200
    lines = set(text.splitlines())
    assert 'reifier_alerts_received_total{status="firing"} 3.0' in lines
    assert "reifier_alerts_duplicate_total 1.0" in lines
    assert "reifier_alerts_matched_total 1.0" in lines
    assert 'reifier_decisions_total{action="suggest"} 1.0' in lines
    assert 'reifier_webhook_requests_total{code="400"} 1.0' in lines
    assert "reifier_webhook_seconds_count 4.0" in lines
    for name in ("reifier_runs_started_total", "reifier_runs_succeeded_total",
                 "reifier_runs_failed_total", "reifier_jobs_queued", "reifier_jobs_running"):
        assert any(line.startswith(name + " ") for line in lines), name


@pytest.mark.parametrize(("exc", "code"), [
    (NotFound("x"), 404), (BadInput("x"), 400), (Refused("x"), 403), (StoreError("x"), 503),
    (ReifierError("x"), 500), (ValueError("x"), 500),
])
def test_errors_map_to_http_codes_in_one_table(exc: Exception, code: int) -> None:
    assert http_code(exc) == code


# -- fuzzing ------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=()), max_size=8) | st.sampled_from(
    ["\ud800", "x\udfffy", "\u00fc\u20ac\U0001f600", "$(reboot)", ""])  # lone surrogates too
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner,
                                                                max_size=4),
    max_leaves=20)


def _break(data: dict[str, Any], how: int, value: Any) -> dict[str, Any]:
    """Invalidate a valid FuzzAuto payload in one of several ways."""
    out = copy.deepcopy(data)
    alert = out["alerts"][0]
    rule = ALERT_FIELDS[how % len(ALERT_FIELDS)]
    choices: list[Callable[[], object]] = [
        lambda: out.update(version=value if value != "4" else 4),
        lambda: out.update(alerts=value if not isinstance(value, list) else {"x": value}),
        lambda: alert.update({rule.name: rule.example}),
        lambda: alert["labels"].update(instance=value if not isinstance(value, str) else None),
        lambda: alert.pop("startsAt"),
        lambda: out["alerts"].append(value if not isinstance(value, dict) else [value]),
    ]
    choices[how % len(choices)]()
    return out


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, approver_key: Path,
                second_key: Path) -> Iterator[tuple[Running, Context]]:
    root = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "REIFIER_HOME": str(root / "home"), "REIFIER_WORKSPACE": str(root / "ws")}
    (root / "ws").mkdir()
    env = signing_env(env, root / "ws", approver_key, second_key)
    make_workspace(env)
    ctx = load_context(root / "ws", env=env)
    server = Running(ctx)
    yield server, ctx
    server.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(JSON, st.dictionaries(st.sampled_from(["version", "alerts", "status"]),
                                            JSON)),
       how=st.integers(0, 50), value=JSON, text=TEXT,
       mode=st.sampled_from(["random", "broken", "valid"]))
def test_fuzzed_payloads_get_2xx_or_4xx_and_never_run(
        fuzz_server: tuple[Running, Context], data: Any, how: int, value: Any, text: str,
        mode: str) -> None:
    server, ctx = fuzz_server
    if mode == "broken":
        data = _break(alert_payload("FuzzAuto", instance="web-1"), how, value)
    elif mode == "valid":  # odd text in a valid alert: stored, matched, maybe drafted
        data = alert_payload("DiskFull", starts=f"2026-11-24T10:00:{how:02d}Z",
                             status="resolved" if how % 2 else "firing",
                             ends="2026-11-24T11:00:00Z", instance=text)
        data["alerts"][0]["annotations"]["summary"] = text
    before = counts(ctx)
    status, answer = post(server.port, data)
    assert 200 <= status < 300 or 400 <= status < 500, (status, answer)
    if mode == "valid":
        assert status == 202, answer
    if status >= 400:
        assert counts(ctx) == before
        assert isinstance(answer["error"], str) and answer["error"]
    assert counts(ctx)["runs"] == 0  # no valid FuzzAuto alert was ever sent


# -- idempotency and concurrency ----------------------------------------------------------


def test_concurrent_requests_handle_each_alert_exactly_once(served: Running,
                                                            ctx: Context) -> None:
    distinct = [alert_payload("DiskFull", starts=f"2026-11-24T10:{i // 60:02d}:{i % 60:02d}Z",
                              instance=f"host-{i}") for i in range(134)]
    payloads = distinct + distinct[:66]  # 200 requests, a third of them duplicates
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda p: post(served.port, p), payloads))
    assert {status for status, _ in results} == {202}
    keys = [a["key"] for _, answer in results for a in answer["alerts"]]
    fresh = [a["key"] for _, answer in results for a in answer["alerts"] if not a["duplicate"]]
    assert len(set(keys)) == 134 and sorted(fresh) == sorted(set(keys))
    assert counts(ctx) == {"alerts": 134, "suggestions": 134, "runs": 0}


def test_firing_then_resolved_is_acted_on_once_each(served: Running, ctx: Context) -> None:
    firing = alert_payload("DiskFull", starts="2026-11-24T09:00:00Z", instance="db-1")
    first = post(served.port, firing)[1]["alerts"][0]
    again = post(served.port, firing)[1]["alerts"][0]
    assert not first["duplicate"] and again["duplicate"] and again["key"] == first["key"]
    assert again["decisions"] == [] and counts(ctx)["suggestions"] == 1
    resolved = alert_payload("DiskFull", starts="2026-11-24T09:00:00Z", status="resolved",
                             ends="2026-11-24T09:20:00Z", instance="db-1")
    done = post(served.port, resolved)[1]["alerts"][0]
    assert done["key"] == first["key"] and not done["duplicate"] and done["decisions"] == []
    draft = Path(done["draft"])  # no shell session saw it: "did you fix this in a GUI?"
    assert draft.is_file() and draft.parent.name == "drafts"
    meta = notebooks.reifier_meta(notebooks.read(draft))
    assert meta["alerts"] == [{"alertname": "DiskFull"}] and meta["status"] == "draft"
    assert post(served.port, resolved)[1]["alerts"][0]["duplicate"]
    assert post(served.port, firing)[1]["alerts"][0]["duplicate"]  # late re-send: ignored
    assert len(list(draft.parent.glob("*.ipynb"))) == 1
    store = Store(ctx.db_path)
    try:
        [node] = store.nodes("Alert")
    finally:
        store.close()
    assert node["props"]["status"] == "resolved"
    assert node["props"]["ends_ts"] == node["props"]["starts_ts"] + 1200


def _session(ctx: Context, start: float, end: float, host: str = "db-1",
             commands: tuple[str, str] = ("df -h", "rm /var/log/old.gz"),
             shell: str = "shell-1") -> str:
    store = Store(ctx.db_path)
    try:
        events = [CommandEvent(cmd, t, shell, host=host, user="alice", exit_code=0)
                  for cmd, t in zip(commands, (start, end), strict=True)]
        _, shells = store.insert_commands(events)
        store.refresh_sessions(shells, 300.0, end + 3600)
        return next(s.id for s in store.sessions() if s.shell_session == shell)
    finally:
        store.close()


def test_only_the_session_that_worked_on_an_alert_is_linked(served: Running,
                                                           ctx: Context) -> None:
    """Two sessions during one unresolved alert: only the related one is linked."""
    starts = parse_payload(alert_payload("ProbeFailed", starts="2026-11-24T09:00:00Z"),
                           time.time()).alerts[0].starts_ts
    disk = _session(ctx, starts + 60, starts + 120, host="ops-1", shell="shell-a",
                    commands=("df -h", "rm /var/log/app/old.log.1"))
    probe = _session(ctx, starts + 90, starts + 200, host="ops-2", shell="shell-b",
                     commands=("curl -fsS localhost:8080/health", "systemctl restart checkout"))
    firing = alert_payload("ProbeFailed", starts="2026-11-24T09:00:00Z", service="checkout",
                           instance="web-3:9100")
    linked = post(served.port, firing)[1]["alerts"][0]["sessions"]
    assert linked == [probe] and disk not in linked


def test_sessions_overlapping_an_alert_are_linked_and_no_gui_draft(served: Running,
                                                                   ctx: Context) -> None:
    starts = parse_payload(alert_payload("DiskFull", starts="2026-11-24T09:00:00Z"),
                           time.time()).alerts[0].starts_ts
    sid = _session(ctx, starts + 60, starts + 240)
    firing = alert_payload("DiskFull", starts="2026-11-24T09:00:00Z", instance="db-1")
    assert post(served.port, firing)[1]["alerts"][0]["sessions"] == [sid]
    resolved = alert_payload("DiskFull", starts="2026-11-24T09:00:00Z", status="resolved",
                             ends="2026-11-24T09:10:00Z", instance="db-1")
    done = post(served.port, resolved)[1]["alerts"][0]
    assert done["sessions"] == [sid] and done["draft"] == ""
    store = Store(ctx.db_path)
    try:
        ids = {n["kind"]: n["id"] for n in store.nodes() if n["kind"] in {"Alert", "Session"}}
        assert {"src": ids["Alert"], "rel": "observed_in", "dst": ids["Session"], "props": {}} \
            in store.edges()
    finally:
        store.close()
    late = alert_payload("DiskFull", starts="2026-11-24T12:00:00Z", status="resolved",
                         ends="2026-11-24T12:10:00Z")
    assert post(served.port, late)[1]["alerts"][0]["draft"]  # no session then: a GUI draft


def test_receiver_maps_labels_to_parameters_and_queues_one_run_per_runbook(
        ctx: Context) -> None:
    queued: list[str] = []
    store = Store(ctx.db_path)
    try:
        receiver = Receiver(ctx, store, queued.append)
        one = parse_payload(alert_payload("FuzzAuto", instance="web-1; rm -rf ~"), time.time())
        [out] = receiver.handle(one)
        assert out.decisions[0]["action"] == "run" and out.runs == queued and len(queued) == 1
        row = store.get_run(queued[0])
        assert row is not None and row["status"] == "queued" and row["alert_key"] == out.key
        assert row["spec"]["params"] == {"HOST": "web-1; rm -rf ~"}  # data, quoted by the engine
        assert row["spec"]["trigger"] == f"alert FuzzAuto#{out.fingerprint}"
        two = parse_payload(alert_payload("FuzzAuto", starts="2026-11-24T11:00:00Z",
                                          instance="web-2"), time.time())
        [busy] = receiver.handle(two)
        assert busy.runs == [] and busy.decisions[0]["action"] == "skip"
        assert queued[0] in busy.decisions[0]["reason"]
        # a restart (new connection, new receiver) still knows the first alert
        again = Receiver(ctx, Store(ctx.db_path), queued.append).handle(one)
        assert again[0].duplicate and len(queued) == 1
    finally:
        store.close()


# -- the command line ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["serve", "--host", "0.0.0.0"],
    ["serve", "--host", "0.0.0.0", "--insecure"],
    ["serve", "--host", "192.168.1.1", "--insecure"],
])
def test_serve_refuses_to_start_without_a_token(reifier_env: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                args: list[str]) -> None:
    monkeypatch.delenv("REIFIER_TOKEN", raising=False)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no token" in lines[0]


def test_serve_refuses_a_short_token(reifier_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "t").write_text("short\n")
    (tmp_path / "t").chmod(0o600)
    result = CliRunner().invoke(cli, ["serve", "--token-file", str(tmp_path / "t")])
    assert result.exit_code == 2 and "at least 16 characters" in result.output


def test_token_precedence_flag_env_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert find_token(None, {}, home) is None
    (home / "token").write_text("home-token-0123456789\n")
    (home / "token").chmod(0o644)
    with pytest.raises(Refused, match=r"readable by others.*chmod 600"):
        find_token(None, {}, home)  # a token anyone on the machine can read is no secret
    (home / "token").chmod(0o600)
    assert find_token(None, {}, home) == "home-token-0123456789"
    env = {"REIFIER_TOKEN": "env-token-0123456789"}
    assert find_token(None, env, home) == "env-token-0123456789"
    (tmp_path / "flag").write_text("  flag-token-0123456789  \n")
    (tmp_path / "flag").chmod(0o600)
    assert find_token(tmp_path / "flag", env, home) == "flag-token-0123456789"
    with pytest.raises(ConfigError, match="cannot read token file"):
        find_token(tmp_path / "missing", env, home)
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "example.org")] \
        == [True, True, True, False, False]


def test_insecure_server_needs_no_token(ctx: Context) -> None:
    server = Running(ctx, token=None)
    try:
        assert post(server.port, alert_payload("DiskFull"), token=None)[0] == 202
        assert request(server.port, "GET", "/healthz")[1]["auth"] is False
    finally:
        server.close()



def test_gui_drafts_are_one_per_alert_group_not_one_per_post(served: Running,
                                                              ctx: Context) -> None:
    for i in range(12):  # twelve hosts, twelve resolved episodes, no shell session
        post(served.port, alert_payload("NightlyJobFailed", starts=f"2026-11-2{i % 9}T03:00:00Z",
                                        status="resolved", ends=f"2026-11-2{i % 9}T03:20:00Z",
                                        instance=f"batch-{i}"))
    drafts = sorted((ctx.runbooks / "drafts").glob("*.ipynb"))
    gui = [p for p in drafts if "NightlyJobFailed" in p.read_text()]
    assert len(gui) == 1, [p.name for p in drafts]
    meta = json.loads(gui[0].read_text())["metadata"]["reifier"]
    assert len(meta["episodes"]) == 12
    assert {e["instance"] for e in meta["episodes"]} == {f"batch-{i}" for i in range(12)}


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_silent_connections_are_dropped_and_capped(ctx: Context,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients that never finish their headers do not hold sockets (slowloris)."""
    from reifier.server import app

    monkeypatch.setattr(app, "HEADER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(app, "MAX_CONNECTIONS", 40)
    server = Running(ctx)
    try:
        silent = []
        for _ in range(60):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"POST /hooks/alertmanager HTTP/1.1\r\nHost: x\r\n")  # never ends
            silent.append(sock)
        time.sleep(0.3)
        assert all(_closed(sock) for sock in silent[40:])  # beyond the cap: closed at once
        time.sleep(2.0)  # past the header timeout: every silent client is gone
        assert all(_closed(sock) for sock in silent[:40])
        assert request(server.port, "GET", "/healthz")[0] == 200
    finally:
        for sock in silent:
            sock.close()
        server.close()
