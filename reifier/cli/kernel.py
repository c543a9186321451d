"""``reifier kernel install|list``: put the reifier-bash kernel spec where Jupyter finds it."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option
from reifier.errors import BadInput

KERNEL_NAME = "reifier-bash"
#: the same content as kernels/reifier-bash/kernel.json (a test keeps them equal);
#: jupyter_client replaces the leading "python" with the running interpreter
KERNEL_SPEC: dict[str, Any] = {
    "argv": ["python", "-m", "reifier.adapters.kernel_main", "-f", "{connection_file}"],
    "display_name": "Reifier Bash",
    "language": "bash",
    "interrupt_mode": "signal",
    "metadata": {"debugger": False},
}


def spec_sources() -> list[Path]:
    """Return the directories that may hold the static spec: the checkout, then the wheel's."""
    here = Path(__file__).resolve().parents[2] / "kernels" / KERNEL_NAME
    shipped = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    return [p for p in (here, shipped) if (p / "kernel.json").is_file()]


def stage_spec(dest: Path) -> Path:
    """Copy the spec (with its logo when found) into ``dest`` and return it.

    Staging matters: installing straight from the wheel's copy would make
    jupyter_client delete its source before copying it onto itself.
    """
    dest.mkdir(parents=True, exist_ok=True)
    sources = spec_sources()
    if sources:
        for item in sources[0].iterdir():
            if item.is_file():
                shutil.copy2(item, dest / item.name)
    else:
        (dest / "kernel.json").write_text(json.dumps(KERNEL_SPEC, indent=2) + "\n")
    return dest


def install_spec(user: bool, prefix: str | None) -> str:
    """Install the spec for this user, into ``prefix``, or (default) into sys.prefix."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        staged = stage_spec(Path(tmp) / KERNEL_NAME)
        target = None if user else (prefix or sys.prefix)
        installed: str = KernelSpecManager().install_kernel_spec(
            str(staged), KERNEL_NAME, user=user, prefix=target
        )
    return installed


@click.group("kernel")
def cmd_kernel() -> None:
    """Install or inspect the reifier-bash Jupyter kernel."""


@cmd_kernel.command("install")
@click.option("--user", is_flag=True, help="Install for the current user (~/.local/share/jupyter).")
@click.option("--sys-prefix", is_flag=True, help="Install into this Python's prefix (default).")
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Install under PREFIX/share/jupyter/kernels.",
)
@json_option
def cmd_install(user: bool, sys_prefix: bool, prefix: str | None, as_json: bool) -> None:
    """Install the reifier-bash kernel spec (default: into sys.prefix, e.g. the venv)."""
    if sum((user, sys_prefix, prefix is not None)) > 1:
        raise BadInput("choose one of --user, --sys-prefix and --prefix")
    where = install_spec(user, prefix)
    if as_json:
        emit_json({"name": KERNEL_NAME, "resource_dir": where})
    else:
        click.echo(f"installed kernel spec {KERNEL_NAME} in {where}")


@cmd_kernel.command("list")
@json_option
def cmd_list(as_json: bool) -> None:
    """List the kernel specs Jupyter finds, marking reifier-bash."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    rows = [
        {
            "name": name,
            "display_name": info["spec"].get("display_name", ""),
            "language": info["spec"].get("language", ""),
            "resource_dir": info["resource_dir"],
        }
        for name, info in sorted(specs.items())
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        mark = "*" if row["name"] == KERNEL_NAME else " "
        click.echo(f"{mark} {row['name']:<16} {row['display_name']:<16} {row['resource_dir']}")
    if KERNEL_NAME not in specs:
        click.echo(f"{KERNEL_NAME} is not installed: run `reifier kernel install`", err=True)
