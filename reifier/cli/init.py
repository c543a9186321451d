"""``reifier init bash|zsh``: print the capture hook to eval in the shell's rc file."""

from __future__ import annotations

import os

import click

from reifier.shell import render_hook, shell_names


@click.command(
    epilog='Example: put `eval "$(reifier init bash)"` at the end of ~/.bashrc '
    '(or `eval "$(reifier init zsh)"` in ~/.zshrc).'
)
@click.argument("shell", type=click.Choice(shell_names()))
def cmd_init(shell: str) -> None:
    """Print the shell hook to eval in your rc file (bash or zsh)."""
    from reifier.adapters.settings import default_home

    home = os.path.abspath(default_home(os.environ))
    click.echo(render_hook(shell, home), nl=False)
