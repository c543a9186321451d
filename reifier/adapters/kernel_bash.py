"""Drive one long-lived bash process for the ``reifier-bash`` kernel.

Protocol (pipes only, no pty):

* bash starts as ``bash --noprofile --norc -c BOOTSTRAP`` in its own session
  (``start_new_session=True``, so it leads a process group that has no
  terminal) with stdin ``/dev/null``, stdout and stderr on two pipes, and two
  extra pipes: a *control* pipe it reads and a *status* pipe it writes. Their
  descriptor numbers are written into the bootstrap text.
* The bootstrap prints ``R <pid> <bash version>`` on the status pipe, then
  loops reading ``<seq> <path>`` lines from the control pipe. Each line names a
  file holding one cell's code, followed by a trailer line that sets
  ``__reifier_end=1``. bash ``source``s it at top level (not inside a function,
  so ``declare`` stays global and variables, cwd and functions persist), with
  the control and status descriptors closed for the cell's commands.
* Before each cell the loop sets ``set +e -E -o pipefail`` and an ERR trap. The
  trap fires exactly where errexit would stop a script (not in ``if``/``while``
  conditions, not left of ``&&``/``||``, not after ``!``), records the first
  failure's status, ``$BASH_COMMAND``, line and ``PIPESTATUS``, and ``return``s
  out of the cell (inside subshells and command substitutions it ``exit``s
  the subshell instead). An INT trap does the same with status 130: it is how
  an interrupt or a timeout stops a cell that runs shell builtins or ``wait``.
* Before sourcing, the loop writes ``S <seq>`` (the cell has started: only
  then may bash be sent SIGINT, which could otherwise cut the control line it
  is reading); an INT caught between that line and ``source`` skips the cell.
* After the cell the loop writes one line on the status pipe:
  ``D <seq> <kind> <status> <line> <pipestatus> <rc> <end> <command>`` where
  kind is ``E`` (a command failed), ``I`` (interrupted) or ``-``; ``end`` is 1
  when the trailer ran (the cell was not cut short by a syntax error or a
  top-level ``return``). Output already written by the cell is in the pipes
  then, so the reader drains them before it resolves the cell.
* ``exit`` (or anything that ends bash) is seen through a pidfd; the cell
  becomes ``exited`` and :mod:`reifier.adapters.kernel_session` starts a fresh
  bash for the next cell (and handles timeouts and interrupts).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypeVar

#: environment forced on the shell so commands behave non-interactively
FORCED_ENV: Mapping[str, str] = {
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "SYSTEMD_PAGER": "",
    "DEBIAN_FRONTEND": "noninteractive",
}
#: variables that would make a non-interactive bash run startup code
DROPPED_ENV = ("BASH_ENV", "ENV", "PROMPT_COMMAND")
READY_TIMEOUT_S = 10.0

# @CTL@ and @ST@ become the control and status descriptor numbers.
BOOTSTRAP = r"""exec </dev/null
__reifier_main=$BASHPID
__reifier_trap() {
  if [[ $BASHPID != "$__reifier_main" ]]; then exit "$1"; fi
  if (( ! $6 )); then [[ $7 != I ]] || __reifier_int=1; return 1; fi
  if [[ -z $__reifier_kind ]]; then
    __reifier_kind=$7 __reifier_st=$1 __reifier_cmd=$2 __reifier_line=$3
    __reifier_src=$4 __reifier_ps=$5
  fi
  set +e
}
trap '__reifier_trap 130 "$BASH_COMMAND" "$LINENO" "${BASH_SOURCE[0]}" "" "${#BASH_SOURCE[@]}" I && return 130' INT
printf 'R %s %s\n' "$BASHPID" "$BASH_VERSION" >&@ST@
while :; do
  IFS=' ' read -r -u @CTL@ __reifier_seq __reifier_file
  __reifier_rc=$?
  if (( __reifier_rc > 128 )); then continue; fi
  if (( __reifier_rc != 0 )); then break; fi
  __reifier_kind= __reifier_st=0 __reifier_cmd= __reifier_line=0 __reifier_src= __reifier_ps=
  __reifier_end=0 __reifier_int=
  printf 'S %s\n' "$__reifier_seq" >&@ST@
  set +e -E -o pipefail
  trap '__reifier_trap "$?" "$BASH_COMMAND" "$LINENO" "${BASH_SOURCE[0]}" "${PIPESTATUS[*]}" "${#BASH_SOURCE[@]}" E && return "$__reifier_st"' ERR
  if [[ -z $__reifier_int ]]; then
    source "$__reifier_file" @CTL@<&- @ST@>&-
    __reifier_rc=$?
  else  # interrupted between announcing the cell and sourcing it
    __reifier_kind=I __reifier_st=130 __reifier_rc=130
  fi
  trap - ERR
  if [[ $__reifier_src != "$__reifier_file" ]]; then __reifier_line=0; fi
  __reifier_cmd=${__reifier_cmd//$'\n'/ }
  __reifier_ps=${__reifier_ps// /,}
  printf 'D %s %s %s %s %s %s %s %s\n' "$__reifier_seq" "${__reifier_kind:--}" \
    "$__reifier_st" "$__reifier_line" "${__reifier_ps:--}" "$__reifier_rc" \
    "$__reifier_end" "${__reifier_cmd:0:2000}" >&@ST@
done
"""  # noqa: E501
TRAILER = b"\n__reifier_end=1\n"


@dataclass(frozen=True)
class CellResult:
    """How one cell ended.

    ``kind`` is ``ok``, ``failed`` (a command failed, or the cell stopped early
    with a non-zero status), ``exited`` (bash ended), ``lost`` (bash had ended
    after the previous cell, so this one did not run), ``timeout`` or
    ``interrupted``.
    """

    kind: str
    status: int = 0
    command: str = ""
    line: int = 0
    pipestatus: tuple[int, ...] = ()
    cut_short: bool = False
    state_lost: bool = False


@dataclass(frozen=True)
class Pending:
    """The cell bash was asked to run: resolved at its ``S`` and ``D`` status lines."""

    seq: int
    started: asyncio.Future[None]
    done: asyncio.Future[CellResult]


def bash_env(base: Mapping[str, str]) -> dict[str, str]:
    """Return the shell's environment: ``base`` minus startup hooks, plus FORCED_ENV."""
    env = {k: v for k, v in base.items() if k not in DROPPED_ENV}
    env.update(FORCED_ENV)
    return env


def parse_done(line: str) -> tuple[int, CellResult]:
    """Parse a status-pipe ``D`` line into its sequence number and result."""
    _, seq, kind, st, lineno, ps, rc, end, command = line.split(" ", 8)
    pipestatus = tuple(int(p) for p in ps.split(",") if p.isdigit()) if ps != "-" else ()
    if kind == "E":
        result = CellResult("failed", int(st), command, int(lineno), pipestatus)
    elif kind == "I":
        result = CellResult("interrupted", 130, command, int(lineno))
    elif end != "1" and rc != "0":
        result = CellResult("failed", int(rc), cut_short=True)
    else:
        result = CellResult("ok")
    return int(seq), result


# --- one bash process ----------------------------------------------------------------

OutputSink = Callable[[str, str], None]
T = TypeVar("T")


def send_signal(pid: int, sig: int, *, group: bool = False) -> bool:
    """Send ``sig`` to ``pid`` (or its process group); return False if it is gone."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _discard(name: str, text: str) -> None:
    """Drop output (the sink of a process not attached yet)."""


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Catch a signal and do nothing (exec resets caught signals to default)."""


@contextmanager
def _caught_signals() -> Iterator[None]:
    """Let children start with SIGINT and SIGHUP at their defaults.

    ipykernel ignores SIGINT between requests, and a kernel started under nohup
    (or a service manager that ignores SIGHUP) has SIGHUP ignored; an ignored
    signal stays ignored across exec, so bash could neither be interrupted nor
    trap INT, and its background jobs would outlive the kernel's hang-up. A
    caught signal is reset to default by exec, so catch both while spawning.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class BashProcess:
    """One running bash, its pipes, and the cell it is running."""

    def __init__(self, env: Mapping[str, str], cwd: str | None = None) -> None:
        ctl_r, self._ctl_w = os.pipe()
        self._st_r, st_w = os.pipe()
        script = BOOTSTRAP.replace("@CTL@", str(ctl_r)).replace("@ST@", str(st_w))
        try:
            with _caught_signals():
                self.proc = self._spawn(script, ctl_r, st_w, env, cwd)
        finally:
            os.close(ctl_r)
            os.close(st_w)
        self.pid = self.proc.pid
        self.version = ""
        self.pending: Pending | None = None
        self.alive = True
        self.exit_reported = False  # whether a cell's result already told of the exit
        self._status_buf = b""
        self._readers: list[tuple[int, str, codecs.IncrementalDecoder]] = []
        self._pidfd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sink: OutputSink = _discard
        self._wait_ready()

    @staticmethod
    def _spawn(
        script: str, ctl_r: int, st_w: int, env: Mapping[str, str], cwd: str | None
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-c", script, "bash"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(ctl_r, st_w),
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )

    def _wait_ready(self) -> None:
        """Block until bash prints its ``R`` line (a few milliseconds)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while b"\n" not in self._status_buf:
            ready, _, _ = select.select([self._st_r], [], [], deadline - time.monotonic())
            chunk = os.read(self._st_r, 4096) if ready else b""
            if not chunk:
                self.kill()
                raise RuntimeError("bash did not start")
            self._status_buf += chunk
        first, self._status_buf = self._status_buf.split(b"\n", 1)
        self.version = first.decode("ascii", "replace").split(" ", 2)[-1]

    @property
    def attached(self) -> bool:
        """Return whether :meth:`attach` has run."""
        return self._loop is not None

    def attach(self, loop: asyncio.AbstractEventLoop, sink: OutputSink) -> None:
        """Stream output to ``sink`` and watch the status pipe and bash's exit on ``loop``."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._loop = loop
        self._sink = sink
        for name, fh in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            fd = fh.fileno()
            os.set_blocking(fd, False)
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            self._readers.append((fd, name, decoder))
            loop.add_reader(fd, self._on_output, fd, name, decoder)
        os.set_blocking(self._st_r, False)
        loop.add_reader(self._st_r, self._on_status)
        self._pidfd = os.pidfd_open(self.pid)
        loop.add_reader(self._pidfd, self._on_exit)

    def _on_output(self, fd: int, name: str, decoder: codecs.IncrementalDecoder) -> None:
        """Forward everything readable on ``fd`` now, without blocking."""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                if self._loop is not None:
                    self._loop.remove_reader(fd)
                return
            text = decoder.decode(chunk)
            if text:
                self._sink(name, text)

    def _drain_output(self) -> None:
        """Forward output already in the pipes (written before the status line)."""
        for fd, name, decoder in self._readers:
            self._on_output(fd, name, decoder)

    def _on_status(self) -> None:
        try:
            chunk = os.read(self._st_r, 65536)
        except BlockingIOError:
            return
        if not chunk:  # bash closed it; the pidfd reports the exit
            if self._loop is not None:
                self._loop.remove_reader(self._st_r)
            return
        self._status_buf += chunk
        while b"\n" in self._status_buf:
            raw, self._status_buf = self._status_buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace")
            pending = self.pending
            if pending is None or not line.startswith(("S ", "D ")):
                continue
            if line.startswith("S ") and line[2:] == str(pending.seq):
                resolve_once(pending.started, None)
            elif line.startswith("D "):
                seq, result = parse_done(line)
                if seq == pending.seq:
                    self._drain_output()
                    self.pending = None
                    resolve_once(pending.done, result)

    def _on_exit(self) -> None:
        status = self.proc.wait()
        self.alive = False
        self.exit_reported = self.pending is not None
        self._drain_output()
        self.close()
        # Orphans of a dead shell would write into closed pipes: end them too.
        send_signal(self.pid, signal.SIGTERM, group=True)
        pending, self.pending = self.pending, None
        if pending is not None:
            resolve_once(pending.done, CellResult("exited", status, state_lost=True))

    def close(self) -> None:
        """Stop watching and close every pipe of this process (idempotent)."""
        fds = [fd for fd, _, _ in self._readers] + [self._st_r, self._pidfd]
        loop = self._loop
        if loop is not None:
            for fd in fds:
                if fd >= 0:
                    loop.remove_reader(fd)
        self._readers = []
        for fh in (self.proc.stdout, self.proc.stderr):
            if fh is not None:
                fh.close()
        for fd in (self._st_r, self._ctl_w, self._pidfd):
            if fd >= 0:
                os.close(fd)
        self._st_r = self._ctl_w = self._pidfd = -1

    def send(self, seq: int, path: Path) -> None:
        """Ask bash to source ``path`` as cell ``seq``."""
        try:
            os.write(self._ctl_w, f"{seq} {path}\n".encode("utf-8", "surrogateescape"))
        except BrokenPipeError:
            return  # bash just died: the pidfd callback resolves the pending cell

    def signal(self, sig: int) -> None:
        """Send ``sig`` to bash itself."""
        send_signal(self.pid, sig)

    def kill(self) -> None:
        """Kill bash and its whole process group."""
        send_signal(self.pid, signal.SIGKILL, group=True)


def resolve_once(fut: asyncio.Future[T], value: T) -> None:
    """Set ``fut``'s result unless it is already done."""
    if not fut.done():
        fut.set_result(value)
