"""``reifier graph``: export the memory graph."""

from __future__ import annotations

import click

from reifier.cli.options import open_store, workspace_option


@click.command("graph")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "graphml", "mermaid"]),
    default="json",
    show_default=True,
)
@workspace_option
def cmd_graph(fmt: str, workspace: str | None) -> None:
    """Print the graph (runbooks, error patterns, commands, sessions, alerts, runs)."""
    from reifier.adapters import graph
    from reifier.adapters.graph_export import export

    ctx, store = open_store(workspace)
    try:
        graph.sync_runbooks(ctx, store)
        click.echo(export(store, fmt), nl=False)
    finally:
        store.close()
