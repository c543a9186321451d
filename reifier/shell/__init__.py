"""Shell capture hooks, shipped as package data and printed by ``reifier init``.

The hooks are real files beside this module (``reifier.bash``, ``reifier.zsh``)
so that shellcheck and zsh can check them as they are. ``render_hook`` prepends
one assignment that bakes in the default ``REIFIER_HOME``; the hook still lets a
``$REIFIER_HOME`` set at run time win.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib import resources

from reifier.errors import BadInput


@dataclass(frozen=True)
class HookShell:
    """A shell Reifier can hook: its hook file and how users install it."""

    name: str
    filename: str
    rc_file: str
    example: str  # the line to put in rc_file


HOOK_SHELLS: tuple[HookShell, ...] = (
    HookShell("bash", "reifier.bash", "~/.bashrc", 'eval "$(reifier init bash)"'),
    HookShell("zsh", "reifier.zsh", "~/.zshrc", 'eval "$(reifier init zsh)"'),
)


def shell_names() -> tuple[str, ...]:
    """Return the names of the shells that have a hook."""
    return tuple(s.name for s in HOOK_SHELLS)


def get_shell(name: str) -> HookShell:
    """Return the hook entry for ``name``; raise BadInput listing the valid names."""
    for shell in HOOK_SHELLS:
        if shell.name == name:
            return shell
    raise BadInput(f"no hook for shell {name!r} (valid: {', '.join(shell_names())})")


def hook_source(name: str) -> str:
    """Return the hook file's text for shell ``name``, as shipped."""
    filename = get_shell(name).filename
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


def render_hook(name: str, default_home: str) -> str:
    """Return the text ``reifier init NAME`` prints, with ``default_home`` baked in."""
    bake = f"__reifier_default_home={shlex.quote(default_home)}\n"
    return bake + hook_source(name)
