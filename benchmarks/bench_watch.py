"""Watch latency and idle cost.

Latency: a command runs in a real bash with the hook → its row is in the store.
Measured from sending the command line to the pty (so it includes bash reading
and running it, and the hook writing the spool record) to the row being visible
to another SQLite reader, with `reifier watch` following.
Target: within 1 s; p50 and p99 printed.

Idle cost: `reifier watch` with 20 spool files present (each already drained and
retired, as after 20 hooked shells typed a command) and nobody typing. Its CPU
time (utime + stime clock ticks from /proc/<pid>/stat) over the interval, next to
a sleeping process's over the same interval, and its system calls (strace -c,
when strace is installed). Target: <= 1 % of a core over 60 s.

Usage: bench_watch.py [idle [SECONDS]]   (no argument: latency, then idle over 60 s)
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median, pct, report

N = 100
IDLE_FILES = 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


def spool_record(sid: str, i: int, command: str) -> bytes:
    """One spool record, as the bash hook writes it."""
    t = 1_764_100_000_000_000 + i * 1_000_000
    fields = ["bash", sid, str(i), str(t), str(t + 500), "0", "h", "u", "/srv", "", command]
    return b"RFR1\0" + b"".join(f.encode() + b"\0" for f in fields) + b".\n"


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start_idle_watcher(home: Path, files: int = IDLE_FILES) -> subprocess.Popen[str]:
    """Start `reifier watch` on a home with ``files`` spool files; return once it is idle."""
    spool = home / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    for n in range(files):
        sid = f"1764100000000000-{4_000_000 + n}-{n}"
        (spool / f"{sid}.spool").write_bytes(spool_record(sid, 1, f"echo idle-{n}"))
    env = {**os.environ, "REIFIER_HOME": str(home), "REIFIER_WORKSPACE": str(home)}
    watch = subprocess.Popen([sys.executable, "-m", "reifier", "watch"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert watch.stderr is not None
    watch.stderr.readline()  # "watching ..."
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # drained, retired, the .draining files deleted
        if not list(spool.glob("*.draining")) and all(
                p.stat().st_size == 0 for p in spool.glob("*.spool")):
            break
        time.sleep(0.1)
    time.sleep(1.0)  # the last settle deadline passes
    return watch


def idle_cpu(seconds: float, files: int = IDLE_FILES) -> dict[str, object]:
    """CPU ticks of an idle watcher and of a sleeping process over the same interval."""
    with tempfile.TemporaryDirectory() as tmp:
        watch = start_idle_watcher(Path(tmp), files)
        sleeper = subprocess.Popen(["sleep", str(seconds + 30)])
        try:
            w0, s0, t0 = cpu_ticks(watch.pid), cpu_ticks(sleeper.pid), time.monotonic()
            time.sleep(seconds)
            w1, s1, t1 = cpu_ticks(watch.pid), cpu_ticks(sleeper.pid), time.monotonic()
            calls = syscalls(watch.pid, min(seconds, 10.0))
        finally:
            sleeper.kill()
            sleeper.wait()
            watch.terminate()
            watch.wait(timeout=10)
    interval = t1 - t0
    return {
        "spool_files": files,
        "interval_s": round(interval, 1),
        "watcher_ticks": w1 - w0,
        "sleeper_ticks": s1 - s0,
        "clk_tck": CLK_TCK,
        "watcher_cpu_pct": round(100 * (w1 - w0) / CLK_TCK / interval, 3),
        "syscalls_per_s": calls,
        "target_cpu_pct": 1.0,
    }


def syscalls(pid: int, seconds: float) -> float | None:
    """System calls per second of ``pid`` over ``seconds`` (strace -c), or None without strace."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        proc = subprocess.Popen(["strace", "-f", "-c", "-p", str(pid), "-o", out.name],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(seconds)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        total = [line for line in out.read().splitlines() if line.strip().endswith("total")]
    if "attached" not in err:
        return None  # not allowed to trace (ptrace_scope)
    calls = int(total[0].split()[3]) if total else 0  # no summary at all: no system call
    return round(calls / seconds, 1)


def main() -> dict[str, object]:
    """Latency over N commands, then idle CPU over 60 s."""
    if sys.argv[1:2] == ["idle"]:
        seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
        return report("watch_idle", idle_cpu(seconds))
    figures = latency()
    figures["idle"] = report("watch_idle", idle_cpu(60.0))
    return figures


def latency() -> dict[str, object]:
    """Run N commands and time each one's arrival in the store."""
    import pexpect

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "REIFIER_HOME": tmp, "REIFIER_WORKSPACE": tmp}
        watch = subprocess.Popen([sys.executable, "-m", "reifier", "watch"], env=env,
                                 stderr=subprocess.PIPE, text=True)
        assert watch.stderr is not None
        watch.stderr.readline()  # "watching ..."
        bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, encoding="utf-8",
                             timeout=30)
        prompt = "BENCH$ "
        bash.sendline(f"PS1='{prompt}'")
        bash.expect_exact(prompt)
        bash.expect_exact(prompt)
        bash.sendline(f'eval "$({sys.executable} -m reifier init bash)"')
        bash.expect_exact(prompt)
        db_path = Path(tmp) / "reifier.db"
        while not db_path.exists():
            time.sleep(0.05)
        db = sqlite3.connect(db_path)
        lat = []
        for i in range(N):
            t0 = time.perf_counter()  # upper bound: includes typing and running the command
            bash.sendline(f"echo bench-{i}")
            while True:
                row = db.execute("SELECT 1 FROM commands WHERE command=?", (f"echo bench-{i}",)).fetchone()
                if row:
                    break
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"command {i} never reached the store")
                time.sleep(0.002)
            lat.append(time.perf_counter() - t0)
            bash.expect_exact(prompt)
        bash.sendline("exit")
        watch.terminate()
        watch.wait(timeout=10)
        db.close()
    return report("watch_latency", {
        "commands": N,
        "p50_ms": round(median(lat) * 1000, 1),
        "p99_ms": round(pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1),
        "target_ms": 1000,
    })


if __name__ == "__main__":
    main()
