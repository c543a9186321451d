"""Find the workspace, the per-user home and ``reifier.toml``; build :class:`Settings`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reifier.core.config import Settings, resolve
from reifier.errors import ConfigError


@dataclass(frozen=True)
class Context:
    """Where things live and how Reifier is tuned, for one CLI or server process."""

    workspace: Path
    home: Path
    settings: Settings

    @property
    def db_path(self) -> Path:
        """Return the SQLite store's path."""
        return self.home / "reifier.db"

    @property
    def spool_dir(self) -> Path:
        """Return the directory the shell hooks append to."""
        return self.home / "spool"

    @property
    def runbooks(self) -> Path:
        """Return the workspace's ``runbooks/`` directory."""
        return self.workspace / "runbooks"


def default_home(env: Mapping[str, str]) -> Path:
    """Return ``REIFIER_HOME`` or the XDG data directory for Reifier."""
    if env.get("REIFIER_HOME"):
        return Path(env["REIFIER_HOME"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reifier"


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """Walk up from ``start`` to the first ``reifier.toml`` or ``[tool.reifier]``."""
    for directory in (start, *start.parents):
        candidate = directory / "reifier.toml"
        if candidate.is_file():
            return candidate, _read_toml(candidate)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject).get("tool", {}).get("reifier")
            if isinstance(data, dict):
                return pyproject, data
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_context(
    workspace: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Context:
    """Resolve workspace (flag > ``REIFIER_WORKSPACE`` > cwd), home and settings."""
    env = os.environ if env is None else env
    ws = Path(workspace or env.get("REIFIER_WORKSPACE") or Path.cwd()).expanduser().resolve()
    _, data = find_config(ws)
    settings = resolve(toml=data, env=env, overrides=overrides)
    return Context(workspace=ws, home=default_home(env), settings=settings)


def config_path(ctx: Context) -> Path | None:
    """Return the config file in force for ``ctx``, if any."""
    return find_config(ctx.workspace)[0]
