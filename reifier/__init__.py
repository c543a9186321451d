"""Runbook Reifier: turn the shell sessions that fixed an incident into runbooks.

The public API is lazy so that ``import reifier`` stays cheap (the CLI must start
in well under 300 ms and Jupyter's libraries cost seconds to import).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "execute_runbook", "read", "write"]


def __getattr__(name: str) -> Any:
    """Load the notebook-facing API on first use only."""
    if name in {"read", "write"}:
        from reifier.adapters import notebooks

        return getattr(notebooks, name)
    if name == "execute_runbook":
        from reifier.adapters import runner

        return runner.execute_runbook
    raise AttributeError(name)
