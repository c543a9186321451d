"""Make raw command events safe and meaningful: redact secrets, then classify.

This is the one path every command takes before it reaches the store, whatever
its source (hook spool, history import, watched history file), so no secret can
reach the store by a side door. Results are cached per distinct command string:
real histories repeat themselves, and the import must sustain 100k lines/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reifier.core import classify, redact
from reifier.core.config import Settings


@dataclass(frozen=True)
class Preparer:
    """Redaction rules and role lists resolved once from settings."""

    lists: classify.RoleLists
    extra_rules: tuple[redact.SecretRule, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: Settings, extra_rules: Sequence[redact.SecretRule] = ()
    ) -> Preparer:
        """Build a preparer from :class:`Settings`."""
        lists = classify.RoleLists(
            noise=settings.noise_commands,
            diagnostic=settings.diagnostic_commands,
            fix=settings.fix_commands,
        )
        rules = tuple(extra_rules) + redact.rules_from_config(settings.redact_rules)
        return cls(lists=lists, extra_rules=rules)

    def prepared(self, command: str) -> tuple[str, tuple[str, ...], str]:
        """Return (redacted text, rules that fired, static role) for one command."""
        return _prepare_one(command, self.lists, self.extra_rules)


@lru_cache(maxsize=65536)
def _prepare_one(
    command: str, lists: classify.RoleLists, extra: tuple[redact.SecretRule, ...]
) -> tuple[str, tuple[str, ...], str]:
    red = redact.redact(command, extra)
    return red.text, red.rules, classify.classify(red.text, lists)
