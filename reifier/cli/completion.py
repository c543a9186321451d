"""``reifier completion bash|zsh``: the shell completion script (click's own)."""

from __future__ import annotations

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def cmd_completion(shell: str) -> None:
    """Print the completion script for SHELL; eval it in your rc file.

    Example: `eval "$(reifier completion bash)"` in ~/.bashrc.
    """
    from click.shell_completion import get_completion_class

    from reifier.cli import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the Choice above lists what click provides
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "reifier", "_REIFIER_COMPLETE").source())
