"""``reifier lab``: JupyterLab on the workspace, with the reifier-bash kernel and the extension."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reifier.cli.options import workspace_option
from reifier.errors import BadInput

LAB_EXTENSION = "reifier-lab"
SERVER_EXTENSION = "reifier.server.lab"


def lab_argv(workspace: Path, port: int | None, no_browser: bool, is_root: bool,
             extra: tuple[str, ...] = ()) -> list[str]:
    """Return the ``python -m jupyterlab`` command line for ``workspace``."""
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace}",
            "--ip=127.0.0.1",
            # Enabled here too, so a checkout without the installed config still gets the API.
            f"--ServerApp.jpserver_extensions={SERVER_EXTENSION}=True"]
    if port is not None:
        argv += [f"--port={port}", "--ServerApp.port_retries=0"]  # a named port or nothing
    if no_browser:
        argv.append("--no-browser")
    if is_root:
        argv.append("--allow-root")
    return [*argv, *extra]


def front_end_installed() -> bool:
    """Return whether JupyterLab will find the built ``reifier-lab`` front end."""
    from jupyter_core.paths import jupyter_path

    return any((Path(d) / LAB_EXTENSION / "package.json").is_file()
               for d in jupyter_path("labextensions"))


@click.command("lab", context_settings={"ignore_unknown_options": True})
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: JupyterLab's, 8888 or the next free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.argument("lab_args", nargs=-1, type=click.UNPROCESSED)
@workspace_option
def cmd_lab(port: int | None, no_browser: bool, lab_args: tuple[str, ...],
            workspace: str | None) -> None:
    """Start JupyterLab on the workspace (127.0.0.1) with the Reifier extension.

    Extra arguments after ``--`` go to ``jupyter lab`` unchanged (e.g.
    ``reifier lab -- --ServerApp.token=secret``). JupyterLab keeps running
    until interrupted; its exit code is this command's.
    """
    from reifier.adapters.settings import load_context

    ctx = load_context(workspace)
    if not ctx.workspace.is_dir():
        raise BadInput(f"workspace {ctx.workspace} is not a directory")
    if not front_end_installed():
        click.echo("reifier: warning: the reifier-lab front end is not installed; run "
                   "scripts/build-labextension.sh (or install the wheel)", err=True)
    argv = lab_argv(ctx.workspace, port, no_browser, os.getuid() == 0, lab_args)
    env = {**os.environ, "REIFIER_WORKSPACE": str(ctx.workspace)}
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child: Ctrl-C and SIGTERM reach JupyterLab directly, which shuts
    # its kernels down cleanly, and its exit status becomes ours.
    os.execve(sys.executable, argv, env)  # noqa: S606
