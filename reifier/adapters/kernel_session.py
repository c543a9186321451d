"""Run cells in a bash that outlives them: timeouts, interrupts, restarts after ``exit``.

A timeout or interrupt must stop the cell's processes but not bash (its state
is the point of the kernel) nor background jobs that earlier cells started.
bash runs in its own session, so everything it starts shares its process group
unless it calls ``setsid``; the cell's processes are the group members started
since the cell began, minus descendants of background jobs older than the cell
(read from Linux ``/proc``). They get SIGTERM (SIGINT for an interrupt) and
bash gets SIGINT, which its trap turns into the end of the cell; if the cell
has not ended after a grace period they get SIGKILL, and then bash itself is
killed and the next cell starts a fresh one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from reifier.adapters.kernel_bash import (
    TRAILER,
    BashProcess,
    CellResult,
    OutputSink,
    Pending,
    bash_env,
    resolve_once,
    send_signal,
)

STOP_GRACE_S = 2.0
RESCAN_S = 0.1



def _stat(pid: int) -> tuple[int, int, int] | None:
    """Return (ppid, pgid, start time in clock ticks) of ``pid``, None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[19])


def now_ticks() -> int:
    """Return the boot-time clock in the ticks ``/proc/PID/stat`` uses for start times."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def children(pid: int) -> frozenset[int]:
    """Return the direct children of ``pid`` (empty if unknown)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return frozenset(int(p) for p in fh.read().split())
    except OSError:
        return frozenset()


def cell_processes(leader: int, since: int, keep: frozenset[int]) -> list[int]:
    """Return the processes of ``leader``'s group started since ``since``, sparing ``keep``.

    ``keep`` are background jobs older than the cell: they and their
    descendants belong to earlier cells and survive this cell's timeout.
    """
    members: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == leader:
            continue
        info = _stat(int(name))
        if info is not None and info[1] == leader:
            members[int(name)] = (info[0], info[2])
    victims = []
    for pid, (parent, start) in members.items():
        if start < since or pid in keep:
            continue
        ancestor = parent
        while ancestor in members and ancestor not in keep:
            ancestor = members[ancestor][0]
        if ancestor not in keep:
            victims.append(pid)
    return victims


def signal_all(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each pid that still exists."""
    for pid in pids:
        send_signal(pid, sig)


class BashSession:
    """A bash that survives its cells: runs them, times them out, restarts after exit."""

    def __init__(self, env: Mapping[str, str], sink: OutputSink, cwd: str | None = None) -> None:
        self._env = bash_env(env)
        self._cwd = cwd
        self._sink = sink
        self._seq = 0
        self._stop: asyncio.Future[str] | None = None
        self._interrupt_pending = False
        self._bash: BashProcess | None = BashProcess(self._env, cwd)

    @property
    def version(self) -> str:
        """Return the running bash's ``$BASH_VERSION`` ('' if none runs)."""
        return self._bash.version if self._bash is not None else ""

    def _current(self, loop: asyncio.AbstractEventLoop) -> BashProcess:
        bash = self._bash
        if bash is None or not bash.alive:
            bash = self._bash = BashProcess(self._env, self._cwd)
        if not bash.attached:
            bash.attach(loop, self._sink)
        return bash

    async def run(self, code: str, timeout: float | None) -> CellResult:
        """Run ``code`` as one cell; stream its output; return how it ended."""
        if self._interrupt_pending:  # interrupted before the cell reached bash
            self._interrupt_pending = False
            return CellResult("interrupted", 130)
        previous = self._bash
        if previous is not None and not previous.alive and not previous.exit_reported:
            # Something killed bash between cells (`kill $$` from a background job):
            # running this cell in a fresh bash would silently lose cwd and variables.
            previous.exit_reported = True
            return CellResult("lost", previous.proc.returncode or 0, state_lost=True)
        loop = asyncio.get_running_loop()
        bash = self._current(loop)
        self._seq += 1
        path = _write_cell(self._seq, code.encode("utf-8", "surrogateescape") + TRAILER)
        since, keep = now_ticks() - 1, children(bash.pid)
        done: asyncio.Future[CellResult] = loop.create_future()
        self._stop = stop = loop.create_future()
        started: asyncio.Future[None] = loop.create_future()
        bash.pending = Pending(self._seq, started, done)
        try:
            bash.send(self._seq, path)
            await asyncio.wait((done, stop), timeout=timeout, return_when="FIRST_COMPLETED")
            if done.done():
                return done.result()
            reason = stop.result() if stop.done() else "timeout"
            return await self._stop_cell(bash, done, reason, since, keep)
        finally:
            self._stop = None
            path.unlink(missing_ok=True)

    async def _stop_cell(
        self,
        bash: BashProcess,
        done: asyncio.Future[CellResult],
        reason: str,
        since: int,
        keep: frozenset[int],
    ) -> CellResult:
        """Signal the cell's processes, escalating to SIGKILL and then to bash itself."""
        first = signal.SIGINT if reason == "interrupted" else signal.SIGTERM
        started = bash.pending.started if bash.pending is not None else done
        for sig in (first, signal.SIGKILL):
            # bash may still be reading the cell's control line: signal only after.
            await asyncio.wait((started, done), return_when="FIRST_COMPLETED",
                               timeout=STOP_GRACE_S)
            bash.signal(signal.SIGINT)  # trapped by bash: ends builtin loops and `wait`
            await _signal_until(done, bash.pid, since, keep, sig)
            if done.done():
                break
        else:
            bash.kill()
            await done
        if reason == "timeout" and bash.alive:
            # Background jobs of the cell ignore SIGINT and may have outlived it.
            signal_all(cell_processes(bash.pid, since, keep), signal.SIGKILL)
        result = done.result()
        return replace(result, kind=reason, state_lost=result.kind == "exited")

    def interrupt(self) -> None:
        """Stop the running (or next) cell as if by Ctrl-C; safe in a signal handler."""
        stop = self._stop
        if stop is None:
            self._interrupt_pending = True
        else:
            stop.get_loop().call_soon_threadsafe(resolve_once, stop, "interrupted")

    def clear_interrupt(self) -> None:
        """Forget an interrupt that arrived when no cell was on its way."""
        self._interrupt_pending = False

    def close(self) -> None:
        """End bash and its jobs, as closing a terminal would."""
        bash, self._bash = self._bash, None
        if bash is not None and bash.alive:
            bash.close()  # EOF on the control pipe: the bootstrap loop exits
            try:
                bash.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                bash.kill()
                bash.proc.wait()
            # Background jobs get SIGHUP, as from a closed terminal (nohup still works).
            send_signal(bash.pid, signal.SIGHUP, group=True)


def _write_cell(seq: int, data: bytes) -> Path:
    """Write one cell's file (private to this user) and return its path.

    One file per cell, deleted once the cell ends, so a killed kernel leaves at
    most one file behind; a unique name per cell keeps line numbers of functions
    defined by earlier cells from being mistaken for this cell's.
    """
    fd, name = tempfile.mkstemp(prefix=f"reifier-cell-{seq}-", suffix=".sh")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


async def _signal_until(
    done: asyncio.Future[CellResult], leader: int, since: int, keep: frozenset[int], sig: int
) -> None:
    """Signal the cell's processes, and those it starts meanwhile, for up to the grace period.

    Rescanning matters: a process forked just after a scan would otherwise keep
    bash waiting (bash runs its INT trap only once the foreground child exits).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_GRACE_S
    signalled: set[int] = set()
    while not done.done() and loop.time() < deadline:
        fresh = [p for p in cell_processes(leader, since, keep) if p not in signalled]
        signal_all(fresh, sig)
        signalled.update(fresh)
        await asyncio.wait((done,), timeout=RESCAN_S)
