"""The bash capture hook in real interactive bash processes (pexpect, a real pty).

Each shell starts with ``bash --norc --noprofile -i`` and evals the text printed
by the real ``reifier init bash``; the spool files it writes are read back with
:func:`reifier.core.history.spool.parse_spool`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from reifier.core.history.spool import parse_spool
from reifier.core.models import CommandEvent
from reifier.shell import HOOK_SHELLS, hook_source

REIFIER = str(Path(sys.executable).with_name("reifier"))
PROMPT = b"__RFP__> "
HOOK_FILE = Path(__file__).resolve().parents[2] / "reifier" / "shell" / "reifier.bash"

# A stand-in for bash-preexec (which cannot be downloaded here): the same API,
# `__bp_imported` / `bash_preexec_imported`, preexec_functions (called with the
# command line, from a DEBUG trap, before it runs) and precmd_functions (called
# first thing in PROMPT_COMMAND with $? set to the command's status).
BASH_PREEXEC_DOUBLE = r"""
__bp_imported=defined; bash_preexec_imported=defined
preexec_functions=(); precmd_functions=(); __bp_interactive=
__bp_ret() { return "${1:-0}"; }
__bp_precmd() {
  local s=$? f
  for f in "${precmd_functions[@]}"; do __bp_ret "$s"; "$f"; done
}
__bp_mode() { __bp_interactive=on; }
__bp_debug() {
  [[ -n $__bp_interactive ]] || return 0
  __bp_interactive=
  local f c
  c=$(HISTTIMEFORMAT= builtin history 1); c=${c#*[0-9][* ] }
  for f in "${preexec_functions[@]}"; do "$f" "$c"; done
}
trap '__bp_debug' DEBUG
PROMPT_COMMAND=$'__bp_precmd\n'"${PROMPT_COMMAND:-}"$'\n__bp_mode'
"""


class Shell:
    """An interactive shell in a pty, synchronised on a fixed prompt."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = pexpect.spawn(argv[0], argv[1:], env=env, timeout=60)
        self.proc.delaybeforesend = None
        self.proc.expect(PROMPT)

    def _drain(self) -> None:
        try:
            while True:
                self.proc.read_nonblocking(65536, timeout=0.01)
        except pexpect.TIMEOUT:
            pass

    def run(self, line: bytes | str) -> bytes:
        """Type ``line`` and Enter; return what the shell printed before the next prompt."""
        data = line.encode() if isinstance(line, str) else line
        if len(data) > 2000:
            # Feed long input in pieces, reading the echo, so neither side of
            # the pty blocks on a full buffer.
            for i in range(0, len(data), 1024):
                self.proc.send(data[i : i + 1024])
                self._drain()
            data = b""
        self.proc.sendline(data)
        self.proc.expect(PROMPT)
        return bytes(self.proc.before)

    def alive(self) -> bool:
        """Return whether the shell process is still running."""
        return bool(self.proc.isalive())

    def close(self) -> None:
        """End the shell."""
        self.proc.sendline(b"exit")
        self.proc.expect(pexpect.EOF)
        self.proc.close()


def shell_env(home: Path, tmp: Path) -> dict[str, str]:
    """Return a minimal environment for a test shell."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "PS1": PROMPT.decode(),
        "REIFIER_HOME": str(home),
        "HOSTNAME": "testhost",
        "USER": "tester",
    }


SETUP = (
    "PS2=; shopt -s lithist; bind 'set disable-completion on' 2>/dev/null; "
    f'eval "$({REIFIER} init bash)"'
)


def start_bash(
    home: Path, tmp: Path, pre: str = "", extra_env: dict[str, str] | None = None
) -> Shell:
    """Start an interactive bash with the hook installed (after ``pre``)."""
    env = shell_env(home, tmp) | (extra_env or {})
    sh = Shell(["bash", "--norc", "--noprofile", "-i"], env)
    if pre:
        sh.run(pre)
    sh.run(SETUP)
    return sh


def spool_events(home: Path) -> dict[str, list[CommandEvent]]:
    """Parse every spool file under ``home``; assert none has a bad record."""
    out: dict[str, list[CommandEvent]] = {}
    spool = home / "spool"
    if not spool.is_dir():
        return out
    for path in sorted(spool.glob("*.spool")):
        data = path.read_bytes()
        result = parse_spool(data, source=path.name)
        assert result.skipped == ()
        assert result.consumed == len(data)
        out[path.stem] = list(result.events)
    return out


def commands(home: Path) -> list[str]:
    """Return every recorded command, in order (single-session tests)."""
    return [e.command for evs in spool_events(home).values() for e in evs]


BIG = ": '" + "\n".join(f"{i:05d}" + "x" * 94 for i in range(1000)) + "'"
SCRIPT: tuple[bytes, ...] = (
    b"echo 'a\tb'  \"q\\\\z\" 'it'\"'\"'s' \\$HOME",
    b'for i in 1 2; do\n  echo "$i"\ndone',
    b"printf '%s' $'\\xff' | od -An -c",
    b"history -s $'echo \\xff caf\\xe9'",
    b"false",
    b"(exit 42)",
    b'echo "status=$?"',
    b"cd /tmp",
    b"sleep 0.3",
    b":",
    BIG.encode(),
    b"echo lastarg",
    b'echo "[$_]"',
)


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[bytes], list[CommandEvent]]]:
    """Run SCRIPT in one hooked shell; yield what it printed and what was recorded."""
    tmp = tmp_path_factory.mktemp("bash")
    home = tmp / "home"
    sh = start_bash(home, tmp, pre='__pc() { echo "PC=$?"; }; PROMPT_COMMAND=__pc')
    outputs = [sh.run(line) for line in SCRIPT]
    sh.close()
    events = spool_events(home)
    assert len(events) == 1
    yield outputs, next(iter(events.values()))


def test_commands_recorded_exactly(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    _, events = session
    got = [e.command.encode("utf-8", "surrogateescape") for e in events]
    expected = list(SCRIPT)
    expected[3] = b"echo \xff caf\xe9"  # `history -s` replaced its own entry
    assert got == expected


def test_invalid_utf8_round_trips_through_surrogates(
    session: tuple[list[bytes], list[CommandEvent]],
) -> None:
    _, events = session
    assert events[3].command == "echo \udcff caf\udce9"


def test_exit_codes_cwd_and_metadata(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    _, events = session
    assert [e.exit_code for e in events[4:7]] == [1, 42, 0]
    assert events[7].cwd == "/tmp" and events[8].cwd == "/tmp"
    assert events[0].cwd != "/tmp"
    assert {e.host for e in events} == {"testhost"}
    assert {e.user for e in events} == {"tester"}
    assert len({e.shell_session for e in events}) == 1
    assert [e.seq for e in events] == list(range(len(events)))


def test_duration_and_microsecond_start_times(
    session: tuple[list[bytes], list[CommandEvent]],
) -> None:
    _, events = session
    sleep = events[8]
    assert sleep.command == "sleep 0.3"
    assert sleep.duration is not None and sleep.duration >= 0.3
    starts = [e.started for e in events]
    assert all(s is not None for s in starts)
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # Microseconds, not whole seconds.
    assert any(s is not None and s != int(s) for s in starts)
    for e in events:
        assert e.duration is not None and e.duration >= 0


def test_status_preserved_for_prompt_command_and_user(
    session: tuple[list[bytes], list[CommandEvent]],
) -> None:
    outputs, _ = session
    assert b"PC=1" in outputs[4]
    assert b"PC=42" in outputs[5]
    assert b"status=42" in outputs[6]


def test_hook_prints_nothing(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    outputs, _ = session
    # Only the echo of the typed `:` and the existing PROMPT_COMMAND's line.
    assert outputs[9].replace(b"\r", b"") == b":\nPC=0\n"


def test_big_command_intact(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    _, events = session
    assert len(events[10].command) > 100_000
    assert events[10].command == BIG


def test_last_argument_preserved(session: tuple[list[bytes], list[CommandEvent]]) -> None:
    outputs, _ = session
    assert b"[lastarg]" in outputs[12]


def test_standalone_snapshots_before_edits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    conf = tmp_path / "app.conf"
    conf.write_text("v1\n")
    # A hostile setting: odd IFS and a function shadowing printf/read.
    pre = "IFS=:; printf() { echo SHADOW; }; read() { echo SHADOW; }"
    sh = start_bash(home, tmp_path, pre=pre)
    sh.run(f"cd {tmp_path}")
    sh.run("sed -i s/v1/v2/ app.conf")
    sh.run("echo v3 >app.conf")
    (tmp_path / "other.conf").write_text("o1\n")
    sh.run("cat app.conf | sudo -u nobody tee other.conf > /dev/null; echo v4 > app.conf")
    sh.run("echo no-edit > new-file.txt")
    sh.close()
    events = {e.command: e for e in next(iter(spool_events(home).values()))}
    snaps = [events[c].snapshot for c in list(events)[1:]]
    assert snaps[3] is None  # the target did not exist: nothing to keep
    texts = [Path(p).read_text() for p in snaps[:3] if p is not None]
    # The third line edits two files; its record points at the first copy.
    assert texts == ["v1\n", "v2\n", "o1\n"]
    assert conf.read_text() == "v4\n"
    names = sorted(p.name for p in (home / "snapshots").rglob("*") if p.is_file())
    assert all(n.split("-", 1)[0].isdigit() for n in names)
    assert sorted(n.split("-", 1)[1] for n in names) == ["app.conf"] * 3 + ["other.conf"]


@pytest.mark.parametrize(
    ("histcontrol", "expected"),
    [
        ("", ["echo one", "echo two", "echo two"]),
        ("ignorespace", ["echo one", "echo two", "echo two"]),
        # ignoredups: the history number does not move, so the repeat is not recorded
        ("ignoreboth", ["echo one", "echo two"]),
    ],
)
def test_leading_space_never_recorded(
    tmp_path: Path, histcontrol: str, expected: list[str]
) -> None:
    home = tmp_path / "home"
    sh = start_bash(home, tmp_path, pre=f"HISTCONTROL={histcontrol}")
    for line in ("echo one", " echo secret", "echo two", "", "echo two"):
        sh.run(line)
    sh.close()
    assert commands(home) == expected
    raw = b"".join(p.read_bytes() for p in (home / "spool").iterdir())
    assert b"secret" not in raw


def test_set_u_and_set_e_shells_unharmed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sh = start_bash(home, tmp_path, pre="set -u")
    sh.run("set -e")
    for line in ("echo a", "! true", "false && true", "cd /", "", " echo b", "echo c"):
        sh.run(line)
    assert b"alive" in sh.run("echo alive")
    assert sh.alive()
    sh.close()
    assert commands(home) == [
        "set -e",
        "echo a",
        "! true",
        "false && true",
        "cd /",
        "echo c",
        "echo alive",
    ]


def test_pause_and_resume(tmp_path: Path) -> None:
    home = tmp_path / "my home"  # a space: every path in the hook is quoted
    sh = start_bash(home, tmp_path)
    sh.run("echo before")
    sh.run(f"{REIFIER} pause")
    assert (home / "paused").exists()
    sh.run("echo while-paused")
    sh.run(f"{REIFIER} resume")
    sh.run("echo after")
    sh.run("REIFIER_PAUSED=1")
    sh.run("echo env-paused")
    sh.run("REIFIER_PAUSED=0")
    sh.close()
    got = commands(home)
    assert got == ["echo before", f"{REIFIER} resume", "echo after", "REIFIER_PAUSED=0"]


def test_two_concurrent_shells_two_intact_spools(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a = start_bash(home, tmp_path)
    b = start_bash(home, tmp_path)
    for i in range(20):
        a.run(f"echo a{i}")
        b.run(f"echo b{i}")
    a.close()
    b.close()
    spools = spool_events(home)
    assert len(spools) == 2
    per_shell = sorted([e.command for e in evs] for evs in spools.values())
    assert per_shell == [[f"echo a{i}" for i in range(20)], [f"echo b{i}" for i in range(20)]]
    for sid, evs in spools.items():
        assert {e.shell_session for e in evs} == {sid}


def test_child_shell_gets_its_own_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sh = start_bash(home, tmp_path)
    sh.run("echo parent")
    sh.run("set -a")  # even with allexport the id must not leak into children
    sh.run("bash --norc --noprofile -i")
    sh.run(SETUP)
    sh.run("echo child")
    sh.run("exit")
    sh.run("echo parent-again")
    sh.close()
    spools = spool_events(home)
    assert len(spools) == 2
    by_first = {evs[0].command: [e.command for e in evs] for evs in spools.values()}
    assert by_first["echo child"] == ["echo child"]  # `exit` never reaches a prompt
    assert "echo parent-again" in by_first["echo parent"]


def test_idempotent_array_prompt_command_and_debug_trap(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pre = f"PROMPT_COMMAND=('echo PC1=$?' 'echo PC2'); trap 'echo dbg >> {tmp_path}/dbg' DEBUG"
    sh = start_bash(home, tmp_path, pre=pre)
    sh.run(SETUP)  # twice
    out = sh.run("(exit 3)")
    assert b"PC1=3" in out and b"PC2" in out
    assert sh.run("declare -p PROMPT_COMMAND").count(b"__reifier_precmd") == 1
    assert sh.run("echo $PS0").count(b"__reifier_t0") == 1
    sh.run("echo one")
    sh.close()
    got = commands(home)
    assert got[1:] == ["(exit 3)", "declare -p PROMPT_COMMAND", "echo $PS0", "echo one"]
    assert got[0].endswith('init bash)"')  # the second eval, recorded once
    assert (tmp_path / "dbg").read_text().count("dbg") >= 4


def test_runtime_reifier_home_wins_over_baked_default(tmp_path: Path) -> None:
    baked = tmp_path / "baked"
    runtime = tmp_path / "runtime"
    sh = start_bash(baked, tmp_path)  # REIFIER_HOME=baked when init ran
    sh.run("echo to-baked")
    sh.run(f"export REIFIER_HOME={runtime}")
    sh.run("echo to-runtime")
    sh.run("unset REIFIER_HOME")
    sh.run("echo baked-again")
    sh.close()
    # A record goes where $REIFIER_HOME points when the command has finished.
    assert commands(baked) == ["echo to-baked", "unset REIFIER_HOME", "echo baked-again"]
    assert commands(runtime) == [f"export REIFIER_HOME={runtime}", "echo to-runtime"]


def test_bash_preexec_coexistence_and_snapshots(tmp_path: Path) -> None:
    home = tmp_path / "home"
    target = tmp_path / "conf.txt"
    target.write_text("original\n")
    double = tmp_path / "bash-preexec-double.sh"
    double.write_text(BASH_PREEXEC_DOUBLE)
    sh = start_bash(home, tmp_path, pre=f". {double}")
    assert b"__reifier_precmd" in sh.run("echo ${precmd_functions[*]}")
    assert b"__bp_precmd" in sh.run('echo "$PROMPT_COMMAND"')  # left alone
    assert sh.run("echo ${#PS0}").strip().endswith(b"0")  # no PS0 snippet
    sh.run(f"sed -i s/original/changed/ {target}")
    sh.run(f"echo overwritten > {target}")
    sh.run("(exit 5)")
    assert sh.run("echo $?").split()[-1] == b"5"
    sh.close()
    events = next(iter(spool_events(home).values()))
    by_cmd = {e.command: e for e in events}
    sed = by_cmd[f"sed -i s/original/changed/ {target}"]
    redirect = by_cmd[f"echo overwritten > {target}"]
    assert sed.snapshot and Path(sed.snapshot).read_text() == "original\n"
    assert redirect.snapshot and Path(redirect.snapshot).read_text() == "changed\n"
    assert Path(sed.snapshot).parent == home / "snapshots" / sed.shell_session
    assert by_cmd["(exit 5)"].exit_code == 5 and by_cmd["(exit 5)"].duration is not None
    assert target.read_text() == "overwritten\n"


def test_non_interactive_bash_unaffected(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rc = tmp_path / "rc"
    rc.write_text(f'eval "$({REIFIER} init bash)"\necho after-hook\n')
    script = (
        f". {rc}; echo hi; [[ -v PROMPT_COMMAND || -v PS0 ]] && echo SET; "
        "declare -F __reifier_precmd || echo no-function; echo end"
    )
    env = shell_env(home, tmp_path)
    proc = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.splitlines() == ["after-hook", "hi", "no-function", "end"]
    assert proc.stderr == ""
    assert not home.exists()


def test_hook_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install -y shellcheck)")
    subprocess.run(["shellcheck", "-s", "bash", str(HOOK_FILE)], check=True)


def test_printed_hook_passes_shellcheck(tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install -y shellcheck)")
    printed = subprocess.run(
        [REIFIER, "init", "bash"],
        capture_output=True,
        check=True,
        env=os.environ | {"REIFIER_HOME": "/x y/'q"},
    ).stdout
    assert printed.startswith(b"__reifier_default_home='/x y/'\"'\"'q'\n")
    (tmp_path / "hook.bash").write_bytes(printed)
    subprocess.run(["shellcheck", "-s", "bash", str(tmp_path / "hook.bash")], check=True)


@pytest.mark.parametrize("shell", HOOK_SHELLS, ids=lambda s: s.name)
def test_hook_shell_table_examples(shell: object) -> None:
    from reifier.shell import HookShell

    assert isinstance(shell, HookShell)
    assert shell.example == f'eval "$(reifier init {shell.name})"'
    assert hook_source(shell.name).startswith("#")
    out = subprocess.run([REIFIER, "init", shell.name], capture_output=True, text=True, check=True)
    assert out.stdout.endswith(hook_source(shell.name))


def test_init_rejects_unknown_shell() -> None:
    out = subprocess.run([REIFIER, "init", "fish"], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "fish" in out.stderr


def strace_works() -> bool:
    """Return whether strace can trace a child here (installed, ptrace allowed)."""
    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-qq", "-o", os.devnull, "true"], check=False).returncode == 0


def process_events_per_command(argv: list[str], setup: list[str], tmp: Path) -> list[str]:
    """Run builtin-only commands in a traced hooked shell; return process syscalls seen."""
    log = tmp / "strace.log"
    env = shell_env(tmp / "home", tmp) | {"HOST": "testhost"}
    sh = Shell(["strace", "-f", "-qq", "-e", "trace=process", "-o", str(log), *argv], env)
    for line in setup:
        sh.run(line)
    sh.run(":")  # first prompt after setup: anything left over lands before the mark
    mark = log.stat().st_size
    for line in (":", "echo hi", "false", "cd /tmp", "x=1", "(( x++ ))", ":"):
        sh.run(line)
    sh.close()
    new = log.read_bytes()[mark:].decode(errors="replace").splitlines()
    # The trailing `exit` ends the shell: exit_group is expected, nothing else.
    return [ln for ln in new if any(k in ln for k in ("clone", "fork", "execve"))]


@pytest.mark.skipif(not strace_works(), reason="strace missing or ptrace not allowed")
def test_no_process_spawned_per_command(tmp_path: Path) -> None:
    events = process_events_per_command(
        ["bash", "--norc", "--noprofile", "-i"], ["shopt -s lithist", SETUP, "echo warm"], tmp_path
    )
    assert events == []
    assert len(commands(tmp_path / "home")) >= 8


def test_snapshots_off_means_no_debug_trap(tmp_path: Path) -> None:
    home = tmp_path / "home"
    conf = tmp_path / "c.txt"
    conf.write_text("v1\n")
    sh = start_bash(home, tmp_path, extra_env={"REIFIER_SNAPSHOTS": "0"})
    assert b"NO-TRAP\r\n" in sh.run("[[ -z $(trap -p DEBUG) ]] && echo NO-TRAP")
    sh.run(f"sed -i s/v1/v2/ {conf}")
    sh.close()
    events = next(iter(spool_events(home).values()))
    assert events[-1].command.startswith("sed -i") and events[-1].snapshot is None
    assert not (home / "snapshots").exists()


def test_pause_resume_cli_idempotent(tmp_path: Path) -> None:
    env = os.environ | {"REIFIER_HOME": str(tmp_path / "h")}
    run = [REIFIER, "resume"]
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert "not paused" in out.stdout
    for _ in range(2):
        subprocess.run([REIFIER, "pause"], env=env, capture_output=True, check=True)
    assert (tmp_path / "h" / "paused").is_file()
    assert [p.name for p in (tmp_path / "h").iterdir()] == ["paused"]  # no temp left
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert "resumed" in out.stdout and not (tmp_path / "h" / "paused").exists()


def test_without_lithist_bash_joins_lines_and_that_is_recorded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sh = start_bash(home, tmp_path)
    sh.run("shopt -u lithist")
    out = sh.run("for i in 1 2; do\n  echo $i\ndone")
    assert b"SHADOW" not in out
    sh.close()
    # What bash's history holds (cmdhist without lithist) is what is recorded.
    assert commands(home)[-1] == "for i in 1 2; do   echo $i; done"
