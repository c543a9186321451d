"""End to end in a real browser: ``reifier lab`` + Debian's chromium driven by Playwright.

A real JupyterLab (started by ``reifier lab``) serves a temp workspace holding
a draft runbook with a symptom and a parameter. The test uses the UI as a
person would: the Runbooks panel, a pasted log line, the notebook toolbar's
Approve (dialog) and Run (parameters form), the record link, and the badge
turning stale after an edit is saved. Screenshots go to test-artifacts/lab-e2e/.

Skipped only when chromium or Playwright is absent; a missing or broken
extension fails the test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import signing_env
from tests.functional.runbook_factory import make_runbook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "lab-e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SYMPTOM = "ERROR: deadlock detected while waiting for ShareLock on transaction 4711"
LOG_LINE = "2026-11-24 10:00:01 UTC [812] ERROR: deadlock detected while waiting for " \
           "ShareLock on transaction 99812"
TOKEN = "reifier-e2e-token-0123456789abcdef"
WAIT_MS = 60_000

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its URL, workspace and scratch dir the runbook writes to."""

    url: str
    workspace: Path
    scratch: Path
    log: Path


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the server's status API until it answers (bounded: 90 s)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"reifier lab exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not come up:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path: Path, approver_key: Path, second_key: Path) -> Iterator[Lab]:
    """Start ``reifier lab`` on a temp workspace with one draft runbook; stop it after."""
    from reifier.cli.lab import front_end_installed

    assert front_end_installed(), "reifier-lab front end missing: run scripts/build-labextension.sh"
    ws, home, scratch = tmp_path / "ws", tmp_path / "home", tmp_path / "scratch"
    for d in (ws, home, scratch):
        d.mkdir()
    make_runbook(ws, "db-lock", symptoms=[SYMPTOM], params={"DIR": str(scratch), "MSG": "hello"},
                 cells=['printf "%s" "$MSG" > "$DIR/msg"; echo "wrote [$MSG]"'])
    make_runbook(ws, "wipe", cells=["rm -rf /"])  # never runs: the guard refuses approval
    # No "official Jupyter news?" toast over the UI (it would only add noise to screenshots).
    news = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = free_port()
    env = {**os.environ, "REIFIER_HOME": str(home / "reifier"), "HOME": str(home),
           "JUPYTER_TOKEN": TOKEN, "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    # the user's own SSH key signs approvals made in JupyterLab (the browser never sees it)
    env = signing_env(env, ws, approver_key, second_key)
    log = tmp_path / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reifier", "lab", "--no-browser", "--port", str(port),
             "--workspace", str(ws)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, log)
        yield Lab(url, ws, scratch, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shot(page: Any, name: str) -> None:
    """Save a screenshot under test-artifacts/lab-e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def close_dialog(page: Any) -> None:
    """Press the dialog's last (default) button and wait for that dialog to go."""
    dialog = page.locator(".jp-Dialog").element_handle()
    page.locator(".jp-Dialog .jp-Dialog-footer .jp-Dialog-button").last.click()
    dialog.wait_for_element_state("hidden")  # another dialog may open right after


def test_runbook_panel_approve_match_run_and_stale(lab: Lab) -> None:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                drive(page, lab)
            except Exception:
                shot(page, "failure")  # what the browser showed when it failed
                print(lab.log.read_text()[-5000:])
                raise
            assert errors == [], errors
        finally:
            browser.close()


def drive(page: Any, lab: Lab) -> None:
    """Use the extension as a person would, asserting what each step shows."""
    page.goto(f"{lab.url}/lab?token={TOKEN}")
    page.locator("#jp-main-dock-panel").wait_for()

    # The Runbooks panel lists the draft; a pasted line matches nothing yet.
    page.locator('.lm-TabBar-tab[data-id="reifier-runbooks"]').click()
    item = page.locator('.reifier-runbook[data-runbook="db-lock"]')
    item.locator(".reifier-badge-draft").wait_for()
    page.locator(".reifier-line").fill(LOG_LINE)
    page.locator(".reifier-match").click()
    page.get_by_text("No approved runbook matches this line.").wait_for()
    shot(page, "01-panel-draft-no-match")

    # Open it: the toolbar badge says draft and Run refuses with the reason.
    item.click()
    badge = page.locator(".jp-NotebookPanel-toolbar .reifier-toolbar-status .reifier-badge")
    page.locator(".reifier-toolbar-status .reifier-badge-draft").wait_for()
    page.locator(".reifier-run-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("runbook is draft").wait_for()
    shot(page, "02-run-refused-draft")
    close_dialog(page)

    # Approve through the dialog: digest and guard findings are shown.
    page.locator(".reifier-approve-button").click()
    dialog.locator(".reifier-digest").wait_for()
    assert dialog.locator(".reifier-digest").inner_text().startswith("sha256:")
    dialog.get_by_text("no findings").wait_for()
    # the dialog shows every code cell it signs, verbatim
    assert dialog.locator(".reifier-signed-source").count() >= 2
    shot(page, "03-approve-dialog")
    close_dialog(page)
    page.locator(".reifier-toolbar-status .reifier-badge-approved").wait_for()

    # Now the pasted log line finds it, with score and pattern.
    page.locator(".reifier-match").click()
    cand = page.locator('.reifier-candidate[data-runbook="db-lock"]')
    cand.wait_for()
    assert float(cand.locator(".reifier-score").inner_text()) >= 0.8
    assert "<NUM>" in cand.locator(".reifier-reason").first.inner_text()
    shot(page, "04-match-after-approval")

    # Run with a parameter from the form; the outcome links the record.
    page.locator(".reifier-run-button").click()
    field = dialog.locator('input[data-parameter="MSG"]')
    field.fill("from-the-browser")
    shot(page, "05-run-form")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    link = page.locator(".jp-Dialog .reifier-record-link")
    link.wait_for(timeout=180_000)
    assert dialog.locator(".reifier-ok").inner_text() == "ok"
    shot(page, "06-run-outcome")
    assert (lab.scratch / "msg").read_text() == "from-the-browser"
    href = link.get_attribute("href")
    assert href
    record = page.context.new_page()  # same context: the login cookie
    record.goto(f"{lab.url}{href}" if href.startswith("/") else href)
    record.get_by_text("from-the-browser").first.wait_for()
    shot(record, "07-record")
    record.close()
    close_dialog(page)

    # Runs & patterns: the symptom and the run just made, with its record.
    page.locator(".reifier-info-button").click()
    dialog.locator(".reifier-history .reifier-run-ok").wait_for()
    dialog.get_by_text(SYMPTOM).wait_for()
    assert dialog.locator(".reifier-history a").count() == 1
    shot(page, "07b-runs-and-patterns")
    close_dialog(page)

    # Edit a code cell and save: the badge turns stale, Run refuses.
    editor = page.locator(".jp-Notebook .jp-CodeCell .cm-content").last
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type("  # edited in the browser")
    page.keyboard.press("Control+s")
    page.locator(".reifier-toolbar-status .reifier-badge-stale").wait_for()
    assert "changed" in (badge.get_attribute("title") or "")
    shot(page, "08-stale-after-save")
    page.locator(".reifier-run-button").click()
    dialog.get_by_text("runbook is stale").wait_for()
    shot(page, "09-run-refused-stale")
    close_dialog(page)

    # A draft the guard objects to: the dialog lists the finding, approval is refused.
    page.locator('.reifier-runbook[data-runbook="wipe"]').click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="wipe.ipynb").wait_for()
    page.locator(".jp-NotebookPanel:visible .reifier-approve-button").click()
    dialog.locator(".reifier-refusals").get_by_text("code cell 2").wait_for()
    shot(page, "10-approve-guard-findings")
    close_dialog(page)
    dialog.get_by_text("Approval refused").wait_for()
    assert "rm" in dialog.locator(".jp-Dialog-body").inner_text()
    shot(page, "11-approval-refused")
    close_dialog(page)
    assert "approval" not in json.loads(
        (lab.workspace / "runbooks" / "drafts" / "wipe.ipynb").read_text()
    )["metadata"]["reifier"]
