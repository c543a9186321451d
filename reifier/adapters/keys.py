"""Approval keys: SSH keys and ``allowed_signers`` (default), or a local HMAC key.

By default an approval is an OpenSSH signature made with the approver's own key
and checked against the workspace's ``allowed_signers`` (:mod:`sshsig`). The
single-user mode ``approval = "local-hmac"`` keeps the old scheme: 32 random
bytes in ``REIFIER_HOME/approval.key``, mode 0600. Whoever can verify such an
approval can also forge one, and it cannot be checked on another machine.

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

from reifier.adapters.sshsig import SIG_NAMESPACE, SshSigner, SshVerifier
from reifier.core.config import Settings
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


# --- SSH signatures (the default) ----------------------------------------------------

APPROVAL_MODES = ("ssh", "local-hmac")
_DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_ed25519_sk", "id_ecdsa_sk", "id_rsa")


def mode(settings: Settings) -> str:
    """Return the approval mode, refusing an unknown one."""
    if settings.approval not in APPROVAL_MODES:
        raise ConfigError(f"setting 'approval': {settings.approval!r} is not one of "
                          f"{', '.join(APPROVAL_MODES)}")
    return settings.approval


def allowed_signers_path(workspace: Path, settings: Settings) -> Path:
    """Return the allowed_signers file (reviewed like code, in the workspace by default)."""
    path = Path(settings.allowed_signers).expanduser()
    return path if path.is_absolute() else workspace / path


def trust(workspace: Path, home: Path, settings: Settings, *,
          create: bool = False) -> bytes | SshVerifier | None:
    """Return how approvals are checked here: SSH verifier, or the local HMAC key.

    None only in local-hmac mode when no key exists (nothing approved here yet).
    """
    if mode(settings) == "local-hmac":
        return load_key(home) if create else existing_key(home)
    revoked = Path(settings.revoked_keys).expanduser() if settings.revoked_keys else None
    if revoked is not None and not revoked.is_absolute():
        revoked = workspace / revoked
    return verifier(allowed_signers_path(workspace, settings), revoked)


_VERIFIERS: dict[tuple[Path, Path | None, str], SshVerifier] = {}


def verifier(allowed: Path, revoked: Path | None,
             namespace: str = SIG_NAMESPACE) -> SshVerifier:
    """Return the one verifier of these files and namespace in this process.

    A verifier caches its answers (keyed by the files' state), so a long-lived
    process (serve, lab) forks ``ssh-keygen`` once per signature, not per request.
    """
    slot = (allowed, revoked, namespace)
    if slot not in _VERIFIERS:
        _VERIFIERS[slot] = SshVerifier(allowed, revoked, namespace)
    return _VERIFIERS[slot]


def trust_files(workspace: Path, home: Path, settings: Settings) -> list[Path]:
    """Return the files whose change can change an approval's validity."""
    if mode(settings) == "local-hmac":
        return [key_path(home)]
    files = [allowed_signers_path(workspace, settings)]
    if settings.revoked_keys:
        files.append(Path(settings.revoked_keys).expanduser())
    return files


def signing_key(settings: Settings, env_home: str | None = None) -> Path:
    """Return the SSH key approvals are signed with (settings, else ~/.ssh/id_*)."""
    if settings.signing_key:
        return Path(settings.signing_key).expanduser()
    ssh = Path(env_home or os.path.expanduser("~")) / ".ssh"
    for name in _DEFAULT_KEYS:
        if (ssh / name).is_file() or (ssh / f"{name}.pub").is_file():
            return ssh / name if (ssh / name).is_file() else ssh / f"{name}.pub"
    raise ConfigError(f"no SSH key to sign with (looked for {', '.join(_DEFAULT_KEYS)} in "
                      f"{ssh}): create one with ssh-keygen -t ed25519, or set signing_key in "
                      "reifier.toml / REIFIER_SIGNING_KEY; `reifier keys` explains the rest")


def signer(home: Path, settings: Settings) -> bytes | SshSigner:
    """Return what signs an approval here: the local HMAC key, or the user's SSH key."""
    if mode(settings) == "local-hmac":
        return load_key(home)
    return SshSigner(signing_key(settings))


def run_trust(workspace: Path, home: Path, settings: Settings) -> bytes | SshVerifier:
    """Return how a run checks its approval; refuse when nothing can be approved here."""
    found = trust(workspace, home, settings)
    if found is None:
        raise Refused(f"no approval key in {home}: nothing is approved on this machine")
    return found
