"""The approval key: 32 random bytes in ``REIFIER_HOME/approval.key``, mode 0600.

Created on first use without a window where it exists with looser permissions
or half-written: the bytes go to a private temporary file that is then
hard-linked into place, which fails if another process created the key first
(the loser then reads the winner's key).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from reifier.errors import ConfigError, Refused

KEY_NAME = "approval.key"
KEY_BYTES = 32


def key_path(home: Path) -> Path:
    """Return where the approval key lives under ``home``."""
    return home / KEY_NAME


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # If another process won the race its key is the key: keep theirs.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def existing_key(home: Path) -> bytes | None:
    """Return the approval key, or None if nothing was ever approved on this machine."""
    return load_key(home) if key_path(home).exists() else None


def required_key(home: Path) -> bytes:
    """Return the approval key for a run; refuse when there is none (nothing is approved)."""
    key = existing_key(home)
    if key is None:
        raise Refused(f"no approval key in {home}: nothing is approved on this machine")
    return key


def load_key(home: Path, create: bool = True) -> bytes:
    """Return the approval key, creating it on first use."""
    path = key_path(home)
    if not path.exists():
        if not create:
            raise ConfigError(f"no approval key at {path} (approve a runbook first)")
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise Refused(f"approval key {path} is accessible by others (mode {mode:04o}); "
                      f"run: chmod 600 {path}")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"approval key {path} is corrupt (not hex)") from None
    if len(key) < 16:
        raise ConfigError(f"approval key {path} is too short ({len(key)} bytes)")
    return key
