"""`reifier demo`: the README's main job, end to end, for real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_the_whole_cycle(tmp_path: Path, reifier_env: dict[str, str]) -> None:
    sandbox = tmp_path / "sandbox"
    proc = subprocess.run([sys.executable, "-m", "reifier", "demo", "--sandbox", str(sandbox)],
                          capture_output=True, text=True, timeout=300, env=reifier_env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for n in range(1, 7):
        assert f"[{n}/6]" in out
    assert "fix sequence:" in out and "./appctl stop" in out and "rm state/app.lock" in out
    assert "service healthy again: the runbook fixed it, unattended" in out
    html = next(line.split(": ", 1)[1] for line in out.splitlines() if "record (HTML)" in line)
    page = Path(html).read_text()
    assert "appctl" in page and "demo-app started" in page  # the fix cell and its output
    ws = sandbox / "workspace"
    verify = subprocess.run([sys.executable, "-m", "reifier", "records", "--verify",
                             "--workspace", str(ws)], capture_output=True, text=True,
                            env={**reifier_env, "REIFIER_HOME": str(sandbox / "home")})
    assert verify.returncode == 0, verify.stdout + verify.stderr
