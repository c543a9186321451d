"""``execute_runbook``: one whole run — admission, papermill, evidence, exit code.

The papermill engine itself (:mod:`reifier.adapters.engine`) checks the very
notebook it executes; this module prepares the run, calls papermill from Python
and writes the record, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reifier.core.params import (
    INJECTED_TAG,
    PARAMETERS_TAG,
    as_text,
    inject_parameters,
    validate_name,
)
from reifier.errors import BadInput, ConfigError, Refused, RunFailed

if TYPE_CHECKING:
    from reifier.adapters.engine import CellProgress, EngineOptions
    from reifier.core.approval import RunPlan


@dataclass(frozen=True)
class RunResult:
    """What one run did, where its record is, and the exit code it maps to."""

    run_id: str
    runbook: str
    status: str  # ok | failed | precondition-failed | timeout | refused | interrupted | error
    record: Path | None = None
    html: Path | None = None
    failed_cell: int | None = None
    reason: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    commands: tuple[tuple[str, str], ...] = ()  # dry run: (label, source) in run order

    @property
    def exit_code(self) -> int:
        """Return 0 for a clean (or dry) run, 1 otherwise."""
        return 0 if self.status in {"ok", "dry-run"} else 1

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        return {
            "run_id": self.run_id,
            "runbook": self.runbook,
            "status": self.status,
            "record": str(self.record or ""),
            "html": str(self.html or ""),
            "failed_cell": self.failed_cell,
            "reason": self.reason,
            "parameters": self.parameters,
            "commands": [{"cell": c, "source": s} for c, s in self.commands],
        }


def _label(plan: RunPlan, index: int) -> str:
    number = plan.numbers.get(index)
    kind = " precondition" if index in plan.preconditions else ""
    return f"code cell {number}{kind}" if number else "injected parameters"


@dataclass(frozen=True)
class _Run:
    """One admitted run: where it came from, what was admitted and where it is recorded."""

    ctx: Any
    source: Path
    nb: dict[str, Any]
    runbook: str
    plan: RunPlan
    options: EngineOptions
    trigger: str
    run_id: str
    ipynb: Path
    started: str


def execute_runbook(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    workspace: str | None = None,
    trigger: str = "human",
    dry_run: bool = False,
    timeout: float | None = None,
    run_timeout: float | None = None,
    unattended: bool = False,
    cwd: str | None = None,
    progress: Callable[[CellProgress], None] | None = None,
) -> RunResult:
    """Run an approved runbook (either file of its pair) and keep the evidence.

    Raises BadInput (bad or unknown parameter, bad file) or Refused (draft, stale,
    bad signature, guarded cell) before anything runs; a failed cell gives a
    :class:`RunResult` with a non-zero ``exit_code`` and a written record.
    """
    from reifier.adapters import notebooks

    notebooks.existing_pair(Path(path))  # a missing runbook says so before the heavy imports
    from reifier.adapters import approve, records
    from reifier.adapters.inventory import hosts_of
    from reifier.adapters.keys import run_trust
    from reifier.adapters.settings import load_context
    from reifier.core.approval import AUTHOR_NAMESPACE, plan_run

    ctx = load_context(workspace)
    source = Path(path)
    given = {validate_name(str(k)): as_text(v) for k, v in (parameters or {}).items()}
    approve.ensure_runnable(ctx, source)
    nb = notebooks.read(source)
    nb.get("metadata", {}).pop("jupytext", None)  # records are never paired
    # The same admission the engine repeats on the object it executes: fail early, no kernel.
    injected = inject_parameters(nb, given)
    trust = run_trust(ctx.workspace, ctx.home, ctx.settings)
    plan = plan_run(injected, trust, require_resolvable=unattended, hosts_of=hosts_of,
                    signers_for_auto=ctx.settings.signers_for_auto,
                    author_check=approve.namespaced(trust, AUTHOR_NAMESPACE))
    runbook = str(nb["metadata"].get("reifier", {}).get("id") or source.stem)
    if dry_run:
        # as the guard judged them: parameter values bound in (parameter cells as written)
        commands = tuple(
            (_label(plan, i), _resolved(injected["cells"][i], plan.parameters))
            for i in plan.order
            if injected["cells"][i].get("cell_type") == "code"
        )
        return RunResult("", runbook, "dry-run", parameters=plan.parameters, commands=commands)
    from reifier.adapters.engine import EngineOptions  # papermill + nbclient: only to run

    options = EngineOptions(
        ctx.home,
        ctx.settings.cell_timeout_s if timeout is None else timeout,
        ctx.settings.run_timeout_s if run_timeout is None else run_timeout,
        unattended,
        progress,
    )
    run_id = records.new_run_id()
    ipynb = records.record_paths(ctx, runbook, run_id)[0]
    run = _Run(ctx, source, nb, runbook, plan, options, trigger, run_id, ipynb, approve.now_iso())
    return _execute(run, given, cwd)


def _resolved(cell: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """A cell as the guard judged it: values bound in (parameter cells as written)."""
    from reifier.core.approval import cell_form
    from reifier.core.bind import bind

    form = cell_form(cell)
    if PARAMETERS_TAG in form["tags"] or INJECTED_TAG in form["tags"]:
        return str(form["source"])
    return bind(form["source"], values).text


def _execute(run: _Run, given: dict[str, str], cwd: str | None) -> RunResult:
    import nbformat
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError

    from reifier.adapters.engine import KERNEL_NAME

    run.ipynb.parent.mkdir(parents=True, exist_ok=True)
    try:
        # papermill writes the output progressively, so a crash still leaves partial output
        with contextlib.suppress(PapermillExecutionError):  # outcome is in the metadata
            papermill.execute_notebook(
                nbformat.from_dict(run.nb),  # type: ignore[no-untyped-call]
                str(run.ipynb),
                parameters=given or None,
                engine_name="reifier",
                kernel_name=KERNEL_NAME,
                progress_bar=False,
                cwd=cwd,
                execution_timeout=run.options.cell_timeout,
                reifier_home=str(run.options.home),
                reifier_run_timeout=run.options.run_timeout,
                reifier_unattended=run.options.unattended,
                reifier_progress=run.options.progress,
            )
    except (Refused, BadInput, NoSuchKernel) as exc:  # refused before any cell ran
        run.ipynb.unlink(missing_ok=True)
        if isinstance(exc, NoSuchKernel):
            raise ConfigError(
                f"kernel {KERNEL_NAME} is not installed: run `reifier kernel install --sys-prefix`"
            ) from None
        raise
    except BaseException as exc:  # write the evidence, then let it through
        error = f"{type(exc).__name__}: {exc}"
        _finish(run, error)
        if isinstance(exc, Exception):
            raise RunFailed(f"run {run.run_id} of {run.runbook} broke off: {error}") from None
        raise
    return _finish(run, "")


def _cell_error(out: Mapping[str, Any], outcome: Mapping[str, Any]) -> str:
    """Return the failed cell's error (``CellFailed: exit status 3 from: curl …``), or ''.

    By content, not index: papermill inserts its own error banners after a failure.
    """
    if not any(c.get("status") == "failed" for c in outcome.get("cells", [])):
        return ""
    for cell in out.get("cells", []):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("cell_type") == "code" and errors:
            return f"{errors[-1].get('ename')}: {errors[-1].get('evalue')}"
    return ""


def _finish(run: _Run, error: str) -> RunResult:
    import getpass
    import socket

    from reifier.adapters import records
    from reifier.adapters.approve import now_iso

    try:
        out = json.loads(run.ipynb.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        out = run.nb  # the engine never wrote: record the runbook as it was
    outcome = dict(out.get("metadata", {}).get("reifier", {}).get("run", {}))
    interrupted = error.startswith("KeyboardInterrupt")
    status = "interrupted" if interrupted else str(outcome.get("status", "error"))
    prov = {
        "run_id": run.run_id,
        "runbook": run.runbook,
        "source": str(run.source),
        "title": str(run.nb["metadata"].get("reifier", {}).get("title", "")),
        "digest": run.plan.digest,
        "approved_by": run.plan.approved_by,
        "parameters": run.plan.parameters,
        "given": run.plan.given,
        "trigger": run.trigger,
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "started": run.started,
        "ended": now_iso(),
        "status": status,
        "failed_cell": outcome.get("failed_cell"),
        "cells": outcome.get("cells", []),
        "error": error or outcome.get("error", ""),
    }
    cell_error = _cell_error(out, outcome)  # before keep() puts its header cell first
    line = records.keep(run.ctx, out, prov)
    base = records.records_dir(run.ctx)
    where = f" at code cell {prov['failed_cell']}" if prov["failed_cell"] else ""
    why = prov["error"] or cell_error
    reason = "" if status == "ok" else f"{status}{where}" + (f": {why}" if why else "")
    return RunResult(
        run.run_id,
        run.runbook,
        status,
        base / line["record"],
        base / line["html"],
        prov["failed_cell"],
        reason,
        run.plan.parameters,
    )
