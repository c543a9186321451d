"""An edit typed in a real shell becomes an idempotent patch cell that replays it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.functional.cli import run


@pytest.mark.slow
def test_sed_edit_is_snapshotted_drafted_and_replayed(reifier_env: dict[str, str], tmp_path: Path) -> None:
    import pexpect

    conf = tmp_path / "etc" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("name=app\nworkers=2\ntimeout=30\n")
    env = {**reifier_env, "REIFIER_SESSION_GAP_S": "1"}
    bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, encoding="utf-8", timeout=30)
    bash.sendline("PS1='T$ '")
    bash.expect_exact("T$ ")
    bash.expect_exact("T$ ")
    bash.sendline(f'eval "$({sys.executable} -m reifier init bash)"')
    bash.expect_exact("T$ ")
    for cmd in (f"cat {conf}", f"sed -i 's/workers=2/workers=8/' {conf}",
                f"touch {tmp_path}/reloaded", f"grep workers {conf}"):
        bash.sendline(cmd)
        bash.expect_exact("T$ ")
    bash.sendline("exit")
    bash.expect(pexpect.EOF)
    time.sleep(1.5)
    run("watch", "--once", env=env)
    (md,) = (Path(env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts").glob("*.md")
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    edits = [c["source"] for c in nb["cells"] if "edit" in c["metadata"].get("tags", [])]
    assert len(edits) == 1 and "patch --forward" in edits[0]
    assert "-workers=2" in edits[0] and "+workers=8" in edits[0]
    # replay on a box where the change is not there yet, then again: idempotent
    conf.write_text("name=app\nworkers=2\ntimeout=30\n")
    run("approve", str(md), "--by", "reviewer", env=env)
    for _ in range(2):
        out = run("run", str(md), "--json", env=env)
        assert json.loads(out.stdout)["status"] == "ok"
        assert conf.read_text() == "name=app\nworkers=8\ntimeout=30\n"
