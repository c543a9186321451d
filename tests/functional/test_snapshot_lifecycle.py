"""Issue #22: a pre-edit snapshot is 0600 in 0700 folders, never reaches a draft raw,
and is deleted once the session's draft is written (or after 7 days undrafted)."""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path

import pytest

from reifier.adapters.evidence import SNAPSHOT_RETENTION_S, prune_snapshots
from tests.functional.cli import run


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_secret_edit_snapshot_private_redacted_and_deleted(
    reifier_env: dict[str, str], tmp_path: Path
) -> None:
    import pexpect

    conf = tmp_path / "etc" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("name=app\npassword = hunter2\nworkers=2\n")
    conf.chmod(0o644)
    env = {**reifier_env, "REIFIER_SESSION_GAP_S": "1"}
    home = Path(env["REIFIER_HOME"])
    bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, encoding="utf-8",
                         timeout=30)
    bash.sendline("PS1='T$ '")
    bash.expect_exact("T$ ")
    bash.expect_exact("T$ ")
    bash.sendline(f'eval "$({sys.executable} -m reifier init bash)"')
    bash.expect_exact("T$ ")
    for cmd in (f"cat {conf}", f"sed -i 's/hunter2/Tr0ub4dor-9/' {conf}", f"grep name {conf}"):
        bash.sendline(cmd)
        bash.expect_exact("T$ ")
    (snap,) = [p for p in (home / "snapshots").rglob("*") if p.is_file()]
    assert snap.read_text() == "name=app\npassword = hunter2\nworkers=2\n"
    assert _mode(snap) == 0o600
    assert _mode(snap.parent) == 0o700 and _mode(home / "snapshots") == 0o700
    bash.sendline("exit")
    bash.expect(pexpect.EOF)
    time.sleep(1.5)
    run("watch", "--once", env=env)
    (md,) = (Path(env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts").glob("*.md")
    text = md.read_text() + md.with_suffix(".ipynb").read_text()
    assert "hunter2" not in text and "Tr0ub4dor-9" not in text
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    (params,) = [c["source"] for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert 'PASSWORD="${PASSWORD:-}"' in "".join(params)
    # the draft holds the redacted diff: the raw copy is gone
    assert not snap.exists()
    assert not [p for p in (home / "snapshots").rglob("*") if p.is_file()]


def test_undrafted_snapshots_pruned_after_retention(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    (root / "sid").mkdir(parents=True)
    snap = root / "sid" / "3-app.conf"
    snap.write_text("password = hunter2\n")
    assert prune_snapshots(root) == 0 and snap.exists()  # fresh: kept
    assert prune_snapshots(root, now=time.time() + SNAPSHOT_RETENTION_S + 60) == 1
    assert not snap.exists() and not (root / "sid").exists()
