"""``reifier pause`` / ``reifier resume``: stop and restart recording in every shell.

The hooks test for ``$REIFIER_HOME/paused`` with a builtin ``[[ -e ]]`` before
each record, so the flag takes effect at the next prompt of every open shell.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click


def _paused_flag() -> Path:
    from reifier.adapters.settings import default_home

    return default_home(os.environ) / "paused"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".paused.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command()
def cmd_pause() -> None:
    """Stop recording commands in every shell until `reifier resume`."""
    flag = _paused_flag()
    _write_atomically(flag, f"paused at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
    click.echo(f"Recording paused ({flag}); `reifier resume` to record again.")


@click.command()
def cmd_resume() -> None:
    """Record commands again after `reifier pause`."""
    flag = _paused_flag()
    try:
        flag.unlink()
    except FileNotFoundError:
        click.echo("Recording was not paused.")
        return
    click.echo("Recording resumed.")
