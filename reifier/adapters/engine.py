"""The papermill engine ``reifier``: approval, guard, preconditions and timeouts.

``papermill --engine reifier in.ipynb out.ipynb -p NAME VALUE`` and
:func:`execute_runbook` both end in :meth:`ReifierEngine.execute_managed_notebook`,
which admits the *very notebook object it then executes* (so swapping the file
after a check changes nothing): the approval must verify against the local key,
papermill's injected cell must hold only ``NAME='value'`` lines for declared
parameters, and the guard must accept every code cell (the injected one
included) under the approver's allow-list. Then cells run parameters first,
``precondition`` cells next (a failing one stops the run before any fix), then
the rest, in one ``reifier-bash`` kernel that is shut down at once afterwards.

The kernel enforces the per-cell timeout and kills the cell's processes; the
engine enforces the whole-run deadline by interrupting the kernel. Outcomes
land in ``metadata.reifier.run`` of the output notebook.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellExecutionError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.iorw import write_ipynb
from papermill.translators import BashTranslator, papermill_translators
from papermill.utils import remove_args

from reifier.adapters.inventory import hosts_of
from reifier.adapters.keys import run_trust
from reifier.core.approval import RunPlan, plan_run
from reifier.core.params import (
    as_text,
    parse_parameters_cell,
    render_parameters_cell,
    shell_quote,
)
from reifier.errors import Refused

logger = logging.getLogger("reifier.engine")
logger.addHandler(logging.NullHandler())  # the record tells what happened; papermill's CLI logs
KERNEL_NAME = "reifier-bash"
GRACE_S = 10.0  # nbclient's own timer only backs up the kernel's per-cell timeout
SAVE_EVERY_S = 1.0  # progress saves rewrite the whole notebook: at most one per second

#: how a stopped run is reported, by the error name the kernel (or nbclient) gave
OUTCOME_BY_ENAME: Mapping[str, str] = {
    "CellTimeout": "timeout",
    "RunTimeout": "timeout",
    "GuardRefused": "refused",
    "CellInterrupted": "interrupted",
}


class ShellTranslator(BashTranslator):  # type: ignore[misc]
    """Render papermill parameters as ``NAME='value'``: values are data, never code."""

    @classmethod
    def translate(cls, val: Any) -> str:
        """Quote any value as one literal bash word."""
        return shell_quote(as_text(val))

    @classmethod
    def codify(cls, parameters: Mapping[str, Any], comment: str = "Parameters") -> str:
        """Render the injected cell exactly as the engine expects to find it."""
        return render_parameters_cell({str(k): as_text(v) for k, v in parameters.items()})

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Any]:
        """List the declared parameters (``papermill --help-notebook``, unknown-name checks)."""
        from papermill.models import Parameter

        defaults = parse_parameters_cell(str(parameters_cell.source))
        return [Parameter(name, "str", shell_quote(v), "") for name, v in defaults.items()]


papermill_translators.register("bash", ShellTranslator)
papermill_translators.register(KERNEL_NAME, ShellTranslator)


@dataclass(frozen=True)
class CellProgress:
    """One code cell that just ran, as ``reifier run`` reports it line by line."""

    number: int  # 1-based code-cell number (0: papermill's injected parameters)
    first_line: str
    seconds: float
    status: str  # ok, failed, precondition-failed, timeout, refused, interrupted
    reason: str = ""  # the kernel's error (``CellFailed: exit status 3 from: curl …``)
    tail: tuple[str, ...] = ()  # the last lines the cell printed, on failure
    total: int = 0  # code cells the run has in all (for a progress bar)


@dataclass(frozen=True)
class EngineOptions:
    """Reifier's own engine arguments (papermill passes unknown keyword arguments on)."""

    home: Path
    cell_timeout: float
    run_timeout: float
    unattended: bool
    progress: Callable[[CellProgress], None] | None = None

    @classmethod
    def pop(cls, kwargs: dict[str, Any], execution_timeout: float | None) -> EngineOptions:
        """Take ``reifier_*`` arguments out of ``kwargs``; the rest come from settings."""
        home = kwargs.pop("reifier_home", None)
        run_timeout = kwargs.pop("reifier_run_timeout", None)
        unattended = bool(kwargs.pop("reifier_unattended", False))
        progress = kwargs.pop("reifier_progress", None)
        if home is None or run_timeout is None or execution_timeout is None:
            from reifier.adapters.settings import load_context

            ctx = load_context()
            home = home or ctx.home
            run_timeout = ctx.settings.run_timeout_s if run_timeout is None else run_timeout
            if execution_timeout is None:
                execution_timeout = ctx.settings.cell_timeout_s
        return cls(Path(home), float(execution_timeout), float(run_timeout), unattended,
                   progress)


class ThrottledManager(NotebookExecutionManager):  # type: ignore[misc]
    """papermill's execution manager, saving progress at most once a second.

    papermill saves the whole notebook (deep copy, schema validation, JSON) at
    every cell start and end, which made a 100-cell run quadratic. Start, end
    and failure are always saved, so a failed run keeps its partial output.
    """

    force = False

    def save(self, **kwargs: Any) -> None:
        """Write the notebook if forced or if the last save is a second old."""
        if kwargs.get("nb") is not None:
            self.nb = kwargs["nb"]
        last: Any = self.last_save_time  # type: ignore[has-type]  # untyped in papermill
        due = (self.now() - last).total_seconds() >= SAVE_EVERY_S
        if self.output_path and (self.force or due):
            if "://" in str(self.output_path):
                write_ipynb(self.nb, self.output_path)  # remote: papermill's I/O layer
            else:
                _write_json(Path(self.output_path), self.nb)
        self.last_save_time = self.now()

    def _forced(self, method: Any, **kwargs: Any) -> None:
        self.force = True
        try:
            method(self, **kwargs)
        finally:
            self.force = False

    def notebook_start(self, **kwargs: Any) -> None:
        """Start the run and save at once."""
        self._forced(NotebookExecutionManager.notebook_start, **kwargs)

    def notebook_complete(self, **kwargs: Any) -> None:
        """Finish the run and save at once, keeping cells that never ran ``pending``."""
        pending = [
            c
            for c in self.nb.cells
            if c.metadata.get("papermill", {}).get("status") == self.PENDING
        ]
        self.force = True
        try:
            # papermill marks pending cells before the failed one "completed", guessing
            # they ran in file order; preconditions run first, so that guess is wrong here.
            super().notebook_complete(**kwargs)
            for cell in pending:
                cell.metadata.papermill["status"] = self.PENDING
            self.save()
        finally:
            self.force = False

    def cell_exception(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        """Mark the failed cell and save at once."""
        super().cell_exception(cell, cell_index=cell_index, **kwargs)
        self._forced(NotebookExecutionManager.save)


def _write_json(path: Path, nb: Any) -> None:
    """Write a notebook atomically without nbformat's per-save deep copy and validation."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


class ReifierClient(PapermillNotebookClient):  # type: ignore[misc]
    """papermill's client, running cells in the admitted order with a run deadline."""

    def __init__(self, nb_man: Any, plan: RunPlan, options: EngineOptions, **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.plan = plan
        self.options = options
        self.deadline = time.monotonic() + (options.run_timeout or float("inf"))
        self.timeout_func = self._timeout_for
        self.done: list[int] = []
        self.failed: int | None = None
        self.outcome = "running"

    def _timeout_for(self, cell: Any) -> int:
        cell_limit = self.options.cell_timeout + GRACE_S if self.options.cell_timeout else 1e9
        remaining = self.deadline - time.monotonic()
        return max(1, int(min(cell_limit, remaining) + 0.999))

    def _stop(self, index: int, outcome: str, exc: Exception) -> None:
        self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
        self.failed = index
        self.outcome = outcome

    def papermill_execute_cells(self) -> None:
        """Run cells in plan order; stop at the first failure or at the run deadline."""
        for index in self.plan.order:
            cell = self.nb.cells[index]
            if time.monotonic() >= self.deadline:
                self.outcome = "timeout"
                return
            started = time.monotonic()
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
                errored = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                if index in self.plan.preconditions and errored:
                    # a precondition tagged raises-exception still gates the fixes
                    self._stop(index, "precondition-failed", RuntimeError("precondition failed"))
                    return
            except CellExecutionError as exc:
                precondition = index in self.plan.preconditions
                default = "precondition-failed" if precondition else "failed"
                self._stop(index, OUTCOME_BY_ENAME.get(exc.ename, default), exc)
                return
            finally:
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
                self._report(index, started)
            self.done.append(index)
        self.outcome = "ok"

    def _report(self, index: int, started: float) -> None:
        """Tell the caller (``reifier run``) how a code cell ended, as soon as it ends."""
        cell = self.nb.cells[index]
        if self.options.progress is None or cell.cell_type != "code":
            return
        status = self.outcome if self.failed == index else "ok"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        reason = f"{errors[-1].get('ename')}: {errors[-1].get('evalue')}" if errors else ""
        printed = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                          if o.get("output_type") == "stream")
        tail = tuple(printed.rstrip("\n").splitlines()[-5:]) if status != "ok" else ()
        lines = str(cell.source).strip().splitlines() or [""]
        total = sum(1 for i in self.plan.order if self.nb.cells[i].cell_type == "code")
        self.options.progress(CellProgress(self.plan.numbers.get(index, 0), lines[0],
                                           time.monotonic() - started, status, reason, tail,
                                           total))


def _kernel_env(plan: RunPlan, nb: Any, options: EngineOptions) -> dict[str, str]:
    import hashlib

    allow = {
        "sha256:"
        + hashlib.sha256(nb.cells[i].source.encode("utf-8", "surrogateescape")).hexdigest(): sorted(
            rules
        )
        for i, rules in plan.allow.items()
    }
    env = dict(os.environ)
    env["REIFIER_GUARD_ALLOW"] = json.dumps(allow)
    env["REIFIER_CELL_TIMEOUT"] = f"{options.cell_timeout:g}"
    env["REIFIER_GUARD_RESOLVABLE"] = "1" if options.unattended else ""
    env["REIFIER_GUARD_PARAMS"] = json.dumps(sorted(plan.parameters))
    return env


def _run_summary(nb: Any, plan: RunPlan, client: ReifierClient | None, error: str) -> None:
    """Store the outcome in ``metadata.reifier.run`` and undo papermill's status guesses."""
    done = set(client.done) if client else set()
    failed = client.failed if client else None
    cells = []
    for index in plan.order:
        cell = nb.cells[index]
        if cell.cell_type != "code":
            continue
        status = "ok" if index in done else "failed" if index == failed else "not-run"
        pm = cell.metadata.get("papermill", {})
        cells.append(
            {
                "cell": plan.numbers.get(index, 0),
                "index": index,
                "status": status,
                "duration": pm.get("duration"),
                "precondition": index in plan.preconditions,
            }
        )
    outcome = client.outcome if client and client.outcome != "running" else "error"
    run = dict(nb.metadata.get("reifier", {}).get("run", {}))
    run.update(
        status=outcome,
        error=error,
        digest=plan.digest,
        approved_by=plan.approved_by,
        parameters=plan.parameters,
        given=plan.given,
        cells=cells,
        failed_cell=plan.numbers.get(failed, 0) if failed is not None else None,
    )
    nb.metadata.setdefault("reifier", {})["run"] = run


class ReifierEngine(NBClientEngine):  # type: ignore[misc]
    """papermill engine ``reifier``: admit the notebook object, then run it guarded."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        *,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        """Run ``nb`` like papermill's base engine does, with :class:`ThrottledManager`."""
        nb_man = ThrottledManager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        *,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Verify ``nb_man.nb`` (the object that runs), then execute it in plan order."""
        options = EngineOptions.pop(kwargs, execution_timeout)
        nb = nb_man.nb
        from reifier.adapters.approve import namespaced
        from reifier.adapters.settings import load_context
        from reifier.core.approval import AUTHOR_NAMESPACE

        ctx = load_context()
        trust = run_trust(ctx.workspace, options.home, ctx.settings)
        plan = plan_run(nb, trust, require_resolvable=options.unattended, hosts_of=hosts_of,
                        signers_for_auto=ctx.settings.signers_for_auto,
                        author_check=namespaced(trust, AUTHOR_NAMESPACE))
        if (kernel_name or KERNEL_NAME) != KERNEL_NAME:  # only this kernel guards each cell
            raise Refused(f"runbooks run in the {KERNEL_NAME} kernel, not {kernel_name!r}")
        for cell in nb.cells:
            # Only the signed allow-list may waive guard rules: drop per-cell claims.
            cell.metadata.get("reifier", {}).pop("allow", None)
        extra = remove_args(["input_path", "timeout", "startup_timeout", "timeout_func"], **kwargs)
        client = ReifierClient(
            nb_man,
            plan,
            options,
            kernel_name=KERNEL_NAME,
            startup_timeout=start_timeout,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            shutdown_kernel="immediate",
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": "RunTimeout",
                "evalue": "run timeout reached; the cell was interrupted",
                "traceback": ["RunTimeout"],
            },
            **extra,
        )
        error = ""
        try:
            client.execute(env=_kernel_env(plan, nb, options))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _run_summary(nb, plan, client, error)
        return nb


# Registered here too, so runs work even where the entry point is not installed.
papermill_engines.register("reifier", ReifierEngine)


def __getattr__(name: str) -> Any:
    """Keep ``engine.execute_runbook`` / ``engine.RunResult`` working (they live in runner)."""
    if name in {"execute_runbook", "RunResult"}:
        from reifier.adapters import runner

        return getattr(runner, name)
    raise AttributeError(name)
