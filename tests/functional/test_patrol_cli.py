"""`reifier patrol` as documented: where it starts, when it resumes, missing files,
repeats within a window as one counted suggestion, and the real reason of a decision."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.functional.cli import REIFIER, run
from tests.functional.runbook_factory import approve, make_runbook
from tests.functional.test_memory import suggestions

DEADLOCK = "ERROR: deadlock detected while waiting for ShareLock on transaction {}"
DISK = "kernel: EXT4-fs warning (device sda{}): ext4_dx_add_entry: Directory index full!"


@pytest.fixture
def env(reifier_env: dict[str, str]) -> dict[str, str]:
    root = Path(reifier_env["REIFIER_WORKSPACE"])
    db = make_runbook(root, "fix-db-lockup", symptoms=[DEADLOCK.format(12345)],
                      cells=["systemctl restart app"])
    disk = make_runbook(root, "fix-dir-index", symptoms=[DISK.format(1)], cells=["echo tune2fs"])
    approve(reifier_env, db, disk)
    return reifier_env


def lines_of(items: list[dict[str, object]]) -> list[str]:
    return [str(s["trigger"]["line"]) for s in items]  # type: ignore[index]


def test_missing_or_bad_file_exits_2_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    for args in ([str(tmp_path / "nope.log")], [str(tmp_path / "nope.log"), "--follow"],
                 [str(tmp_path)]):
        proc = run("patrol", *args, env=env, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and args[0] in proc.stderr
        assert "lines read" not in proc.stderr + proc.stdout
    log = tmp_path / "app.log"
    log.write_text("")
    both = run("patrol", str(log), "--from-start", "--resume", env=env, check=False)
    assert both.returncode == 2 and both.stderr.count("\n") == 1


def test_new_patrol_starts_at_the_end_and_resumes_only_when_asked(
        env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "postgres.log"
    log.write_text(f"LOG: checkpoint starting\n{DEADLOCK.format(1)}\n")
    first = run("patrol", str(log), env=env)
    assert first.stdout == "" and "0 lines read" in first.stderr
    assert "--from-start" in first.stderr  # says how to read what is there
    assert suggestions(env) == []
    with log.open("a") as fh:
        fh.write(DEADLOCK.format(2) + "\n")
    again = run("patrol", str(log), env=env)  # no flag: a new patrol, from the end again
    assert "0 lines read" in again.stderr and suggestions(env) == []
    with log.open("a") as fh:
        fh.write(DEADLOCK.format(3) + "\n")
    resumed = run("patrol", str(log), "--resume", env=env)  # from where the last one stopped
    assert "1 lines read, 1 matched" in resumed.stderr
    assert lines_of(suggestions(env)) == [DEADLOCK.format(3)]
    assert "0 lines read" in run("patrol", str(log), "--resume", env=env).stderr
    for _ in range(2):  # --from-start always reads the whole file, even after a resume
        whole = run("patrol", str(log), "--from-start", "--window", "0", env=env)
        assert "4 lines read, 3 matched" in whole.stderr
    assert lines_of(suggestions(env))[1:] == [DEADLOCK.format(n) for n in (1, 2, 3)] * 2


def test_repeats_within_the_window_are_one_suggestion_with_a_count(
        env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    body = [DEADLOCK.format(1000 + i) for i in range(32)] + [DISK.format(i) for i in range(3)]
    log.write_text("\n".join(body[:20] + body[32:] + body[20:32]) + "\n")
    out = run("patrol", str(log), "--from-start", "--no-run", env=env)
    shown = out.stdout.splitlines()
    assert len(shown) == 2, shown
    assert "fix-db-lockup" in shown[0] and "x32" in shown[0] and DEADLOCK.format(1000) in shown[0]
    assert "fix-dir-index" in shown[1] and "x3" in shown[1]
    assert "35 lines read, 35 matched, 2 suggestion(s)" in out.stderr
    stored = suggestions(env)
    assert [(s["runbook"], s["count"], s["last_line"]) for s in stored] == [
        ("fix-db-lockup", 32, DEADLOCK.format(1031)), ("fix-dir-index", 3, DISK.format(2))]
    # a window of 0: every line is its own suggestion
    run("patrol", str(log), "--from-start", "--no-run", "--window", "0", env=env)
    assert len(suggestions(env)) == 2 + 35


@pytest.mark.slow
def test_reason_of_a_suggest_only_runbook_is_not_cool_down(
        env: dict[str, str], tmp_path: Path) -> None:
    md = Path(env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts" / "fix-dir-index.md"
    run("run", str(md), "--quiet", env=env)  # a run just ended: it is in its cool-down
    execs = [n for n in json.loads(run("graph", env=env).stdout)["nodes"]
             if n["kind"] == "Execution"]
    assert [e["props"]["status"] for e in execs] == ["ok"]
    log = tmp_path / "app.log"
    log.write_text(DISK.format(7) + "\n")
    out = run("patrol", str(log), "--from-start", env=env).stdout
    assert "(suggest only: autonomy is suggest)" in out and "cool-down" not in out
    (s,) = suggestions(env)
    assert s["action"] == "suggest" and s["reason"] == "suggest only: autonomy is suggest"


@pytest.mark.slow
def test_follow_counts_repeats_and_shows_the_first_at_once(
        env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(DEADLOCK.format(1) + "\n")  # before the patrol: not read (starts at the end)
    proc = subprocess.Popen([*REIFIER, "patrol", str(log), "--follow", "--no-run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and "patrolling" in proc.stderr.readline()
        with log.open("a") as fh:
            fh.write(DEADLOCK.format(2) + "\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not suggestions(env):
            time.sleep(0.05)
        for n in (3, 4, 5):
            with log.open("a") as fh:
                fh.write(DEADLOCK.format(n) + "\n")
        while time.monotonic() < deadline and suggestions(env)[0].get("count") != 4:
            time.sleep(0.05)
        (s,) = suggestions(env)
        assert s["count"] == 4 and s["last_line"] == DEADLOCK.format(5)
        assert lines_of([s]) == [DEADLOCK.format(2)]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    shown = out.splitlines()
    assert shown[0].startswith("suggest fix-db-lockup") and DEADLOCK.format(2) in shown[0]
    assert "3 more matching line(s) within 60s: one suggestion, count 4" in shown[1]
    assert len(shown) == 2
