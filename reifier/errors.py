"""One exception root and the exit codes of the CLI contract.

Every error a user can cause derives from :class:`ReifierError` and carries its
exit code, so the CLI turns errors into exit codes in exactly one place.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the operation failed: a cell failed, nothing matched
EXIT_BAD_INPUT = 2  # bad usage or bad input
EXIT_REFUSED = 3  # refused for safety: unapproved, stale, guarded


class ReifierError(Exception):
    """Root of every error Reifier raises on purpose."""

    exit_code = EXIT_FAILED


class BadInput(ReifierError, ValueError):
    """Input that cannot be used: a corrupt file, a bad parameter, a bad payload."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInput):
    """A ``reifier.toml`` or environment setting that cannot be used."""


class NotFound(BadInput, LookupError):
    """A session, runbook or record that does not exist."""


class Refused(ReifierError):
    """Refused for safety: a draft, a stale approval or a guarded command."""

    exit_code = EXIT_REFUSED


class RunFailed(ReifierError, RuntimeError):
    """A runbook ran and one of its cells failed or timed out."""

    exit_code = EXIT_FAILED


class StoreError(ReifierError):
    """The SQLite store is unusable (locked for too long, from a newer version...)."""


class ReifierWarning(UserWarning):
    """Something was skipped or degraded but the operation went on."""
