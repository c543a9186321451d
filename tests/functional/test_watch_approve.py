"""Moving a draft into runbooks/approved/ while `reifier watch` runs approves it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.functional.runbook_factory import make_runbook

REIFIER = [sys.executable, "-m", "reifier"]


def status(env: dict[str, str], path: Path) -> str:
    out = subprocess.run([*REIFIER, "status", str(path), "--json"], env=env, capture_output=True,
                         text=True, check=True).stdout
    data = json.loads(out)
    return str((data[0] if isinstance(data, list) else data)["status"])


@pytest.mark.slow
def test_move_into_approved_signs_both_files(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "restart-cache", cells=["systemctl restart memcached"], session_user="alice")
    (ws / "runbooks" / "approved").mkdir(parents=True)
    watch = subprocess.Popen([*REIFIER, "watch"], env=reifier_env, stderr=subprocess.PIPE, text=True)
    try:
        assert watch.stderr is not None
        watch.stderr.readline()
        target = ws / "runbooks" / "approved"
        for twin in (md, md.with_suffix(".ipynb")):
            twin.rename(target / twin.name)
        moved = target / md.name
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and status(reifier_env, moved) != "approved":
            time.sleep(0.3)
        assert status(reifier_env, moved) == "approved"
        assert "status: approved" in moved.read_text()
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_watch_once_approves_moved_draft_and_keeps_refusals(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    good = make_runbook(ws, "ok", cells=["systemctl restart memcached"], folder="approved")
    bad = make_runbook(ws, "bad", cells=["rm -rf /"], folder="approved")
    out = subprocess.run([*REIFIER, "watch", "--once"], env=reifier_env, capture_output=True,
                         text=True, check=True).stdout
    assert f"approved {good.with_suffix('.ipynb')}" in out
    assert status(reifier_env, good) == "approved"
    assert status(reifier_env, bad) == "draft"  # the guard refused: left as a draft


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
