"""The ``reifier-bash`` Jupyter kernel: one bash process, guarded cells, honest exit status.

Each cell is checked by :func:`reifier.core.guard.evaluate` and, if allowed,
sourced by one long-lived bash (see :mod:`reifier.adapters.kernel_bash` for the
protocol). stdout and stderr stream as they arrive, as ``stream`` messages
named ``stdout`` and ``stderr``.

When a cell fails. A cell runs under ``set -o pipefail`` with an ERR trap, so it
fails exactly where ``set -e`` would stop a script: the first simple command
or pipeline that exits non-zero (any failing stage of a pipeline counts)
outside an ``if``/``while``/``until`` condition, a ``&&``/``||`` list (except
its last command) or a ``!`` negation, also inside functions; a failure
inside a subshell or command substitution ends that subshell, as
``inherit_errexit`` would. The rest of the cell does not run; the reply
is an error ``CellFailed: exit status N from: COMMAND``. Shell state
(variables, cwd, functions, background jobs) persists across cells. A cell that
ends bash (``exit N``, ``exec``, ``set -u`` tripping) fails with
``BashExited`` and the next cell gets a fresh bash: its state is lost. If bash
dies between cells (a background ``kill $$``), the next cell is not run and
fails with ``BashExited``, so no cell runs unknowingly without its state. A
syntax error or a top-level ``return N`` (N > 0) cuts the cell short and fails
it. A cell that runs longer than ``REIFIER_CELL_TIMEOUT`` seconds (default 600;
0 disables) fails with ``CellTimeout``: its processes get SIGTERM, then
SIGKILL, background jobs of earlier cells are spared and the shell state is kept
unless bash itself had to be killed. An interrupt (SIGINT to the kernel) does
the same with SIGINT and fails with ``CellInterrupted``. Shutting the kernel
down sends SIGHUP to bash's jobs, as closing a terminal does. Commands get stdin
from ``/dev/null`` and no terminal, so ``read`` and password prompts fail fast.

Guard. A refused cell is not run and fails with ``GuardRefused`` and the
guard's reason. The rules allowed for a cell are the union of
``metadata["reifier"]["allow"]`` of the execute_request, and the entries of the
JSON object in ``REIFIER_GUARD_ALLOW`` (read at kernel start) whose key is the
cell's id, ``sha256:<hex digest of the cell's code>``, or its execution count
(``"1"`` for the first cell run, as in ``In [1]``). ``REIFIER_GUARD_RESOLVABLE=1``
also asks the guard to refuse commands it cannot resolve. If the guard cannot
be imported or fails, the cell is refused: nothing runs unguarded.

Values. A cell is judged as it will run: before it runs, the kernel asks bash
(silently, through a private file) for the current values of the variables the
cell expands that are runbook variables — the names in ``REIFIER_GUARD_PARAMS``
(a JSON list, set by the engine to the run's parameters) and every name an
earlier cell of this kernel assigned — and the guard judges the cell with those
values bound in (:func:`reifier.core.bind.bind`). So ``rm -rf -- "${DIR:?}"``
is refused when ``DIR`` is ``/etc``, whether ``/etc`` came from ``-p``, an alert
label, a default or an earlier cell. Environment variables the runbook never
set (``HOME``, ``PATH``) are judged as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ipykernel._version import kernel_protocol_version
from ipykernel.kernelbase import Kernel

from reifier import __version__
from reifier.adapters.kernel_bash import CellResult
from reifier.adapters.kernel_session import BashSession

DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Outcome:
    """How a failed cell is reported: its error name and message, with a cell that shows it."""

    kind: str
    ename: str
    message: str
    example: str


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("failed", "CellFailed", "exit status {status} from: {command}", "grep x /nonexistent"),
    Outcome(
        "exited",
        "BashExited",
        "bash exited with status {status}; its state (variables, cwd, functions) is lost "
        "and the next cell runs in a fresh bash",
        "exit 3",
    ),
    Outcome(
        "timeout",
        "CellTimeout",
        "cell timed out after {timeout:g} s; its processes were killed",
        "sleep 100 & wait",
    ),
    Outcome(
        "lost",
        "BashExited",
        "bash exited with status {status} after the previous cell; its state is lost, so "
        "this cell was not run (the next cell runs in a fresh bash)",
        "(sleep 0.2; kill -KILL $$) &",
    ),
    Outcome("interrupted", "CellInterrupted", "cell interrupted; its processes were stopped",
            "sleep 100"),
    Outcome("refused", "GuardRefused", "not run: {reason}", "rm -rf /"),
    Outcome("cut_short", "CellFailed", "cell stopped before its end with status {status} "
            "(a syntax error, or `return {status}`)", "return 3"),
)
OUTCOME_BY_KIND = {o.kind: o for o in OUTCOMES}


@dataclass(frozen=True)
class KernelSettings:
    """Settings the kernel reads from its environment at start."""

    timeout: float | None = DEFAULT_TIMEOUT_S
    allow: Mapping[str, frozenset[str]] = field(default_factory=dict)
    require_resolvable: bool = False
    problems: tuple[str, ...] = ()
    params: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KernelSettings:
        """Read ``REIFIER_CELL_TIMEOUT``, ``REIFIER_GUARD_ALLOW``, ``REIFIER_GUARD_RESOLVABLE``."""
        problems: list[str] = []
        timeout: float | None = DEFAULT_TIMEOUT_S
        raw = env.get("REIFIER_CELL_TIMEOUT", "").strip()
        if raw:
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                problems.append(f"REIFIER_CELL_TIMEOUT={raw!r} is not a number; using 600")
            else:
                timeout = value if value > 0 else None
        allow: dict[str, frozenset[str]] = {}
        raw = env.get("REIFIER_GUARD_ALLOW", "").strip()
        if raw:
            try:
                allow = _parse_allow(json.loads(raw))
            except (ValueError, TypeError) as exc:
                problems.append(f"REIFIER_GUARD_ALLOW ignored (no rule allowed): {exc}")
        resolvable = env.get("REIFIER_GUARD_RESOLVABLE", "") in {"1", "true", "yes"}
        params: frozenset[str] = frozenset()
        raw = env.get("REIFIER_GUARD_PARAMS", "").strip()
        if raw:
            try:
                names = json.loads(raw)
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise TypeError("expected a JSON list of names")
                params = frozenset(names)
            except (ValueError, TypeError) as exc:
                problems.append(f"REIFIER_GUARD_PARAMS ignored: {exc}")
        return cls(timeout, allow, resolvable, tuple(problems), params)


def _parse_allow(data: object) -> dict[str, frozenset[str]]:
    """Check a ``{key: [rule, ...]}`` mapping."""
    if not isinstance(data, dict):
        raise TypeError("expected a JSON object of cell key -> list of rule names")
    out = {}
    for key, rules in data.items():
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise TypeError(f"rules for {key!r} must be a list of strings")
        out[str(key)] = frozenset(rules)
    return out


def allowed_rules(
    settings: KernelSettings, code: str, count: int, meta: object, cell_id: str | None
) -> frozenset[str]:
    """Return the guard rules allowed for one cell (request metadata + REIFIER_GUARD_ALLOW)."""
    rules: set[str] = set()
    reifier_meta = meta.get("reifier") if isinstance(meta, dict) else None
    listed = reifier_meta.get("allow") if isinstance(reifier_meta, dict) else None
    if isinstance(listed, list):
        rules.update(r for r in listed if isinstance(r, str))
    digest = "sha256:" + hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()
    for key in (cell_id, digest, str(count)):
        if key is not None:
            rules.update(settings.allow.get(key, ()))
    return frozenset(rules)


def guard_refusal(code: str, allow: frozenset[str], require_resolvable: bool,
                  values: Mapping[str, str] | None = None) -> str | None:
    """Return why the guard refuses ``code``, or None if it may run (fails closed)."""
    try:
        from reifier.core import guard
    except Exception as exc:  # any import failure must refuse, never run unguarded
        return f"guard unavailable ({type(exc).__name__}: {exc}); nothing runs unguarded"
    try:
        verdict = guard.evaluate(code, allow=allow, require_resolvable=require_resolvable,
                                 values=values)
    except Exception as exc:  # a guard crash is a refusal too
        return f"guard failed ({type(exc).__name__}: {exc}); nothing runs unguarded"
    return None if verdict.allowed else str(verdict.reason)


def describe(result: CellResult, code: str, timeout: float | None) -> tuple[str, str, list[str]]:
    """Return (ename, evalue, traceback lines) for a cell that did not end ``ok``."""
    kind = "cut_short" if result.cut_short else result.kind
    outcome = OUTCOME_BY_KIND[kind]
    lines = code.splitlines()
    where = lines[result.line - 1].strip() if 0 < result.line <= len(lines) else ""
    # BASH_COMMAND names only a pipeline's last stage: show the whole line instead.
    command = where if len(result.pipestatus) > 1 and where else result.command
    status = str(result.status)
    if result.status < 0:  # subprocess's way of saying "killed by a signal"
        status += f" (killed by {signal.Signals(-result.status).name})"
    evalue = outcome.message.format(status=status, command=command, timeout=timeout or 0, reason="")
    if result.kind in {"timeout", "interrupted"} and result.state_lost:
        evalue += "; bash had to be killed, its state is lost"
    trace = [f"{outcome.ename}: {evalue}"]
    if where:
        trace.append(f"  at line {result.line}: {where}")
    if len(result.pipestatus) > 1:
        trace.append(f"  pipeline statuses: {' '.join(map(str, result.pipestatus))}")
    return outcome.ename, evalue, trace


class ReifierBashKernel(Kernel):
    """A Jupyter kernel running guarded cells in one persistent bash."""

    implementation = "reifier-bash"
    implementation_version = __version__
    language = "bash"
    banner = "Reifier Bash: one bash process, guarded cells, honest exit status"
    language_info: dict[str, object] = {  # noqa: RUF012 (the base class's declared type)
        "name": "bash",
        "mimetype": "text/x-sh",
        "file_extension": ".sh",
        "codemirror_mode": "shell",
        "pygments_lexer": "bash",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._settings = KernelSettings.from_env(os.environ)
        self._bash = BashSession(os.environ, self._stream)
        self._silent = False
        self._parent: dict[str, Any] = {}
        self._known: set[str] = set(self._settings.params)  # runbook variables seen so far
        self._private = tempfile.mkdtemp(prefix="reifier-kernel-")  # 0700, ours only
        self.language_info = {**self.language_info, "version": self._bash.version}

    def start(self) -> None:
        """Start serving; import and prime the guard just after, not before, the first reply."""
        super().start()  # type: ignore[no-untyped-call]
        signal.signal(signal.SIGTERM, self._terminated)
        self.io_loop.call_later(0.05, guard_refusal, "true", frozenset(), False)

    def _terminated(self, signum: int, frame: object) -> None:
        """Hang up bash's jobs on SIGTERM too, then die of it.

        A client that gave up waiting for a shutdown reply (a busy machine) sends
        SIGTERM: without this, background jobs of the cells would outlive the kernel.
        """
        self._bash.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    @property
    def kernel_info(self) -> dict[str, Any]:
        """Describe the kernel, without the debugger and subshells that bash cannot serve."""
        # Not super(): its feature probe imports debugpy (slow, and it prints warnings).
        return {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": [],
        }

    def _publish(self, msg_type: str, content: dict[str, Any]) -> None:
        # Output callbacks run outside the request's context, where ipykernel's
        # own parent lookup would name the first request: pass the parent explicitly.
        if not self._silent and self.session is not None:
            self.session.send(self.iopub_socket, msg_type, content, parent=self._parent)

    def _stream(self, name: str, text: str) -> None:
        self._publish("stream", {"name": name, "text": text})

    def _fail(self, ename: str, evalue: str, traceback: list[str]) -> dict[str, Any]:
        content = {"ename": ename, "evalue": evalue, "traceback": traceback}
        self._publish("error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: object = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        """Guard, then run one cell in bash and report how it ended."""
        self._silent = silent
        self._parent = self.get_parent("shell")  # type: ignore[no-untyped-call]
        for problem in self._settings.problems:
            self._stream("stderr", f"reifier-bash: {problem}\n")
        self._settings = replace(self._settings, problems=())
        ok = {"status": "ok", "execution_count": self.execution_count,
              "payload": [], "user_expressions": {}}
        if not code.strip():
            return ok
        allow = allowed_rules(self._settings, code, self.execution_count, cell_meta, cell_id)
        values, failed = await self._live_values(code)
        if failed is not None:  # bash was lost before the cell: say so, run nothing
            return self._fail(*describe(failed, code, self._settings.timeout))
        reason = guard_refusal(code, allow, self._settings.require_resolvable, values)
        if reason is not None:
            outcome = OUTCOME_BY_KIND["refused"]
            evalue = outcome.message.format(reason=reason)
            return self._fail(outcome.ename, evalue, [f"{outcome.ename}: {evalue}"])
        try:
            result = await self._bash.run(code, self._settings.timeout)
        except (OSError, RuntimeError) as exc:  # bash cannot start, cell file unwritable
            evalue = f"cannot run the cell: {exc}"
            return self._fail("KernelError", evalue, [f"KernelError: {evalue}"])
        if result.kind == "ok":
            return ok
        return self._fail(*describe(result, code, self._settings.timeout))

    async def _live_values(self, code: str) -> tuple[dict[str, str], CellResult | None]:
        """Ask bash for the values of the runbook variables ``code`` expands.

        Returns the values (unset names are absent) and, if bash could not answer
        (it died, the query timed out), the result to fail the cell with.
        """
        try:
            from reifier.core.bind import assigned, references
        except Exception:  # the guard then fails closed on its own import
            return {}, None
        wanted = sorted(references(code) & self._known)
        self._known.update(assigned(code))
        if not wanted:
            return {}, None
        out = os.path.join(self._private, "values")
        query = (f"{{ for __reifier_v in {' '.join(wanted)}; do if [[ -v $__reifier_v ]]; "
                 "then printf '%s\\0%s\\0' \"$__reifier_v\" \"${!__reifier_v}\"; fi; done; } "
                 f"> {shlex.quote(out)} 2>/dev/null || true; unset __reifier_v")
        result = await self._bash.run(query, 10.0)
        if result.kind != "ok":
            return {}, result
        try:
            with open(out, "rb") as handle:
                parts = handle.read().split(b"\0")
        except OSError:
            return {}, None
        text = [p.decode("utf-8", "surrogateescape") for p in parts]
        return dict(zip(text[0:-1:2], text[1::2], strict=False)), None

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        """Ask ``bash -n`` whether ``code`` is a complete command."""
        if code.rstrip("\n").endswith("\\"):
            return {"status": "incomplete", "indent": ""}
        proc = subprocess.run(
            ["bash", "-n"], input=code.encode(), capture_output=True, timeout=5,
            env={**os.environ, "LC_ALL": "C"}, check=False,
        )
        if proc.returncode == 0:
            return {"status": "complete"}
        if b"unexpected end of file" in proc.stderr or b"unexpected EOF" in proc.stderr:
            return {"status": "incomplete", "indent": ""}
        return {"status": "invalid"}

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        """End bash and hang up its background jobs."""
        self._bash.close()
        shutil.rmtree(self._private, ignore_errors=True)
        return {"status": "ok", "restart": restart}

    def pre_handler_hook(self) -> None:
        """Route SIGINT (interrupt_mode "signal") to the running cell while a request runs."""
        self._bash.clear_interrupt()
        self.saved_sigint_handler = signal.getsignal(signal.SIGINT)
        # asyncio's handler wakes the event loop on whichever thread the signal lands;
        # a plain signal.signal() handler would run only at the loop's next event.
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._bash.interrupt)

    def post_handler_hook(self) -> None:
        """Restore SIGINT to what it was between requests (ignored, in ipykernel)."""
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, self.saved_sigint_handler)
