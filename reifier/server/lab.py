"""The JupyterLab side of Reifier: a jupyter_server extension and the views it serves.

The extension adds authenticated REST handlers under ``/reifier/api/`` (see
:mod:`reifier.server.lab_handlers`); the functions here compute what they
return by calling the same adapter functions the CLI uses, so matching,
approval and runs have one implementation. Every path a client sends is a
Jupyter contents path (relative to the server root) and must resolve inside
the workspace, which is the server root unless ``REIFIER_WORKSPACE`` names a
directory inside it.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from reifier.adapters import approve, graph, notebooks, records
from reifier.adapters.settings import Context, load_context
from reifier.adapters.store import Store
from reifier.core import approval as core
from reifier.errors import BadInput, NotFound, ReifierError

API_PREFIX = "reifier/api"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class LabRoots:
    """Where the Jupyter server serves files from, and the Reifier workspace inside it."""

    root: Path
    workspace: Path

    def context(self) -> Context:
        """Load the workspace's context afresh (``reifier.toml`` may have changed)."""
        return load_context(self.workspace)

    def resolve(self, rel: Any) -> Path:
        """Turn a client's contents path into a file path inside the workspace, or refuse."""
        if not isinstance(rel, str) or not rel.strip() or "\x00" in rel:
            raise BadInput("give the runbook's path (relative to the server root)")
        pure = PurePosixPath(rel.strip())
        if pure.is_absolute() or ".." in pure.parts:
            raise BadInput(f"{rel}: paths are relative to the server root, without '..'")
        full = (self.root / pure).resolve()  # resolve() also catches symlinks pointing out
        if not full.is_relative_to(self.workspace):
            raise BadInput(f"{rel}: outside the workspace")
        return full

    def rel(self, path: str | Path | None) -> str | None:
        """Return ``path`` as a contents path, or None when it lies outside the root."""
        if not path:
            return None
        full = Path(path).resolve()
        return full.relative_to(self.root).as_posix() if full.is_relative_to(self.root) else None

    def openable(self, path: str | Path | None) -> str | None:
        """Return the contents path of the ``.ipynb`` twin (what the notebook factory opens)."""
        if not path:
            return None
        nb = Path(path).with_suffix(".ipynb")
        return self.rel(nb if nb.is_file() else path)


def choose_roots(root_dir: str, env: Mapping[str, str]) -> LabRoots:
    """Pick the workspace: ``REIFIER_WORKSPACE`` when it lies inside the root, else the root."""
    root = Path(root_dir).expanduser().resolve()
    wanted = env.get("REIFIER_WORKSPACE")
    workspace = Path(wanted).expanduser().resolve() if wanted else root
    return LabRoots(root, workspace if workspace.is_relative_to(root) else root)


_OPEN_LOCK = threading.Lock()


def open_store(ctx: Context) -> Store:
    """Open the store; one at a time, because first opens race to migrate a new database."""
    with _OPEN_LOCK:
        return Store(ctx.db_path)


def approver() -> str:
    """Return the name approvals from JupyterLab are signed with (the server's OS user)."""
    return os.environ.get("USER") or getpass.getuser()


# --- views ----------------------------------------------------------------------------

def _history(store: Store, rid: str) -> list[dict[str, Any]]:
    runs = graph.run_history(store, rid)
    keys = ("status", "started", "ended", "trigger", "parameters", "failed_cell", "user")
    return [{**{k: run.get(k) for k in keys},
             "record_url": f"records/{run['html']}" if run.get("html") else None}
            for run in runs]


def summary(roots: LabRoots, ctx: Context, store: Store, path: Path,
            key: core.Trust | None) -> dict[str, Any]:
    """Describe one runbook for the sidebar: status, confidence, runs, patterns."""
    status = approve.pair_status(ctx, path, key)
    nb = notebooks.read(path if path.is_file() else approve.existing_pair(path)[0])
    meta = notebooks.reifier_meta(nb)
    rid = str(meta.get("id") or path.stem)
    history = _history(store, rid)
    return {
        "id": rid, "title": str(meta.get("title") or rid), "path": roots.openable(path),
        "folder": path.parent.name, "status": status.state.status, "reason": status.state.reason,
        "changed_cells": list(status.state.changed_cells), "approval": status.to_json()["approval"],
        "confidence": graph.confidence(history), "runs": len(history),
        "last_run": history[-1] if history else None, "autonomy": meta.get("autonomy", "suggest"),
        "symptoms": [str(s) for s in meta.get("symptoms") or []],
        "alerts": [a for a in meta.get("alerts") or [] if isinstance(a, dict)],
    }


def list_runbooks(roots: LabRoots) -> dict[str, Any]:
    """Return every runbook of the workspace (drafts and approved), unreadable ones flagged."""
    ctx = roots.context()
    key = approve.machine_key(ctx)
    store = open_store(ctx)
    try:
        out = []
        for path in graph.runbook_files(ctx):
            try:
                out.append(summary(roots, ctx, store, path, key))
            except ReifierError as exc:  # one broken file must not hide the others
                out.append({"id": path.stem, "title": path.stem, "path": roots.rel(path),
                            "folder": path.parent.name, "status": "unreadable",
                            "reason": str(exc)})
    finally:
        store.close()
    return {"workspace": roots.rel(ctx.workspace) or "", "runbooks": out}


def detail(roots: LabRoots, path: Path) -> dict[str, Any]:
    """Describe one runbook fully: status, digest to sign, guard refusals, parameters, runs."""
    ctx = roots.context()
    store = open_store(ctx)
    try:
        info = summary(roots, ctx, store, path, approve.machine_key(ctx))
        info["history"] = _history(store, info["id"])
    finally:
        store.close()
    nb = notebooks.read(path if path.is_file() else approve.existing_pair(path)[0])
    # What approving from JupyterLab signs: this file, with no guard rule allowed.
    info["digest"] = core.digest(nb, allow={})
    info["refusals"] = [{"cell": r.cell, "reason": r.reason, "rules": list(r.rules)}
                        for r in core.guard_refusals(nb, {})]
    info["parameters"] = core.parameter_defaults(nb)
    # Every code cell the signature will cover, verbatim, and the constraints it signs:
    # the dialog shows exactly what is approved, nothing rendered or summarised.
    info["cells"] = [{"cell": n, "source": core.cell_form(c)["source"],
                      "tags": core.cell_form(c)["tags"]}
                     for n, c in enumerate(core.code_cells(nb), 1)]
    info["constraints"] = core.meta(nb).get("parameters") or {}
    info["approver"] = approver()
    return info


def status(roots: LabRoots, path: Path) -> dict[str, Any]:
    """Return the pair's approval state (cheap: for the notebook toolbar's badge)."""
    data = approve.pair_status(roots.context(), path).to_json()
    return {**data, "path": roots.openable(path)}


def _candidates(roots: LabRoots, result: dict[str, Any]) -> dict[str, Any]:
    for c in result["candidates"]:
        c["path"] = roots.openable(c.get("path"))
    return result


def match(roots: LabRoots, body: Mapping[str, Any]) -> dict[str, Any]:
    """Rank approved runbooks for a log line (``line``) or a stored alert (``alert``)."""
    from reifier.cli.match import match_dict
    from reifier.core.match import match_alert

    line, alert_key = body.get("line"), body.get("alert")
    limit = body.get("limit", 5)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
        raise BadInput("limit must be an integer from 1 to 50")
    ctx = roots.context()
    threshold = ctx.settings.match_threshold
    store = open_store(ctx)
    try:
        graph.sync_runbooks(ctx, store)
        cat = graph.catalog(store)
        if isinstance(line, str) and line.strip():
            found = cat.index.match(line.strip(), threshold=threshold, limit=limit)
            return _candidates(roots, match_dict(line.strip(), found, cat.runbooks))
        if isinstance(alert_key, str) and alert_key:
            node = next((n for n in store.nodes("Alert") if n["key"] == alert_key), None)
            if node is None:
                raise NotFound(f"no alert {alert_key!r} in the store")
            props = node["props"]
            labels = {str(k): str(v) for k, v in (props.get("labels") or {}).items()}
            notes = {str(k): str(v) for k, v in (props.get("annotations") or {}).items()}
            found = match_alert(labels, notes, cat.matchers, cat.index,
                                threshold=threshold, limit=limit)
            return _candidates(roots, match_dict(alert_title(props), found, cat.runbooks))
    finally:
        store.close()
    raise BadInput("give a non-empty 'line' (a log line) or 'alert' (an alert id)")


def alert_title(props: Mapping[str, Any]) -> str:
    """Return one line naming an alert: its name and summary."""
    labels = props.get("labels") or {}
    notes = props.get("annotations") or {}
    name = str(labels.get("alertname", "alert"))
    text = notes.get("summary") or notes.get("description") or ""
    return f"{name}: {text}" if text else name


def suggestions(roots: LabRoots, limit: int) -> list[dict[str, Any]]:
    """Return the latest patrol/alert suggestions, newest first."""
    ctx = roots.context()
    store = open_store(ctx)
    try:
        events = store.events("suggestion")[-limit:]
    finally:
        store.close()
    out = []
    for event_id, subject, payload in reversed(events):
        trigger = payload.get("trigger") or {}
        line = trigger.get("line") or trigger.get("alert") or trigger.get("kind") or ""
        out.append({"id": event_id, "runbook": payload.get("runbook", subject),
                    "score": payload.get("score"), "action": payload.get("action"),
                    "reason": payload.get("reason"), "pattern": payload.get("pattern"),
                    "line": str(line), "trigger": trigger,
                    "path": roots.openable(payload.get("path"))})
    return out


def alerts(roots: LabRoots, limit: int) -> list[dict[str, Any]]:
    """Return the latest alerts the receiver stored, newest first."""
    ctx = roots.context()
    store = open_store(ctx)
    try:
        nodes = store.nodes("Alert")
    finally:
        store.close()
    nodes.sort(key=lambda n: str(n["props"].get("startsAt") or ""), reverse=True)
    return [{"key": n["key"], "title": alert_title(n["props"]),
             "labels": n["props"].get("labels") or {},
             "annotations": n["props"].get("annotations") or {},
             "startsAt": n["props"].get("startsAt"), "status": n["props"].get("status")}
            for n in nodes[:limit]]


def approve_runbook(roots: LabRoots, path: Path) -> dict[str, Any]:
    """Approve one runbook as the server's user; raise Refused with the guard's reason."""
    result = approve.approve_paths(roots.context(), [path], approver())[0]
    return {**result.to_json(), "path": roots.openable(path)}


def run_runbook(roots: LabRoots, path: Path, parameters: Any) -> dict[str, Any]:
    """Run an approved runbook with parameters; return the outcome and the record's URL."""
    from reifier.adapters.runner import execute_runbook

    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool)
            for v in parameters.values()):
        raise BadInput("parameters must be an object of NAME: text values")
    ctx = roots.context()
    result = execute_runbook(path, {str(k): str(v) for k, v in parameters.items()},
                             workspace=str(ctx.workspace), trigger=f"jupyterlab ({approver()})")
    data = result.to_json()
    data.pop("commands", None)
    data["record"] = roots.rel(result.record)
    data["html"] = roots.rel(result.html)
    data["record_url"] = (f"records/{result.runbook}/{result.run_id}.html"
                          if result.html else None)
    return data


def record_file(roots: LabRoots, runbook: str, run_id: str) -> Path:
    """Return an existing record's HTML file (names are checked: no path tricks)."""
    if not _RUN_ID.fullmatch(run_id):
        raise BadInput(f"{run_id!r} is not a run id")
    page = records.record_paths(roots.context(), runbook, run_id)[1]
    if not page.is_file():
        raise NotFound(f"no record {runbook}/{run_id}")
    return page


def index_lines(roots: LabRoots, runbook: str | None) -> list[dict[str, Any]]:
    """Return the records index (newest first), optionally for one runbook."""
    lines = records.read_index(roots.context())
    picked = [ln for ln in lines if runbook is None or ln.get("runbook") == runbook]
    return [{**ln, "record_url": f"records/{ln['html']}" if ln.get("html") else None}
            for ln in reversed(picked)]


# --- jupyter_server extension entry points ------------------------------------------

def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Tell jupyter_server which module loads the extension."""
    return [{"module": "reifier.server.lab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the ``/reifier/api/…`` handlers on a running Jupyter server."""
    from jupyter_server.utils import url_path_join

    from reifier.server.lab_handlers import ROUTES

    roots = choose_roots(serverapp.root_dir, os.environ)
    web_app = serverapp.web_app
    web_app.settings["reifier_lab"] = roots
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base, API_PREFIX, r.pattern), r.handler)
                                 for r in ROUTES])
    serverapp.log.info("reifier: lab API at %s (workspace %s)",
                       url_path_join(base, API_PREFIX), roots.workspace)
