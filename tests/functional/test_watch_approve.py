"""`reifier watch` never approves: a runbook moved into runbooks/approved/ is a request,
reported once per change; approving and revoking there stick. It says what it does."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.functional.runbook_factory import approve, make_runbook

REIFIER = [sys.executable, "-m", "reifier"]


def status(env: dict[str, str], path: Path) -> str:
    out = subprocess.run([*REIFIER, "status", str(path), "--json"], env=env, capture_output=True,
                         text=True, check=True).stdout
    data = json.loads(out)
    return str((data[0] if isinstance(data, list) else data)["status"])


class Lines:
    """The watcher's stderr, read as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        self.stream = proc.stderr
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count(text) < count:
            time.sleep(0.1)
        assert self.count(text) >= count, self.lines

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@pytest.mark.slow
def test_moving_into_approved_is_reported_never_approved(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "restart-cache", cells=["systemctl restart memcached"], session_user="alice")
    watch = subprocess.Popen([*REIFIER, "watch"], env=reifier_env, stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(watch)
        out.wait_for("watching")
        target = ws / "runbooks" / "approved"
        target.mkdir()  # created while the watcher runs: it starts watching it
        for twin in (md, md.with_suffix(".ipynb")):
            twin.rename(target / twin.name)
        moved = target / md.name
        notice = "runbooks/approved/restart-cache.md is not approved (draft): run reifier approve"
        out.wait_for(notice)
        time.sleep(2)
        assert status(reifier_env, moved) == "draft"
        assert "status: draft" in moved.read_text()
        assert out.count("is not approved") == 1  # the pair once, not each file, not each second
        # a real approval is not reported; a revoke in approved/ sticks and is reported once
        approve(reifier_env, moved)
        assert status(reifier_env, moved) == "approved"
        subprocess.run([*REIFIER, "approve", "--revoke", str(moved)], env=reifier_env,
                       check=True, capture_output=True)
        out.wait_for("runbooks/approved/restart-cache.md is not approved", count=2)
        time.sleep(2)
        assert status(reifier_env, moved) != "approved"
        assert out.count("is not approved") == 2
        assert watch.poll() is None
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_watch_once_reports_drafts_in_approved_and_approves_nothing(
        reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    good = make_runbook(ws, "ok", cells=["systemctl restart memcached"], folder="approved")
    bad = make_runbook(ws, "bad", cells=["rm -rf /"], folder="approved")
    signed = make_runbook(ws, "signed", cells=["systemctl restart nginx"], folder="approved")
    approve(reifier_env, signed)
    proc = subprocess.run([*REIFIER, "watch", "--once"], env=reifier_env, capture_output=True,
                          text=True, check=True)
    notices = [line for line in proc.stderr.splitlines() if "is not approved" in line]
    assert notices == [
        "reifier: runbooks/approved/bad.md is not approved (draft): run reifier approve"
        " runbooks/approved/bad.md --by NAME",
        "reifier: runbooks/approved/ok.md is not approved (draft): run reifier approve"
        " runbooks/approved/ok.md --by NAME",
    ]
    assert "approved " not in proc.stdout
    assert status(reifier_env, good) == "draft"
    assert status(reifier_env, bad) == "draft"
    assert status(reifier_env, signed) == "approved"


def test_watch_says_when_it_closes_drafts_or_skips(reifier_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    hist.write_text("#1763978400\nsystemctl restart app\n#1763978460\ncurl -s localhost/health\n"
                    "#1763990000\nls\n#1763990010\ncat /etc/hostname\n")  # two sessions, 3 h apart
    env = {**reifier_env, "REIFIER_HISTORY_FILES": str(hist)}
    proc = subprocess.run([*REIFIER, "watch", "--once"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    closed = [line for line in lines if line.startswith("reifier: closed session ")]
    assert len(closed) == 2
    assert sum("(2 commands, 1 fix/edit)" in line for line in closed) == 1
    assert sum(" no fix or edit, no draft" in line for line in lines) == 1  # ls + cat: skipped
    (drafted,) = [line for line in lines if line.startswith("reifier: drafted ")]
    assert "runbooks/drafts/" in drafted and ".md from session " in drafted
    assert "2 sessions closed" in proc.stdout


def test_session_closed_subscribers_are_called(reifier_env: dict[str, str], tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    dist = plugins / "reifier_test_plugin-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reifier-test-plugin\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(
        "[reifier.session_closed]\nrecord = reifier_test_plugin:record\n"
        "broken = reifier_test_plugin:broken\n")
    out = tmp_path / "closed.txt"
    (plugins / "reifier_test_plugin.py").write_text(
        "def record(ctx, store, sid):\n"
        f"    open({str(out)!r}, 'a').write(sid + '\\n')\n"
        "def broken(ctx, store, sid):\n    raise RuntimeError('plugin bug')\n")
    hist = tmp_path / "hist"
    hist.write_text("#1763978400\nsystemctl restart app\n#1763978460\ncurl -s localhost/health\n")
    env = {**reifier_env, "PYTHONPATH": str(plugins), "REIFIER_HISTORY_FILES": str(hist)}
    proc = subprocess.run([*REIFIER, "watch", "--once"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().split()) == 1  # one session closed, reported once
    assert "subscriber broken: RuntimeError: plugin bug" in proc.stderr
