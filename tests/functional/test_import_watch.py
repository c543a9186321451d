"""`reifier import`, `reifier sessions` and `reifier watch` against real files and SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.functional.cli import REIFIER, run


def db_rows(env: dict[str, str]) -> list[tuple[float, str]]:
    db = sqlite3.connect(Path(env["REIFIER_HOME"]) / "reifier.db")
    try:
        return db.execute("SELECT started, command FROM commands ORDER BY started, seq").fetchall()
    finally:
        db.close()


def test_fixture_histories_import_into_expected_sessions(reifier_env: dict[str, str], fixtures_dir: Path) -> None:
    hist = fixtures_dir / "histories"
    out = json.loads(run("import", "--json", str(hist / "db_lockup_bash_history"),
                         str(hist / "disk_full_zsh_history"), str(hist / "plain_bash_history"),
                         env=reifier_env).stdout)
    assert [(r["format"], r["read"], r["added"]) for r in out] == [
        ("bash-timestamps", 20, 20), ("zsh-extended", 7, 7), ("bash", 4, 4)]
    sessions = json.loads(run("sessions", "--json", env=reifier_env).stdout)
    by_size = sorted((s["commands"], s["roles"]["fix"]) for s in sessions)
    # db lockup: 15 commands (3 fixes) then, an hour later, a 5-command session;
    # disk full: 7 commands in one session; plain history: one session, times unknown
    assert sorted(s["commands"] for s in sessions) == [4, 5, 7, 15]
    assert (15, 3) in by_size
    assert all(s["closed"] for s in sessions)
    assert any(s["started"] is None for s in sessions)


def test_import_twice_adds_nothing(reifier_env: dict[str, str], fixtures_dir: Path) -> None:
    path = str(fixtures_dir / "histories" / "db_lockup_bash_history")
    run("import", path, env=reifier_env)
    again = json.loads(run("import", "--json", path, env=reifier_env).stdout)[0]
    assert again["added"] == 0 and again["duplicates"] == 20
    assert len(db_rows(reifier_env)) == 20


def test_no_secret_survives_into_the_store(reifier_env: dict[str, str], fixtures_dir: Path, tmp_path: Path) -> None:
    cases = [json.loads(line) for line in (fixtures_dir / "secrets.jsonl").read_text().splitlines() if line.strip()]
    hist = tmp_path / "hist"
    with hist.open("w") as fh:
        for i, case in enumerate(cases):
            fh.write(f"#{1763978400 + i}\n{case['cmd']}\n")
    out = json.loads(run("import", "--json", str(hist), env=reifier_env).stdout)[0]
    assert out["added"] == len(cases)  # redacted, never dropped
    raw = (Path(reifier_env["REIFIER_HOME"]) / "reifier.db").read_bytes()
    for wal in Path(reifier_env["REIFIER_HOME"]).glob("reifier.db-wal"):
        raw += wal.read_bytes()
    for case in cases:
        for secret in case["secrets"]:
            assert secret.encode() not in raw, secret
    assert all("<REDACTED:" in cmd for _, cmd in db_rows(reifier_env))


def test_bad_input_counts_skips_and_exit_codes(reifier_env: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(4096).replace(b"\n", b"\0"))
    proc = run("import", str(junk), env=reifier_env, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    mixed = tmp_path / "mixed"
    mixed.write_bytes(b"#1763978400\nsystemctl restart app\n#99999999999999999999\n" + b"x" * 2_000_000
                      + b"\n#1763978460\n\xff\xfe bad utf8 \xff\n#1763978470\ncurl -s localhost")
    out = json.loads(run("import", "--json", str(mixed), env=reifier_env).stdout)[0]
    assert out["added"] >= 2 and out["skipped"] >= 2
    cmds = [c for _, c in db_rows(reifier_env)]
    # the last line has no newline yet: it waits for the import that sees it whole
    assert "systemctl restart app" in cmds and "curl -s localhost" not in cmds
    assert "no newline" in json.dumps(out)
    missing = run("import", str(tmp_path / "nope"), env=reifier_env, check=False)
    assert missing.returncode == 2 and "nope" in missing.stderr
    unreadable = tmp_path / "dir"
    unreadable.mkdir()
    assert run("import", str(unreadable), env=reifier_env, check=False).returncode == 2


def test_watch_once_follows_history_file_growth_and_rewrite(reifier_env: dict[str, str], tmp_path: Path) -> None:
    hist = tmp_path / "bash_history"
    env = {**reifier_env, "REIFIER_HISTORY_FILES": str(hist)}
    now = int(time.time())
    hist.write_text(f"#{now - 30}\nsystemctl restart app\n#{now - 20}\ncurl -s loc")
    run("watch", "--once", env=env)
    assert [c for _, c in db_rows(env)] == ["systemctl restart app"]  # partial line waits
    with hist.open("a") as fh:
        fh.write(f"alhost/health\n#{now - 10}\nls\n")
    run("watch", "--once", env=env)
    assert [c for _, c in db_rows(env)] == ["systemctl restart app", "curl -s localhost/health", "ls"]
    # HISTFILESIZE truncation rewrites the file shorter: read again, nothing duplicated
    hist.write_text(f"#{now - 10}\nls\n#{now - 5}\ndf -h\n")
    run("watch", "--once", env=env)
    assert [c for _, c in db_rows(env)] == [
        "systemctl restart app", "curl -s localhost/health", "ls", "df -h"]


@pytest.mark.slow
def test_kill_9_loses_nothing_and_duplicates_nothing(reifier_env: dict[str, str], tmp_path: Path) -> None:
    hist = tmp_path / "bash_history"
    hist.write_bytes(b"")
    env = {**reifier_env, "REIFIER_HISTORY_FILES": str(hist)}
    total = 3000
    base = int(time.time()) - total

    def writer() -> None:
        with hist.open("ab", buffering=0) as fh:
            for i in range(total):
                entry = f"#{base + i}\necho command-{i} 'with  spaces'\n".encode()
                cut = len(entry) // 2
                fh.write(entry[:cut])  # a torn write the watcher must not half-read
                fh.write(entry[cut:])
                if i % 50 == 0:
                    time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    kills = kill_watch_while(thread, env)
    run("watch", "--once", env=env)
    cmds = [c for _, c in db_rows(env)]
    assert len(cmds) == total
    assert cmds == [f"echo command-{i} 'with  spaces'" for i in range(total)]
    assert kills >= 8


def kill_watch_while(thread: threading.Thread, env: dict[str, str], times: int = 8) -> int:
    """SIGKILL `reifier watch` at varied moments while ``thread`` writes (at least ``times``)."""
    kills = 0
    while thread.is_alive() or kills < times:
        proc = subprocess.Popen([*REIFIER, "watch"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(0.3 + (kills % 4) * 0.15)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    thread.join()
    return kills


def test_sessions_help_and_every_command_has_help(reifier_env: dict[str, str]) -> None:
    from reifier.cli import COMMANDS

    top = run("--help", env=reifier_env).stdout
    for name in COMMANDS:
        assert name in top
        proc = run(name, "--help", env=reifier_env)
        assert "Usage:" in proc.stdout and len(proc.stdout.splitlines()) > 3
