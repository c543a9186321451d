"""The tornado application behind ``reifier serve``: the Alertmanager webhook receiver.

Endpoints (JSON):

* ``POST /hooks/alertmanager`` (bearer token): one webhook notification, version 4,
  at most :data:`MAX_BODY` bytes; answers ``202`` with, per alert, its store key,
  matches, decisions and the ids of the runs it queued.
* ``GET /runs`` and ``GET /runs/<id>`` (bearer token): run status and record paths.
* ``GET /healthz`` (no token): liveness and the job pool's load.
* ``GET /metrics`` (no token): Prometheus text format. It holds counts and
  latencies only, never alert labels, so it is safe to scrape without a secret.

Every store access runs on one executor thread (SQLite connections are not for
sharing between threads mid-transaction); the event loop only parses, checks
and answers. Errors become HTTP codes in one place, :class:`BaseHandler`.
"""

from __future__ import annotations

import asyncio
import fcntl
import hmac
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reifier.adapters import webhook
from reifier.adapters.jobs import JobQueue, job_log
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.core.alerts import parse_payload
from reifier.errors import BadInput, ConfigError, NotFound, Refused, ReifierError, StoreError

log = logging.getLogger("reifier.server")
MAX_BODY = 1024 * 1024
DRAIN_LIMIT = 2 * MAX_BODY  # a body up to this size is read to the end, so 413 arrives cleanly
#: a client that has not sent its headers (or its body) by then is dropped: a few slow or
#: silent connections (slowloris) must not hold the receiver's sockets for an hour
HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 512  # beyond this, new connections are closed at once (file descriptors)


class _CappedServer(tornado.httpserver.HTTPServer):
    """tornado's server with a cap on open connections."""

    def handle_stream(self, stream: Any, address: Any) -> None:
        """Close a new connection at once when ``MAX_CONNECTIONS`` are open."""
        if len(self._connections) >= MAX_CONNECTIONS:
            stream.close()
            return
        super().handle_stream(stream, address)
T = TypeVar("T")

#: ReifierError subclass -> HTTP status, first match wins (subclasses first)
HTTP_CODES: tuple[tuple[type[ReifierError], int], ...] = (
    (NotFound, 404),
    (BadInput, 400),
    (Refused, 403),
    (StoreError, 503),  # Alertmanager retries a 5xx: the store was busy, not the payload bad
    (ReifierError, 500),
)


def http_code(exc: BaseException) -> int:
    """Return the HTTP status for an exception (500 for anything unplanned)."""
    return next((code for cls, code in HTTP_CODES if isinstance(exc, cls)), 500)


class Metrics:
    """The receiver's Prometheus metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("reifier_alerts_received", "Alerts received, by status",
                                ["status"], registry=r)
        self.duplicates = Counter("reifier_alerts_duplicate",
                                  "Alerts already handled (re-sent by Alertmanager)", registry=r)
        self.matched = Counter("reifier_alerts_matched", "Alerts matching a runbook", registry=r)
        self.decisions = Counter("reifier_decisions", "Decisions per matched runbook, by action",
                                 ["action"], registry=r)
        self.started = Counter("reifier_runs_started", "Job processes started", registry=r)
        self.succeeded = Counter("reifier_runs_succeeded", "Runs that ended ok", registry=r)
        self.failed = Counter("reifier_runs_failed", "Runs that ended otherwise", registry=r)
        self.requests = Counter("reifier_webhook_requests", "Webhook requests, by HTTP status",
                                ["code"], registry=r)
        self.latency = Histogram("reifier_webhook_seconds", "Webhook handling time", registry=r,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.queued = Gauge("reifier_jobs_queued", "Jobs waiting for a worker", registry=r)
        self.running = Gauge("reifier_jobs_running", "Job processes running", registry=r)

    def count_outcome(self, out: webhook.AlertOutcome) -> None:
        """Count one handled alert."""
        self.received.labels(out.status).inc()
        if out.duplicate:
            self.duplicates.inc()
        if out.matches:
            self.matched.inc()
        for d in out.decisions:
            self.decisions.labels(str(d.get("action"))).inc()

    def count_done(self, row: dict[str, Any]) -> None:
        """Count one finished run."""
        if row["status"] == "ok":
            self.succeeded.inc()
        elif row["status"] != "skipped":
            self.failed.inc()


class State:
    """What the handlers share: context, store (on one thread), receiver, jobs, token."""

    def __init__(self, ctx: Context, token: str | None, workers: int) -> None:
        self.ctx, self.token = ctx, token
        self.metrics = Metrics()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reifier-store")
        self.store = Store(ctx.db_path)
        self.jobs = JobQueue(ctx, workers, on_start=lambda _row: self.metrics.started.inc(),
                             on_done=self.metrics.count_done)
        self.receiver = webhook.Receiver(ctx, self.store, self.jobs.submit)
        self.metrics.queued.set_function(lambda: self.jobs.pending)
        self.metrics.running.set_function(lambda: self.jobs.running)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store-touching function on the store thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


class BaseHandler(tornado.web.RequestHandler):
    """JSON answers, bearer-token checks and the one place errors become HTTP codes."""

    public: ClassVar[bool] = False

    def initialize(self, state: State) -> None:
        """Keep the shared state."""
        self.state = state

    def prepare(self) -> None:
        """Refuse requests without the right bearer token (before reading any body)."""
        if self.public or self.state.token is None:
            return
        header = self.request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), self.state.token.encode())
        if not ok:
            self.set_header("WWW-Authenticate", 'Bearer realm="reifier"')
            raise tornado.web.HTTPError(401, "missing or wrong bearer token")

    def reply(self, data: Any, status: int = 200) -> None:
        """Finish with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, sort_keys=True, default=str))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Map ReifierError subclasses to their HTTP status, then answer."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ReifierError):
            status_code = http_code(exc)
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer ``{"error": reason}``; an unplanned exception shows no details."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or self._reason
        elif isinstance(exc, ReifierError):
            message = str(exc)
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message, "status": status_code}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Planned errors go into the request's log line; tracebacks only for real bugs."""
        if isinstance(value, ReifierError | tornado.web.HTTPError):
            planned = isinstance(value, tornado.web.HTTPError) and value.log_message
            self.failure = str(planned or value)  # for the request's log line (log_request)
        else:
            super().log_exception(typ, value, tb)


@tornado.web.stream_request_body
class WebhookHandler(BaseHandler):
    """``POST /hooks/alertmanager``: validate, then hand the alerts to the receiver."""

    def prepare(self) -> None:
        """Check token, size and content type before the body arrives."""
        self._t0 = time.perf_counter()
        self._chunks: list[bytes] = []
        self._size = 0
        super().prepare()
        if self.request.method != "POST":
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > DRAIN_LIMIT):
            raise tornado.web.HTTPError(413, f"body larger than {MAX_BODY} bytes")
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise tornado.web.HTTPError(415, "Content-Type must be application/json")

    def data_received(self, chunk: bytes) -> None:
        """Collect the body; past the limit, read on but keep nothing (answered 413)."""
        self._size += len(chunk)
        if self._size > MAX_BODY:
            self._chunks.clear()
        else:
            self._chunks.append(chunk)

    async def post(self) -> None:
        """Handle one notification: 202 with what happened to each alert."""
        if self._size > MAX_BODY:
            raise tornado.web.HTTPError(413, f"body larger than {MAX_BODY} bytes")
        try:
            data = json.loads(b"".join(self._chunks))
        except (ValueError, RecursionError) as exc:
            raise BadInput(f"body is not JSON: {str(exc)[:120]}") from None
        payload = parse_payload(data, time.time())
        outcomes = await self.state.call(self.state.receiver.handle, payload)
        self.outcomes = outcomes  # for the request's log line
        for out in outcomes:
            self.state.metrics.count_outcome(out)
        self.reply({"received": len(outcomes), "truncatedAlerts": payload.truncated_alerts,
                    "alerts": [o.to_json() for o in outcomes]}, 202)

    def on_finish(self) -> None:
        """Count the request and its latency."""
        self.state.metrics.requests.labels(str(self.get_status())).inc()
        if hasattr(self, "_t0"):
            self.state.metrics.latency.observe(time.perf_counter() - self._t0)


def run_view(ctx: Context, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the public view of a run row."""
    spec = row["spec"]
    return {"id": row["id"], "runbook": row["runbook"], "alert": row["alert_key"],
            "status": row["status"], "reason": row["reason"], "run_id": row["run_id"],
            "record": row["record"], "html": row["html"], "pid": row["pid"],
            "created": row["created"], "started": row["started"], "ended": row["ended"],
            "parameters": spec.get("params", {}), "trigger": spec.get("trigger", ""),
            "silence": row["silence"], "log": str(job_log(ctx, str(row["id"])))}


class RunHandler(BaseHandler):
    """``GET /runs/<id>``: one run's status and record paths."""

    async def get(self, job_id: str) -> None:
        """Answer the run, or 404."""
        row = await self.state.call(self.state.store.get_run, job_id)
        if row is None:
            raise NotFound(f"no run {job_id!r}")
        self.reply(run_view(self.state.ctx, row))


class RunsHandler(BaseHandler):
    """``GET /runs[?status=S&limit=N]``: recent runs, newest first."""

    async def get(self) -> None:
        """Answer a list of runs."""
        status = tuple(self.get_arguments("status"))
        try:
            limit = max(1, min(1000, int(self.get_argument("limit", "100"))))
        except ValueError:
            raise BadInput("limit must be a number") from None
        rows = await self.state.call(lambda: self.state.store.list_runs(status, limit=limit))
        self.reply([run_view(self.state.ctx, r) for r in rows])


class HealthHandler(BaseHandler):
    """``GET /healthz``: the process answers; the job pool's load."""

    public = True

    def get(self) -> None:
        """Answer ok."""
        jobs = self.state.jobs
        self.reply({"status": "ok", "workers": jobs.workers, "queued": jobs.pending,
                    "running": jobs.running, "auth": self.state.token is not None})


class MetricsHandler(BaseHandler):
    """``GET /metrics``: Prometheus text format (counts and latencies only)."""

    public = True

    def get(self) -> None:
        """Answer the metrics."""
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(generate_latest(self.state.metrics.registry))


def request_fields(handler: tornado.web.RequestHandler) -> dict[str, Any]:
    """What one request was and what it decided: alert keys, matches, decisions, run ids.

    Never labels or annotations (they may carry anything); the alert key, runbook ids,
    scores, actions with their reasons and run ids are what an operator needs.
    """
    req = handler.request
    fields: dict[str, Any] = {
        "method": req.method, "path": req.path, "status": handler.get_status(),
        "ms": round(1000 * req.request_time(), 1), "remote": req.remote_ip,
    }
    if getattr(handler, "failure", ""):
        fields["error"] = handler.failure  # type: ignore[attr-defined]
    outcomes: list[webhook.AlertOutcome] = getattr(handler, "outcomes", [])
    if outcomes:
        fields["alerts"] = [{
            "key": o.key, "status": o.status, "duplicate": o.duplicate,
            "matches": [f"{m['runbook']}:{float(m['score']):.2f}" for m in o.matches],
            "decisions": [f"{d['runbook']}:{d['action']} ({d['reason']})" for d in o.decisions],
            "runs": list(o.runs), **({"error": o.error} if o.error else {}),
        } for o in outcomes]
    return fields


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Log every request in one line (info; 4xx warning, 5xx error), with its decisions."""
    fields = request_fields(handler)
    status = int(fields["status"])
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    text = f"{fields['method']} {fields['path']} {status} {fields['ms']}ms"
    if "error" in fields:
        text += f" ({fields['error']})"
    for alert in fields.get("alerts", []):
        text += (f" | alert {alert['key']} {alert['status']}"
                 + (" duplicate" if alert["duplicate"] else "")
                 + f" matches=[{', '.join(alert['matches'])}]"
                 + f" decisions=[{'; '.join(alert['decisions'])}]"
                 + f" runs=[{', '.join(alert['runs'])}]"
                 + (f" error={alert['error']}" if "error" in alert else ""))
    log.log(level, "%s", text, extra={"fields": fields})


def make_app(state: State) -> tornado.web.Application:
    """Build the tornado application over shared state."""
    args = {"state": state}
    return tornado.web.Application([
        (r"/hooks/alertmanager", WebhookHandler, args),
        (r"/runs/([A-Za-z0-9_.-]{1,64})", RunHandler, args),
        (r"/runs/?", RunsHandler, args),
        (r"/healthz", HealthHandler, args),
        (r"/metrics", MetricsHandler, args),
    ], default_handler_class=NotFoundHandler, default_handler_args=args,
        log_function=log_request)


class NotFoundHandler(BaseHandler):
    """Any other path: a JSON 404."""

    public = True

    def prepare(self) -> None:
        """Answer 404 whatever the method."""
        raise tornado.web.HTTPError(404, "no such endpoint")


class Server:
    """``reifier serve``: bind, recover jobs, serve until stopped."""

    def __init__(self, ctx: Context, token: str | None, workers: int = 2) -> None:
        self.state = State(ctx, token, workers)
        self._sockets: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._lock = -1
        self.interrupted: list[str] = []

    def bind(self, host: str, port: int) -> int:
        """Take the home's server lock and open the sockets (errors show before serving)."""
        home = self.state.ctx.home
        self._lock = os.open(home / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:  # one server per home: its restart recovery would take the other's jobs
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise ConfigError(f"another reifier serve already uses {home}") from None
        self._sockets = tornado.netutil.bind_sockets(port, address=host)
        return int(self._sockets[0].getsockname()[1])

    async def run(self, ready: Callable[[], None] | None = None, signals: bool = False,
                  terminate_jobs: bool = False) -> None:
        """Serve until :meth:`stop` (or SIGINT/SIGTERM with ``signals``)."""
        state = self.state
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        await state.call(state.receiver.refresh, True)
        self.interrupted = state.jobs.start()
        server = _CappedServer(make_app(state), max_body_size=DRAIN_LIMIT,
                               idle_connection_timeout=HEADER_TIMEOUT_S,
                               body_timeout=BODY_TIMEOUT_S)
        server.add_sockets(self._sockets)
        if signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stop.set)
        if ready:
            ready()
        try:
            await self._stop.wait()
        finally:
            server.stop()
            await asyncio.wait_for(server.close_all_connections(), 5.0)
            state.jobs.stop(terminate=terminate_jobs)
            state.executor.shutdown(wait=True)
            state.store.close()
            for sock in self._sockets:
                sock.close()
            if self._lock >= 0:
                os.close(self._lock)  # releases the home's server lock
                self._lock = -1

    def stop(self) -> None:
        """Ask a running server to stop (from any thread)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


def serve(ctx: Context, host: str, port: int, token: str | None, workers: int,
          announce: Callable[[str], None]) -> None:
    """Bind and serve in the foreground until SIGINT/SIGTERM."""
    server = Server(ctx, token, workers)
    bound = server.bind(host, port)

    def ready() -> None:
        auth = "bearer token" if token else "NO AUTH (--insecure, loopback only)"
        announce(f"reifier serve: http://{host}:{bound}/hooks/alertmanager ({auth}, "
                 f"{workers} workers, workspace {ctx.workspace}, pid {os.getpid()})")
        for job in server.interrupted:
            announce(f"reifier serve: run {job} was interrupted by the restart")

    asyncio.run(server.run(ready, signals=True))
