"""Run the real `reifier` CLI in a subprocess for functional tests."""

from __future__ import annotations

import subprocess
import sys

REIFIER = [sys.executable, "-m", "reifier"]


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``reifier ARGS`` with ``env``; raise with its stderr when ``check`` and it fails."""
    proc = subprocess.run([*REIFIER, *args], capture_output=True, text=True, env=env)
    if check and proc.returncode:
        raise AssertionError(f"{args}: exit {proc.returncode}\n{proc.stderr}")
    return proc
