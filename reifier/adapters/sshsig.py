"""OpenSSH signatures for approvals: ``ssh-keygen -Y sign`` and ``-Y verify``.

OpenSSH's ``ssh-keygen`` is the reference implementation (the one git uses to
sign commits), so Reifier calls it rather than re-implementing SSHSIG:

- signing uses the approver's own key: a private key file, or a ``.pub`` file
  whose private half is in ``ssh-agent`` (FIDO keys included); nothing secret
  is stored by Reifier;
- verification needs only public keys: an ``allowed_signers`` file in git's
  format (principals, ``namespaces=``, ``valid-after``/``valid-before``,
  ``cert-authority``) and, optionally, a revocation list (a KRL or revoked
  public keys, ``-r``).

Verification results are cached per (message, signature, principal, files'
state): a runbook's status is checked often, a process forks ``ssh-keygen``
once per new signature.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from reifier.core.approval import SIG_NAMESPACE

__all__ = ["SIG_NAMESPACE", "SshSigner", "SshVerifier", "fingerprint", "public_key"]
from reifier.errors import ConfigError

SSH_KEYGEN = "ssh-keygen"
_GOOD = re.compile(r"Good \"[^\"]*\" signature for .* with \S+ key (\S+)")
_TIMEOUT_S = 30.0  # a FIDO key may wait for a touch


def _keygen(args: list[str], data: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([SSH_KEYGEN, *args], input=data, capture_output=True, text=True,
                              timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ConfigError("ssh-keygen is not installed (Debian: apt-get install "
                          "openssh-client)") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"ssh-keygen {args[0]} {args[1]} timed out") from None


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return text[-1] if text else f"ssh-keygen exited with {proc.returncode}"


def fingerprint(key: Path) -> str:
    """Return the SHA256 fingerprint of a key file (private or public)."""
    proc = _keygen(["-l", "-f", str(key)])
    if proc.returncode != 0:
        raise ConfigError(f"{key}: not an SSH key ({_last_line(proc)})")
    return proc.stdout.split()[1]


def public_key(key: Path) -> str:
    """Return the public key line of a key file (its ``.pub`` twin, or derived)."""
    pub = key if key.suffix == ".pub" else key.with_name(key.name + ".pub")
    if pub.is_file():
        return pub.read_text(encoding="utf-8").strip()
    proc = _keygen(["-y", "-f", str(key)])
    if proc.returncode != 0:
        raise ConfigError(f"{key}: cannot read the public key ({_last_line(proc)})")
    return proc.stdout.strip()


@dataclass(frozen=True)
class SshSigner:
    """Signs approval messages with one SSH key (file or agent)."""

    key: Path
    namespace: str = SIG_NAMESPACE  # what the signature is for (ssh-keygen -n)

    def __call__(self, message: str) -> tuple[str, str]:
        """Return (armored signature, key fingerprint) of ``message``."""
        if not self.key.is_file():
            raise ConfigError(f"no SSH key at {self.key}: set signing_key in reifier.toml or "
                              "REIFIER_SIGNING_KEY (see `reifier keys`)")
        proc = _keygen(["-Y", "sign", "-q", "-f", str(self.key), "-n", self.namespace], message)
        if proc.returncode != 0 or "BEGIN SSH SIGNATURE" not in proc.stdout:
            raise ConfigError(f"cannot sign with {self.key}: {_last_line(proc)}")
        return proc.stdout, fingerprint(self.key)


@dataclass
class SshVerifier:
    """Checks one approval signature against ``allowed_signers`` (public keys only)."""

    allowed_signers: Path
    revoked: Path | None = None
    namespace: str = SIG_NAMESPACE  # only signatures made for this purpose verify
    _cache: dict[tuple[str, str, str, tuple[int, ...]], tuple[str, str]] = field(
        default_factory=dict)

    def _state(self) -> tuple[int, ...]:
        """The trusted files' identity: any rewrite (even within a second) changes it."""
        out: list[int] = []
        for path in [self.allowed_signers, *([self.revoked] if self.revoked else [])]:
            try:
                st = path.stat()
                out += [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                out += [-1, -1, -1]
        return tuple(out)

    def __call__(self, message: str, signature: str, principal: str) -> tuple[str, str]:
        """Return (fingerprint, "") for a good signature, else ("", reason)."""
        if not self.allowed_signers.is_file():
            return "", (f"no allowed_signers file at {self.allowed_signers} (the team's "
                        "public keys; see `reifier keys`)")
        if self.revoked is not None and not self.revoked.is_file():
            return "", f"revoked_keys file {self.revoked} is missing"
        key = (message, signature, principal, self._state())
        if key not in self._cache:
            self._cache[key] = self._verify(message, signature, principal)
        return self._cache[key]

    def _verify(self, message: str, signature: str, principal: str) -> tuple[str, str]:
        if not principal or any(c in principal for c in "\n\r\0"):
            return "", "no principal"
        fd, sig_path = tempfile.mkstemp(prefix="reifier-sig-", suffix=".sig")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(signature)
            args = ["-Y", "verify", "-f", str(self.allowed_signers), "-I", principal,
                    "-n", self.namespace, "-s", sig_path]
            revoked = ["-r", str(self.revoked)] if self.revoked is not None else []
            proc = _keygen(args + revoked, message)
            match = _GOOD.search(proc.stdout + proc.stderr)
            if proc.returncode == 0 and match:
                return match.group(1), ""
            return "", self._why(proc, args, sig_path, message, principal)
        finally:
            os.unlink(sig_path)

    def _why(self, proc: subprocess.CompletedProcess[str], args: list[str], sig_path: str,
             message: str, principal: str) -> str:
        """Say why a signature failed: ssh-keygen often says only "Could not verify"."""
        said = [ln.split(": ", 1)[-1] for ln in proc.stderr.splitlines()
                if ln.strip() and "Could not verify signature" not in ln]
        if said:
            return said[-1]
        if self.revoked is not None and _keygen(args, message).returncode == 0:
            return f"the signing key is revoked ({self.revoked})"
        found = _keygen(["-Y", "find-principals", "-s", sig_path, "-f",
                         str(self.allowed_signers)])
        names = [n for n in found.stdout.split() if n]
        if found.returncode == 0 and names and principal not in ",".join(names).split(","):
            return f"the signing key is allowed for {', '.join(names)}, not for {principal}"
        if found.returncode == 0:
            return "the signature does not cover this approval (edited, or copied from another)"
        return f"the signing key is not in {self.allowed_signers}"
