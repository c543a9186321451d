"""``reifier run PATH [-p NAME VALUE]…``: run an approved runbook and keep a record."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, workspace_option
from reifier.errors import Refused, RunFailed


@click.command("run")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a declared parameter; the value is passed as literal data.")
@click.option("--dry-run", is_flag=True, help="Check and print the commands; run nothing.")
@click.option("--trigger", default="human", show_default=True,
              help="What started the run (alert id, log line…), kept in the record.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="Per-cell timeout in seconds (default: cell_timeout_s; 0: none).")
@click.option("--run-timeout", type=click.FloatRange(min=0), default=None,
              help="Whole-run timeout in seconds (default: run_timeout_s; 0: none).")
@click.option("--cwd", type=click.Path(file_okay=False, exists=True), default=None,
              help="Working directory of the kernel (default: the current one).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing while cells run.")
@workspace_option
@json_option
def cmd_run(
    *,
    path: Path,
    params: tuple[tuple[str, str], ...],
    dry_run: bool,
    trigger: str,
    timeout: float | None,
    run_timeout: float | None,
    cwd: str | None,
    quiet: bool,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Run an approved runbook (.md or .ipynb) with the reifier papermill engine.

    Exit codes: 0 ok, 1 a cell failed or timed out (the record is still written),
    2 bad input (unknown or badly named parameter, malformed notebook),
    3 refused (draft, stale, bad signature, guarded cell, a parameter outside its
    constraint, or a cell the kernel's guard refused with the live values).
    """
    from reifier.adapters.runner import execute_runbook

    result = execute_runbook(
        path, dict(params), workspace=workspace, trigger=trigger, dry_run=dry_run,
        timeout=timeout, run_timeout=run_timeout, cwd=cwd,
        progress=None if quiet or as_json else _Progress(),
    )
    if as_json:
        emit_json(result.to_json())
    elif dry_run:
        click.echo(f"# dry run of {result.runbook}: approved, guard passed; nothing ran")
        for label, source in result.commands:
            click.echo(f"\n# --- {label}\n{source.rstrip()}")
    else:
        click.echo(f"{result.runbook}: {result.status}  run {result.run_id}\n"
                   f"  record: {result.record}\n  html:   {result.html}")
    if result.status == "refused":  # the kernel's guard stopped a cell: a safety refusal
        raise Refused(f"run {result.run_id}: {result.reason}")
    if result.exit_code:
        raise RunFailed(f"run {result.run_id}: {result.reason}")


class _Progress:
    """One line per code cell as it ends (stderr), under a tqdm bar when stderr is a terminal.

    On failure the kernel's reason and the cell's last output lines follow.
    """

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, cell: Any) -> None:
        label = f"code cell {cell.number}" if cell.number else "parameters"
        first = cell.first_line if len(cell.first_line) <= 60 else cell.first_line[:59] + "…"
        lines = [f"  {label:>13}  {cell.seconds:7.2f}s  {cell.status:<8} {first}"]
        if cell.status != "ok":
            if cell.reason:
                lines.append(f"  {'':>13}  {cell.reason}")
            lines += [f"  {'':>13}  | {line}" for line in cell.tail]
        if self.bar is None and cell.total > 1 and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=cell.total, unit="cell", file=sys.stderr, leave=False)
        if self.bar is not None:
            for line in lines:
                self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
            if self.bar.n >= self.bar.total or cell.status != "ok":
                self.bar.close()
        else:
            for line in lines:
                click.echo(line, err=True)
