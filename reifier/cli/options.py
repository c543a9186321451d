"""Shared options and helpers for the commands (one place, reused as decorators)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(func: F) -> F:
    """Add ``--workspace DIR`` (default: ``REIFIER_WORKSPACE`` or the current directory)."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help="Workspace holding runbooks/ and reifier.toml (env REIFIER_WORKSPACE).",
    )(func)


def json_option(func: F) -> F:
    """Add ``--json`` to a listing command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def open_store(workspace: str | None) -> tuple[Any, Any]:
    """Load the context and open its store."""
    from reifier.adapters.settings import load_context
    from reifier.adapters.store import Store

    ctx = load_context(workspace)
    return ctx, Store(ctx.db_path)
