"""What the bash capture hook costs per command, measured two ways.

1. End to end: an interactive bash in a pty runs N trivial commands (`:`),
   without and with the hook (records really written); each command's time is
   from sending Enter to seeing the next prompt. Added cost = difference of the
   medians (and of the totals).
2. In the shell: the hook's precmd (record path) and the PS0 expansion timed
   with $EPOCHREALTIME inside one bash, N calls, which leaves out pty noise.
3. Inside a command: a loop of 10·N `:` with and without the hook, which
   prices the DEBUG trap (edit snapshots) per simple command.

Run: ``.venv/bin/python benchmarks/bench_hook.py [N]``; ``main()`` returns the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reifier.shell import render_hook  # noqa: E402

PROMPT = b"__BENCH__> "


def _spawn(home: Path, hook: Path | None) -> pexpect.spawn:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "PS1": PROMPT.decode(),
        "REIFIER_HOME": str(home / "reifier"),
    }
    proc = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, timeout=60)
    proc.delaybeforesend = None
    proc.expect(PROMPT)
    if hook is not None:
        proc.sendline(f". {hook}".encode())
        proc.expect(PROMPT)
    return proc


def _round_trips(proc: pexpect.spawn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        proc.sendline(b":")
        proc.expect(PROMPT)
        times.append(time.perf_counter() - t0)
    proc.sendline(b"exit")
    proc.expect(pexpect.EOF)
    return times


def _in_shell(proc: pexpect.spawn, hook: Path, n: int) -> dict[str, float]:
    """Time N calls of each hook part: precmd (record path), PS0, the trap's look."""
    parts = {
        "precmd_us": "__reifier_last=0; __reifier_precmd",
        "ps0_us": ': "${PS0@P}"',
        "debug_us": "__reifier_chk=1; :",  # the trap's one look at a line
        "empty_us": ":",
    }
    out = {}
    for name, body in parts.items():
        # The DEBUG trap stays off except while pricing its own look at a line.
        trap = "" if name == "debug_us" else "trap - DEBUG; "
        line = (
            f"{trap}__b0=$EPOCHREALTIME; for ((__i=0; __i<{n}; __i++)); do {body}; done; "
            'echo "RES ${__b0//[!0-9]/} ${EPOCHREALTIME//[!0-9]/}"'
        )
        proc.sendline(line.encode())
        proc.expect(rb"RES (\d+) (\d+)")
        b0, b1 = (int(x) for x in proc.match.groups())
        proc.expect(PROMPT)
        out[name] = (b1 - b0) / n
        if name != "debug_us":
            proc.sendline(f". {hook}".encode())  # idempotent: puts the trap back
            proc.expect(PROMPT)
    return {k: v - out["empty_us"] for k, v in out.items() if k != "empty_us"}


def _loop_us(proc: pexpect.spawn, n: int) -> float:
    """Time one typed loop of N `:` (the DEBUG trap runs for each), per iteration."""
    line = (
        f"__b0=$EPOCHREALTIME; for ((__i=0; __i<{n}; __i++)); do :; done; "
        'echo "LOOP ${__b0//[!0-9]/} ${EPOCHREALTIME//[!0-9]/}"'
    )
    proc.sendline(line.encode())
    proc.expect(rb"LOOP (\d+) (\d+)")
    b0, b1 = (int(x) for x in proc.match.groups())
    proc.expect(PROMPT)
    proc.sendline(b"exit")
    proc.expect(pexpect.EOF)
    return (b1 - b0) / n


def main(n: int = 1000) -> dict[str, float]:
    """Measure the hook's added cost per command; print and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        hook = home / "hook.bash"
        hook.write_text(render_hook("bash", str(home / "reifier")))
        without = _round_trips(_spawn(home, None), n)
        hooked = _round_trips(_spawn(home, hook), n)
        records = sum(
            p.read_bytes().count(b"RFR1\0") for p in (home / "reifier" / "spool").glob("*.spool")
        )
        inner = _in_shell(_spawn(home, hook), hook, n)
        loop_without = _loop_us(_spawn(home, None), n * 10)
        loop_with = _loop_us(_spawn(home, hook), n * 10)
    med_without = statistics.median(without) * 1000
    med_with = statistics.median(hooked) * 1000
    figures = {
        "commands": float(n),
        "records_written": float(records),
        "median_ms_without": med_without,
        "median_ms_with": med_with,
        "median_added_ms": med_with - med_without,
        "total_s_without": sum(without),
        "total_s_with": sum(hooked),
        "total_added_ms_per_command": (sum(hooked) - sum(without)) / n * 1000,
        "in_shell_precmd_ms": inner["precmd_us"] / 1000,
        "in_shell_ps0_ms": inner["ps0_us"] / 1000,
        "in_shell_debug_look_ms": inner["debug_us"] / 1000,
        # Inside a running command the DEBUG trap (edit snapshots) runs per simple command.
        "loop_us_per_simple_cmd_without": loop_without,
        "loop_us_per_simple_cmd_with": loop_with,
    }
    for key, value in figures.items():
        print(f"{key:28} {value:10.4f}")
    verdict = "OK" if figures["median_added_ms"] < 1 else "OVER"
    print(f"target: median added cost < 1 ms per command: {verdict}")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_N", "1000")))
