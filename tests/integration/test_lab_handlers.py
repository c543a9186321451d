"""The JupyterLab extension's REST handlers on a real jupyter_server (``jp_fetch``).

The server root is the workspace; runbooks are real Jupytext pairs written by
the scribe's writer and approved with the real CLI; the approval key and the
store live in the temp REIFIER_HOME of ``reifier_env``. No test here starts a
kernel: runs are checked up to their refusals (the browser test runs one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from reifier.adapters import notebooks
from reifier.adapters.settings import load_context
from reifier.adapters.store import Store
from reifier.server.lab import approver
from reifier.server.lab_handlers import ROUTES
from tests.conftest import signing_env
from tests.functional.runbook_factory import approve, make_runbook

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SYMPTOM = "ERROR: deadlock detected while waiting for ShareLock on transaction 4711"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """Enable the extension the way jupyter-config/…/reifier.json does."""
    return {"ServerApp": {"jpserver_extensions": {"reifier.server.lab": True}}}


@pytest.fixture
def ws(jp_root_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       approver_key: Path, second_key: Path) -> Path:
    """Make the server root the workspace, with a temp REIFIER_HOME and trusted test keys.

    (``reifier_env`` cannot be used here: its ``home`` dir clashes with pytest-jupyter's.)
    The server signs approvals with the user's key, as JupyterLab's own process would.
    """
    home = tmp_path / "reifier-home"
    home.mkdir()
    monkeypatch.setenv("REIFIER_HOME", str(home))
    monkeypatch.setenv("REIFIER_WORKSPACE", str(jp_root_dir))
    for name, value in signing_env({}, jp_root_dir, approver_key, second_key).items():
        monkeypatch.setenv(name, value)
    return jp_root_dir


def env() -> dict[str, str]:
    """Return the environment for CLI subprocesses (the monkeypatched one)."""
    return dict(os.environ)


async def call(jp_fetch: Any, endpoint: str, body: Any = None, **params: str) -> Any:
    """Call one endpoint with the test token; return the decoded JSON reply."""
    kwargs: dict[str, Any] = {"params": params}
    if body is not None:
        kwargs.update(method="POST", body=body if isinstance(body, str) else json.dumps(body))
    response: HTTPResponse = await jp_fetch("reifier", "api", *endpoint.split("/"), **kwargs)
    return json.loads(response.body)


async def fails(jp_fetch: Any, endpoint: str, body: Any = None, **params: str) -> tuple[int, str]:
    """Call an endpoint that must fail; return the status and the one-line message."""
    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, endpoint, body, **params)
    response = info.value.response
    assert response is not None
    return info.value.code, json.loads(response.body).get("message", "")


@pytest.mark.parametrize("route", ROUTES, ids=[r.pattern for r in ROUTES])
async def test_every_endpoint_requires_authentication(jp_fetch: Any, ws: Path, route: Any) -> None:
    path, _, query = route.example.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    kwargs: dict[str, Any] = {"headers": {"Authorization": ""}, "params": params}
    if route.method == "POST":
        kwargs.update(method="POST", body="{}")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("reifier", "api", *path.split("/"), **kwargs)
    assert info.value.code in {401, 403}


async def test_lists_drafts_and_approved_with_status(jp_fetch: Any, ws: Path) -> None:
    make_runbook(ws, "db-lock", symptoms=[SYMPTOM], params={"DB": "main"})
    approve(env(), make_runbook(ws, "disk-full", symptoms=["No space left on device"]))
    data = await call(jp_fetch, "runbooks")
    by_id = {r["id"]: r for r in data["runbooks"]}
    assert by_id["db-lock"]["status"] == "draft"
    assert by_id["db-lock"]["path"] == "runbooks/drafts/db-lock.ipynb"
    assert by_id["disk-full"]["status"] == "approved"
    assert by_id["disk-full"]["confidence"] == 0.5  # no runs yet: Laplace prior
    detail = await call(jp_fetch, "runbook", path="runbooks/drafts/db-lock.ipynb")
    assert detail["parameters"] == {"DB": "main"}
    assert detail["digest"].startswith("sha256:")
    assert detail["refusals"] == []
    assert detail["approver"] == approver()
    # every code cell the signature covers, verbatim (parameters cell included)
    assert [c["cell"] for c in detail["cells"]] == list(range(1, len(detail["cells"]) + 1))
    assert detail["cells"][0]["tags"] == ["parameters"] and "DB=" in detail["cells"][0]["source"]


async def test_bad_json_is_400(jp_fetch: Any, ws: Path) -> None:
    code, message = await fails(jp_fetch, "match", "{not json")
    assert code == 400
    assert "JSON" in message
    code, message = await fails(jp_fetch, "approve", [1, 2])
    assert (code, message) == (400, "the request body must be a JSON object")


@pytest.mark.parametrize("path", ["../outside.ipynb", "/etc/passwd", "runbooks/../../x.ipynb", ""])
async def test_paths_escaping_the_workspace_are_400(jp_fetch: Any, ws: Path, path: str) -> None:
    code, message = await fails(jp_fetch, "approve", {"path": path})
    assert code == 400, message
    code, _ = await fails(jp_fetch, "status", path=path)
    assert code == 400


async def test_symlink_out_of_the_workspace_is_400(jp_fetch: Any, ws: Path,
                                                   tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (ws / "link").symlink_to(outside, target_is_directory=True)
    code, message = await fails(jp_fetch, "run", {"path": "link/x.ipynb"})
    assert (code, message) == (400, "link/x.ipynb: outside the workspace")


async def test_unknown_runbook_is_404(jp_fetch: Any, ws: Path) -> None:
    code, message = await fails(jp_fetch, "runbook", path="runbooks/drafts/nope.ipynb")
    assert code == 404
    assert "no such runbook" in message


async def test_approve_refused_when_the_guard_objects(jp_fetch: Any, ws: Path) -> None:
    make_runbook(ws, "wipe", cells=["echo cleaning", "rm -rf /"])
    rel = "runbooks/drafts/wipe.ipynb"
    detail = await call(jp_fetch, "runbook", path=rel)
    assert [r["cell"] for r in detail["refusals"]] == [3]  # parameters cell is code cell 1
    code, message = await fails(jp_fetch, "approve", {"path": rel})
    assert code == 403
    assert "code cell 3" in message
    assert "rm" in message
    assert (await call(jp_fetch, "status", path=rel))["status"] == "draft"


async def test_approve_then_match_returns_the_runbook(jp_fetch: Any, ws: Path) -> None:
    make_runbook(ws, "db-lock", symptoms=[SYMPTOM])
    make_runbook(ws, "other", symptoms=["connection refused by upstream"])
    line = "ERROR: deadlock detected while waiting for ShareLock on transaction 9001"
    assert (await call(jp_fetch, "match", {"line": line}))["candidates"] == []  # drafts only
    result = await call(jp_fetch, "approve", {"path": "runbooks/drafts/db-lock.ipynb"})
    assert result["status"] == "approved"
    assert result["approval"]["by"] == approver()
    found = await call(jp_fetch, "match", {"line": line})
    assert [c["runbook"] for c in found["candidates"]] == ["db-lock"]
    top = found["candidates"][0]
    assert top["path"] == "runbooks/drafts/db-lock.ipynb"
    assert top["score"] >= load_context(ws).settings.match_threshold
    assert top["variables"] == [{"kind": "NUM", "value": "9001"}]
    assert top["pattern"].endswith("on transaction <NUM>")
    code, _ = await fails(jp_fetch, "match", {"line": "   "})
    assert code == 400


async def test_run_refuses_a_draft(jp_fetch: Any, ws: Path) -> None:
    make_runbook(ws, "db-lock", symptoms=[SYMPTOM], params={"DB": "main"})
    code, message = await fails(jp_fetch, "run", {"path": "runbooks/drafts/db-lock.ipynb",
                                                  "parameters": {"DB": "x"}})
    assert code == 403
    assert "draft" in message


async def test_run_refuses_a_stale_runbook(jp_fetch: Any, ws: Path) -> None:
    approve(env(), make_runbook(ws, "db-lock", symptoms=[SYMPTOM]))
    ipynb = ws / "runbooks" / "drafts" / "db-lock.ipynb"
    nb = notebooks.read(ipynb)
    code = next(c for c in nb["cells"] if "fix" in c["metadata"].get("tags", []))
    code["source"] = "echo edited in JupyterLab"
    notebooks.write(nb, ipynb)  # what a save from JupyterLab does to the .ipynb
    rel = "runbooks/drafts/db-lock.ipynb"
    state = await call(jp_fetch, "status", path=rel)
    assert state["status"] == "stale"
    assert state["changed_cells"] == [2]
    code_, message = await fails(jp_fetch, "run", {"path": rel})
    assert code_ == 403
    assert "stale" in message


async def test_run_rejects_bad_parameters(jp_fetch: Any, ws: Path) -> None:
    approve(env(), make_runbook(ws, "db-lock", params={"DB": "main"}))
    rel = "runbooks/drafts/db-lock.ipynb"
    code, _ = await fails(jp_fetch, "run", {"path": rel, "parameters": ["DB"]})
    assert code == 400
    code, message = await fails(jp_fetch, "run", {"path": rel, "parameters": {"NOPE": "1"}})
    assert code == 400, message


async def test_suggestions_and_alerts_come_from_the_store(jp_fetch: Any, ws: Path) -> None:
    approve(env(), make_runbook(ws, "pg-locks", alerts=[{"alertname": "PostgresLocks"}]))
    store = Store(load_context(ws).db_path)
    try:
        store.add_event("suggestion", "pg-locks", {
            "trigger": {"line": SYMPTOM}, "runbook": "pg-locks", "score": 0.93,
            "action": "suggest", "reason": "autonomy is suggest", "pattern": SYMPTOM})
        store.upsert_node("Alert", "fp-1", {
            "labels": {"alertname": "PostgresLocks", "severity": "page"},
            "annotations": {"summary": "locks piling up"},
            "startsAt": "2026-11-24T10:00:00Z", "status": "firing"})
    finally:
        store.close()
    [suggestion] = await call(jp_fetch, "suggestions")
    assert (suggestion["runbook"], suggestion["line"]) == ("pg-locks", SYMPTOM)
    [alert] = await call(jp_fetch, "alerts", limit="5")
    assert alert["title"] == "PostgresLocks: locks piling up"
    found = await call(jp_fetch, "match", {"alert": "fp-1"})
    assert [c["runbook"] for c in found["candidates"]] == ["pg-locks"]
    code, _ = await fails(jp_fetch, "match", {"alert": "nope"})
    assert code == 404
    code, _ = await fails(jp_fetch, "alerts", limit="many")
    assert code == 400


async def test_record_pages_are_served_sandboxed(jp_fetch: Any, ws: Path) -> None:
    page = ws / "runbooks" / "records" / "db-lock" / "20261124T100000Z-abc123.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html><body>record</body></html>")
    response = await jp_fetch("reifier", "api", "records", "db-lock",
                              "20261124T100000Z-abc123.html")
    assert response.body == b"<html><body>record</body></html>"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    code, _ = await fails(jp_fetch, "records/db-lock/20261124T100000Z-ffffff.html")
    assert code == 404
    code, _ = await fails(jp_fetch, "records/db-lock/.hidden.html")
    assert code == 400


def test_workspace_is_the_root_unless_the_env_names_a_directory_inside_it(tmp_path: Path) -> None:
    from reifier.server.lab import choose_roots

    inside = tmp_path / "team"
    inside.mkdir()
    assert choose_roots(str(tmp_path), {}).workspace == tmp_path.resolve()
    assert choose_roots(str(tmp_path), {"REIFIER_WORKSPACE": str(inside)}).workspace == inside
    assert choose_roots(str(inside), {"REIFIER_WORKSPACE": str(tmp_path)}).workspace == inside


@pytest.mark.parametrize(("port", "no_browser", "root"), [(None, False, False), (8899, True, True)])
def test_reifier_lab_command_line(tmp_path: Path, port: int | None, no_browser: bool,
                                  root: bool) -> None:
    from reifier.cli.lab import lab_argv

    argv = lab_argv(tmp_path, port, no_browser, root, ("--ServerApp.token=x",))
    assert argv[1:3] == ["-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={tmp_path}" in argv
    assert "--ip=127.0.0.1" in argv
    assert "--ServerApp.jpserver_extensions=reifier.server.lab=True" in argv
    assert ("--allow-root" in argv) == root
    assert ("--no-browser" in argv) == no_browser
    assert (f"--port={port}" in argv) == (port is not None)
    assert argv[-1] == "--ServerApp.token=x"
