"""The zsh capture hook in real interactive zsh processes (pexpect, a real pty)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reifier.core.models import CommandEvent
from tests.functional.test_hook_bash import (
    REIFIER,
    Shell,
    commands,
    process_events_per_command,
    shell_env,
    spool_events,
    strace_works,
)

pytestmark = pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh not installed (apt-get install -y zsh)"
)

HOOK_FILE = Path(__file__).resolve().parents[2] / "reifier" / "shell" / "reifier.zsh"
# No line editor: typed text goes to zsh as is (tabs, long lines), and no
# PROMPT_SP/PROMPT_CR noise around the prompt.
SETUP = f'unsetopt zle prompt_sp prompt_cr; PS2=; eval "$({REIFIER} init zsh)"'


def start_zsh(home: Path, tmp: Path, pre: str = "") -> Shell:
    """Start an interactive zsh (no rc files) with the hook installed (after ``pre``)."""
    env = shell_env(home, tmp) | {"HOST": "testhost"}
    sh = Shell(["zsh", "-f", "-i"], env)
    sh.run("unsetopt zle prompt_sp prompt_cr")
    if pre:
        sh.run(pre)
    sh.run(SETUP)
    return sh


SCRIPT: tuple[bytes, ...] = (
    b"echo 'a\tb'  \"q\\\\z\" 'it'\"'\"'s' \\$HOME",
    b'for i in 1 2; do\n  echo "$i"\ndone',
    b"print -r -- caf\xe9 \xff | od -An -c",
    b"false",
    b"(exit 42)",
    b'echo "status=$?"',
    b"cd /tmp",
    b"sleep 0.3",
    b":",
)


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[bytes], list[CommandEvent]]]:
    """Run SCRIPT in one hooked zsh; yield what it printed and what was recorded."""
    tmp = tmp_path_factory.mktemp("zsh")
    home = tmp / "home"
    sh = start_zsh(home, tmp, pre='__pc() { echo "PC=$?"; }; precmd_functions+=(__pc)')
    outputs = [sh.run(line) for line in SCRIPT]
    sh.close()
    events = spool_events(home)
    assert len(events) == 1
    yield outputs, next(iter(events.values()))


def test_commands_recorded_exactly(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    _, events = session
    assert [e.command.encode("utf-8", "surrogateescape") for e in events] == list(SCRIPT)


def test_exit_codes_cwd_duration_and_times(
    session: tuple[list[bytes], list[CommandEvent]],
) -> None:
    _, events = session
    assert [e.exit_code for e in events[3:6]] == [1, 42, 0]
    assert events[6].cwd == "/tmp" and events[0].cwd != "/tmp"
    assert events[7].duration is not None and events[7].duration >= 0.3
    starts = [e.started for e in events]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert any(s is not None and s != int(s) for s in starts)
    assert {(e.host, e.user) for e in events} == {("testhost", "tester")}


def test_status_preserved_and_nothing_printed(
    session: tuple[list[bytes], list[CommandEvent]],
) -> None:
    outputs, _ = session
    assert b"PC=1" in outputs[3]
    assert b"PC=42" in outputs[4]
    assert b"status=42" in outputs[5]
    assert outputs[8].replace(b"\r", b"") == b":\nPC=0\n"  # the echo, then __pc


def test_leading_space_and_pause(tmp_path: Path) -> None:
    for opts in ("", "setopt histignorespace"):
        home = tmp_path / f"home{len(opts)}"
        sh = start_zsh(home, tmp_path, pre=opts)
        sh.run("echo one")
        sh.run(" echo secret")
        sh.run(f"{REIFIER} pause")
        sh.run("echo while-paused")
        sh.run(f"{REIFIER} resume")
        sh.run("REIFIER_PAUSED=1")
        sh.run("echo env-paused")
        sh.run("unset REIFIER_PAUSED")
        sh.run("")
        sh.close()
        assert commands(home) == ["echo one", f"{REIFIER} resume", "unset REIFIER_PAUSED"]
        raw = b"".join(p.read_bytes() for p in (home / "spool").iterdir())
        assert b"secret" not in raw


def test_nounset_errexit_and_idempotent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sh = start_zsh(home, tmp_path, pre="setopt nounset")
    sh.run(SETUP)  # twice
    sh.run("setopt errexit")
    for line in ("echo a", "! true", "false && true", "echo b"):
        sh.run(line)
    assert sh.alive()
    sh.close()
    got = commands(home)
    assert got[0].endswith('init zsh)"')
    assert got[1:] == ["setopt errexit", "echo a", "! true", "false && true", "echo b"]


def test_two_concurrent_zsh_and_snapshot(tmp_path: Path) -> None:
    home = tmp_path / "home"
    target = tmp_path / "f.txt"
    target.write_text("v1\n")
    a = start_zsh(home, tmp_path)
    b = start_zsh(home, tmp_path)
    for i in range(10):
        a.run(f"echo a{i}")
        b.run(f"echo b{i}")
    a.run(f"sed -i 's/v1/v2/' '{target}'")
    a.run(f"cat {target} | sudo -u nobody tee {target} >/dev/null || true")
    a.close()
    b.close()
    spools = spool_events(home)
    assert len(spools) == 2
    cmds = sorted([e.command for e in evs] for evs in spools.values())
    assert cmds[1] == [f"echo b{i}" for i in range(10)]
    assert cmds[0][:10] == [f"echo a{i}" for i in range(10)]
    assert len(cmds[0]) == 12
    sed = next(e for evs in spools.values() for e in evs if e.command.startswith("sed"))
    assert sed.snapshot is not None
    assert Path(sed.snapshot).read_text() == "v1\n"
    tee = next(e for evs in spools.values() for e in evs if e.command.startswith("cat"))
    assert tee.snapshot is not None  # found after the pipe, past sudo's options
    assert Path(tee.snapshot).read_text() == "v2\n"
    assert target.read_text() == "v2\n"


def test_non_interactive_zsh_unaffected(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = shell_env(home, tmp_path)
    script = f'eval "$({REIFIER} init zsh)"; echo hi; echo ${{#precmd_functions}}'
    proc = subprocess.run(
        ["zsh", "-f", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["hi", "0"]
    assert proc.stderr == ""
    assert not home.exists()


def test_hook_parses_as_zsh() -> None:
    subprocess.run(["zsh", "-n", str(HOOK_FILE)], check=True)


@pytest.mark.skipif(not strace_works(), reason="strace missing or ptrace not allowed")
def test_no_process_spawned_per_command(tmp_path: Path) -> None:
    events = process_events_per_command(
        ["zsh", "-f", "-i"], ["unsetopt zle prompt_sp prompt_cr", SETUP, "echo warm"], tmp_path
    )
    assert events == []
    assert len(commands(tmp_path / "home")) >= 8
