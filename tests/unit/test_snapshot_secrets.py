"""Issue #22: a secret in an edited config file never reaches a draft, and replays from the env."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from reifier.adapters.evidence import edit_diffs
from reifier.core.classify import assign_roles
from reifier.core.draft import DraftInputs, build_draft
from reifier.core.models import CommandEvent, Session

OLD = "name=app\npassword = hunter2\nDB_PASSWORD=s3cr3t-old\n  token: \"tok-old-1\"\nworkers=2\n"
NEW = "name=app\npassword = Tr0ub4dor\nDB_PASSWORD=s3cr3t-new\n  token: \"tok-new-2\"\nworkers=2\n"
SECRETS = ("hunter2", "Tr0ub4dor", "s3cr3t-old", "s3cr3t-new", "tok-old-1", "tok-new-2")


def _session(tmp_path: Path, old: str, new: str) -> tuple[Session, Path, Path]:
    conf = tmp_path / "app.conf"
    snaps = tmp_path / "snapshots"
    (snaps / "sid").mkdir(parents=True)
    (snaps / "sid" / "1-app.conf").write_text(old)
    conf.write_text(new)
    cmd = CommandEvent(command=f"vim {conf}", started=1.0e9, shell_session="sid", seq=1,
                       cwd=str(tmp_path), exit_code=0, snapshot="sid/1-app.conf")
    session = Session(id="s1", shell_session="sid", host="h", user="u", started=1.0e9,
                      ended=1.0e9 + 5, commands=tuple(assign_roles([cmd])))
    return session, conf, snaps


def test_diff_redacts_both_sides(tmp_path: Path) -> None:
    session, conf, snaps = _session(tmp_path, OLD, NEW)
    (info,) = edit_diffs(session, snaps).values()
    assert not any(s in info.diff for s in SECRETS)
    assert "-password = <REDACTED:config-secret>" in info.diff
    assert "+password = <REDACTED:config-secret>" in info.diff
    assert "+DB_PASSWORD=<REDACTED:" in info.diff and "-DB_PASSWORD=<REDACTED:" in info.diff
    assert '+  token: "<REDACTED:config-secret>"' in info.diff


def _run(params: str, cell: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"set -eo pipefail\n{params}\n{cell}"], env=env,
                          capture_output=True, text=True, check=False)


def test_changed_secrets_become_env_parameters_and_replay(tmp_path: Path) -> None:
    session, conf, snaps = _session(tmp_path, OLD, NEW)
    draft = build_draft(session, DraftInputs(edits=edit_diffs(session, snaps)))
    text = "\n".join(c.source for c in draft.cells)
    assert not any(s in text for s in SECRETS)
    (params,) = [c.source for c in draft.cells if "parameters" in c.tags]
    for name in ("PASSWORD", "DB_PASSWORD", "TOKEN"):
        assert f'{name}="${{{name}:-}}"' in params
    (cell,) = [c.source for c in draft.cells if "edit" in c.tags]
    # replay on a box still holding the old values: the new ones come from the environment
    conf.write_text(OLD)
    env = {**os.environ, "PASSWORD": "from-env-1", "DB_PASSWORD": "from-env-2",
           "TOKEN": "from-env-3"}
    for _ in range(2):  # idempotent
        done = _run(params, cell, env)
        assert done.returncode == 0, done.stderr
        assert conf.read_text() == ('name=app\npassword = from-env-1\nDB_PASSWORD=from-env-2\n'
                                    '  token: "from-env-3"\nworkers=2\n')
    # without a value in the environment the cell fails and that line stays as it was
    del env["TOKEN"]
    conf.write_text(OLD)
    done = _run(params, cell, env)
    assert done.returncode != 0 and "no value" in done.stderr
    assert 'token: "tok-old-1"' in conf.read_text()


def test_other_lines_next_to_a_secret_fail_until_written(tmp_path: Path) -> None:
    session, conf, snaps = _session(tmp_path, OLD, NEW.replace("workers=2", "workers=8"))
    draft = build_draft(session, DraftInputs(edits=edit_diffs(session, snaps)))
    (cell,) = [c.source for c in draft.cells if "edit" in c.tags]
    assert "#   +workers=8" in cell and cell.rstrip().endswith("false")
    assert not any(s in "\n".join(c.source for c in draft.cells) for s in SECRETS)


def test_plain_edit_still_a_patch(tmp_path: Path) -> None:
    session, conf, snaps = _session(tmp_path, "workers=2\n", "workers=8\n")
    draft = build_draft(session, DraftInputs(edits=edit_diffs(session, snaps)))
    (cell,) = [c.source for c in draft.cells if "edit" in c.tags]
    assert "patch --forward" in cell and "+workers=8" in cell
