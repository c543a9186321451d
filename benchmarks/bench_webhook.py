"""Benchmark ``reifier serve``: alert-to-run latency and suggestion throughput.

Starts a real ``reifier serve`` subprocess on a free 127.0.0.1 port over a temp
workspace with two approved runbooks and measures:

* **received -> running**: one alert at a time for an ``autonomy: auto``
  runbook (policy ``min_successes = 0``); the time from just before the POST to
  the ``started`` stamp the job process writes when it marks its row
  ``running``. That covers the webhook, the decision, the queue, the job
  subprocess start and its imports; *not* the kernel start or the run, which
  are reported separately (``run_s``: POST to the row's end). Each sample waits
  for the previous run to end, so the pool is idle.
* **suggestions per second**: many distinct alerts matching a ``suggest``-only
  runbook, one alert per request from 8 concurrent clients, and grouped
  (50 alerts per notification, 4 clients). Every alert is stored, matched and
  gets its suggestion event (each in its own transaction).

Run: ``.venv/bin/python benchmarks/bench_webhook.py [--samples N] [--alerts N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import approval_keys  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, max(0, round(q / 100 * len(data) + 0.5) - 1))]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, payload: dict[str, Any]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/hooks/alertmanager", body=json.dumps(payload).encode(),
                     headers={"Content-Type": "application/json",
                              "Authorization": f"Bearer {TOKEN}"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _payload(name: str, n: int, start: int) -> dict[str, Any]:
    alerts = [{"status": "firing", "labels": {"alertname": name, "instance": f"host-{i}"},
               "annotations": {"summary": f"{name} on host-{i}"},
               "startsAt": f"2026-11-24T10:00:00.{i:06d}Z", "endsAt": "0001-01-01T00:00:00Z"}
              for i in range(start, start + n)]
    return {"version": "4", "status": "firing", "receiver": "reifier", "alerts": alerts}


def _workspace(tmp: Path, env: dict[str, str]) -> None:
    from tests.functional.runbook_factory import approve, make_runbook

    ws = tmp / "ws"
    ws.mkdir(parents=True)
    env.update(approval_keys(ws, tmp))
    (ws / "reifier.toml").write_text("[autonomy]\nmin_successes = 0\ncooldown_s = 0\n")
    auto = make_runbook(ws, "bench-auto", alerts=[{"alertname": "BenchAuto"}], autonomy="auto",
                        cells=["true"], folder="approved")
    suggest = make_runbook(ws, "bench-suggest", alerts=[{"alertname": "BenchSuggest"}],
                           cells=["true"], folder="approved")
    approve(env, auto, suggest)


def _row(db: Path, job: str) -> dict[str, Any]:
    con = sqlite3.connect(db, timeout=30)
    try:
        cur = con.execute("SELECT status, created, started, ended FROM runs WHERE id=?", (job,))
        status, created, started, ended = cur.fetchone()
    finally:
        con.close()
    return {"status": status, "created": created, "started": started, "ended": ended}


def _latency(port: int, db: Path, samples: int) -> dict[str, Any]:
    to_running, to_end = [], []
    for i in range(samples):
        t0 = time.time()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", "/hooks/alertmanager",
                     body=json.dumps(_payload("BenchAuto", 1, 900_000 + i)).encode(),
                     headers={"Content-Type": "application/json",
                              "Authorization": f"Bearer {TOKEN}"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
        [job] = answer["alerts"][0]["runs"]
        while (row := _row(db, job))["status"] in {"queued", "running"}:
            time.sleep(0.05)
        if row["status"] != "ok":
            raise SystemExit(f"bench run {job} ended {row['status']}")
        to_running.append(row["started"] - t0)
        to_end.append(row["ended"] - t0)
    return {"samples": samples, "received_to_running_p50_s": statistics.median(to_running),
            "received_to_running_p99_s": _pct(to_running, 99),
            "run_s_p50": statistics.median(to_end),
            "running_share_of_run": statistics.median(to_running) / statistics.median(to_end)}


def _throughput(port: int, alerts: int, per_request: int, clients: int, offset: int) -> float:
    payloads = [_payload("BenchSuggest", per_request, offset + k)
                for k in range(0, alerts, per_request)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        codes = list(pool.map(lambda p: _post(port, p), payloads))
    elapsed = time.perf_counter() - t0
    assert set(codes) == {202}, set(codes)
    return alerts / elapsed


def main(samples: int = 10, alerts: int = 1000) -> dict[str, Any]:
    """Measure and print; return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="reifier-bench-webhook-"))
    env = {**os.environ, "REIFIER_HOME": str(tmp / "home"), "REIFIER_WORKSPACE": str(tmp / "ws"),
           "REIFIER_TOKEN": TOKEN}
    env.setdefault("JUPYTER_PATH", str(ROOT))
    _workspace(tmp, env)
    port = _port()
    with (tmp / "serve.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "reifier", "serve", "--port", str(port)],
                                  env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((tmp / "serve.log").read_text()) from None
                time.sleep(0.1)
        latency = _latency(port, tmp / "home" / "reifier.db", samples)
        single = _throughput(port, alerts, 1, 8, 0)
        grouped = _throughput(port, alerts, 50, 4, alerts)
    finally:
        server.terminate()
        server.wait(30)
    result = {**latency, "suggestions_per_s_single": single, "suggestions_per_s_grouped50": grouped,
              "alerts": alerts, "workspace": str(tmp)}
    print(json.dumps({"bench_webhook": result}, indent=2, sort_keys=True))
    print(f"received -> running: p50 {latency['received_to_running_p50_s'] * 1000:.0f} ms, "
          f"p99 {latency['received_to_running_p99_s'] * 1000:.0f} ms "
          f"({samples} runs; whole run p50 {latency['run_s_p50']:.2f} s)")
    print(f"suggest-only alerts: {single:.0f}/s one per request (8 clients), "
          f"{grouped:.0f}/s grouped by 50 (4 clients)")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--alerts", type=int, default=1000)
    args = parser.parse_args()
    main(args.samples, args.alerts)
