"""The core stays pure: importing it pulls in no Jupyter, watchdog or tornado."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ["nbformat", "jupytext", "papermill", "nbclient", "watchdog", "tornado",
             "jupyter_client", "jupyter_server", "zmq"]


def test_core_imports_no_impure_libraries() -> None:
    code = (
        "import importlib, pkgutil, sys, reifier.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'reifier.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_does_not_import_jupyter() -> None:
    code = (
        "import sys\nfrom reifier.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('nbformat', 'papermill', 'jupyter_client') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]")
