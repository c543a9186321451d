"""``reifier config``: the effective settings and where each one came from."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, workspace_option


@click.command("config")
@workspace_option
@json_option
def cmd_config(*, workspace: str | None, as_json: bool) -> None:
    """Print every setting in force and its source: default, reifier.toml or REIFIER_* env.

    Example: `reifier config` in a workspace, or `reifier config --json | jq .approval`.
    """
    from reifier.adapters.settings import config_path, find_config, load_context
    from reifier.core.config import Settings, resolve

    ctx = load_context(workspace)
    path = config_path(ctx)
    _, data = find_config(ctx.workspace)
    default, from_file = Settings(), resolve(toml=data)
    rows: dict[str, dict[str, Any]] = {}
    for field in dataclasses.fields(Settings):
        value = getattr(ctx.settings, field.name)
        if value != getattr(from_file, field.name):
            source = f"environment (REIFIER_{field.name.upper()})"
        elif value != getattr(default, field.name):
            source = str(path)
        else:
            source = "default"
        shown = (dataclasses.asdict(value) if dataclasses.is_dataclass(value)
                 and not isinstance(value, type) else value)
        rows[field.name] = {"value": shown, "source": source}
    if as_json:
        emit_json({"workspace": str(ctx.workspace), "home": str(ctx.home),
                   "config_file": str(path) if path else None, "settings": rows})
        return
    click.echo(f"workspace:   {ctx.workspace}")
    click.echo(f"home:        {ctx.home}" + ("  (REIFIER_HOME)" if "REIFIER_HOME" in os.environ
                                              else ""))
    click.echo(f"config file: {path or 'none (defaults)'}")
    for name, row in rows.items():
        click.echo(f"  {name:20} = {row['value']!r}  [{row['source']}]")
