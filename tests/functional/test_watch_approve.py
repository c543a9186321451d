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
