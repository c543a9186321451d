"""Authenticated REST handlers of the JupyterLab extension, under ``/reifier/api/``.

Every handler requires a logged-in Jupyter user (``@web.authenticated`` and
jupyter_server's authorizer; POSTs also pass its XSRF check), runs the
blocking adapter call in a worker thread so a long runbook run never stalls the
server, and turns :class:`ReifierError` into a 4xx JSON reply with the same
status table ``reifier serve`` uses (:func:`reifier.server.app.http_code`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from reifier.errors import BadInput, ReifierError
from reifier.server import lab
from reifier.server.app import http_code
from reifier.server.lab import LabRoots

T = TypeVar("T")
AUTH_RESOURCE = "reifier"


class ReifierHandler(APIHandler):
    """Base: the lab roots, a worker-thread call, and ReifierError → 4xx JSON."""

    auth_resource = AUTH_RESOURCE

    @property
    def roots(self) -> LabRoots:
        """Return the server root and workspace chosen when the extension loaded."""
        roots: LabRoots = self.settings["reifier_lab"]
        return roots

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking adapter call in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args))

    def body(self) -> dict[str, Any]:
        """Return the JSON object the client posted (400 for anything else)."""
        data = self.get_json_body()  # raises HTTP 400 on invalid JSON
        if not isinstance(data, dict):
            raise BadInput("the request body must be a JSON object")
        return data

    def limit(self, default: int = 20) -> int:
        """Return the ``limit`` query argument, checked."""
        raw = self.get_query_argument("limit", str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            raise BadInput("limit must be an integer from 1 to 500")
        return int(raw)

    def reply(self, data: Any) -> None:
        """Send ``data`` as JSON."""
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer a ReifierError with its status and one-line reason; defer otherwise."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, ReifierError):
            self.set_status(http_code(exc))
            self.finish(json.dumps({"message": str(exc), "error": type(exc).__name__}))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log a ReifierError as one line (it is the user's input, not a server bug)."""
        if isinstance(value, ReifierError):
            self.log.warning("reifier: %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class RunbooksHandler(ReifierHandler):
    """GET: every runbook of the workspace with status, confidence and runs."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List the runbooks."""
        self.reply(await self.call(lab.list_runbooks, self.roots))


class RunbookHandler(ReifierHandler):
    """GET ?path=: one runbook in full (digest, guard refusals, parameters, history)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Describe one runbook."""
        path = self.roots.resolve(self.get_query_argument("path", ""))
        self.reply(await self.call(lab.detail, self.roots, path))


class StatusHandler(ReifierHandler):
    """GET ?path=: the pair's approval state only."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return draft / approved / stale / bad-signature with the reason."""
        path = self.roots.resolve(self.get_query_argument("path", ""))
        self.reply(await self.call(lab.status, self.roots, path))


class MatchHandler(ReifierHandler):
    """POST {line} or {alert}: ranked approved runbooks with score and evidence."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Match a log line or a stored alert."""
        self.reply(await self.call(lab.match, self.roots, self.body()))


class SuggestionsHandler(ReifierHandler):
    """GET ?limit=: the latest suggestions patrol and the alert receiver made."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List recent suggestions, newest first."""
        self.reply(await self.call(lab.suggestions, self.roots, self.limit()))


class AlertsHandler(ReifierHandler):
    """GET ?limit=: the latest alerts in the store."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List recent alerts, newest first."""
        self.reply(await self.call(lab.alerts, self.roots, self.limit()))


class ApproveHandler(ReifierHandler):
    """POST {path}: approve as the server's user (403 with the reason when refused)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Approve one runbook."""
        path = self.roots.resolve(self.body().get("path"))
        self.reply(await self.call(lab.approve_runbook, self.roots, path))


class RunHandler(ReifierHandler):
    """POST {path, parameters}: run an approved runbook; reply with the record's URL."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Run one runbook in a worker thread (the server stays responsive)."""
        body = self.body()
        path = self.roots.resolve(body.get("path"))
        self.reply(await self.call(lab.run_runbook, self.roots, path, body.get("parameters")))


class RecordsHandler(ReifierHandler):
    """GET ?runbook=: the hash-chained records index, newest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List run records."""
        runbook = self.get_query_argument("runbook", None)
        self.reply(await self.call(lab.index_lines, self.roots, runbook))


class RecordPageHandler(ReifierHandler):
    """GET records/<runbook>/<run>.html: a rendered execution record, sandboxed."""

    @property
    def content_security_policy(self) -> str:
        """Let the record's inline styles render; no script runs, no request leaves."""
        return ("frame-ancestors 'self'; sandbox; default-src 'none'; "
                "style-src 'unsafe-inline'; img-src data:; font-src data:")

    @web.authenticated
    @authorized
    async def get(self, runbook: str, run_id: str) -> None:
        """Serve the record's HTML."""
        page = await self.call(lab.record_file, self.roots, runbook, run_id)
        self.finish(await self.call(page.read_bytes), set_content_type="text/html; charset=utf-8")


@dataclass(frozen=True)
class Route:
    """One endpoint: its pattern under ``/reifier/api/``, handler and an example request."""

    pattern: str
    handler: type[ReifierHandler]
    method: str
    example: str


ROUTES: tuple[Route, ...] = (
    Route("runbooks", RunbooksHandler, "GET", "runbooks"),
    Route("runbook", RunbookHandler, "GET", "runbook?path=runbooks/drafts/x.ipynb"),
    Route("status", StatusHandler, "GET", "status?path=runbooks/drafts/x.ipynb"),
    Route("match", MatchHandler, "POST", "match"),
    Route("suggestions", SuggestionsHandler, "GET", "suggestions?limit=10"),
    Route("alerts", AlertsHandler, "GET", "alerts?limit=10"),
    Route("approve", ApproveHandler, "POST", "approve"),
    Route("run", RunHandler, "POST", "run"),
    Route("records", RecordsHandler, "GET", "records?runbook=x"),
    Route(r"records/([^/]+)/([^/]+)\.html", RecordPageHandler, "GET", "records/x/r1.html"),
)
