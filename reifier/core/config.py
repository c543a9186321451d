"""Settings and their precedence, as pure functions over plain mappings.

Precedence (highest first): command-line flag > notebook metadata >
``REIFIER_*`` environment > ``reifier.toml`` / ``[tool.reifier]`` > defaults.
Reading the files is the adapters' job (:mod:`reifier.adapters.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from reifier.errors import ConfigError


@dataclass(frozen=True)
class AutonomyPolicy:
    """When an ``autonomy: auto`` runbook may run without a human."""

    min_score: float = 0.9
    min_successes: int = 3
    window: int = 5  # no failure among the last `window` runs
    cooldown_s: float = 300.0
    four_eyes: bool = True  # approver must differ from the session's engineer


@dataclass(frozen=True)
class Settings:
    """Every tunable of Reifier, each with a sane default."""

    session_gap_s: float = 300.0
    noise_commands: tuple[str, ...] = ()  # added to the built-in noise list
    diagnostic_commands: tuple[str, ...] = ()
    fix_commands: tuple[str, ...] = ()
    history_files: tuple[str, ...] = ()  # e.g. ("~/.bash_history",) for `reifier watch`
    history_format: str = ""  # force a format for history_files ("" = auto-detect)
    context_dirs: tuple[str, ...] = ()  # grepped for related files by the scribe
    redact_rules: tuple[dict[str, str], ...] = ()  # [[redact_rules]] name, regex, example
    log_dirs: tuple[str, ...] = ()
    auto_draft: bool = True  # `reifier watch` drafts each session when it closes
    auto_draft_min_commands: int = 2  # ...if at least this many of its commands matter
    match_threshold: float = 0.8
    four_eyes: bool = False  # approver must differ from the session's engineer
    # "ssh": approvals are OpenSSH signatures checked against allowed_signers (public keys);
    # "local-hmac": single-user mode, an HMAC key in REIFIER_HOME (anyone who can verify
    # can also forge; approvals do not travel to other machines)
    approval: str = "ssh"
    allowed_signers: str = "runbooks/allowed_signers"  # relative to the workspace
    revoked_keys: str = ""  # a KRL or revoked public keys (ssh-keygen -r), "" for none
    signing_key: str = ""  # your key (or its .pub with the key in ssh-agent); "" = ~/.ssh/id_*
    signers_for_auto: int = 2  # distinct approvers an autonomy: auto runbook needs
    autonomy: AutonomyPolicy = field(default_factory=AutonomyPolicy)
    cell_timeout_s: float = 600.0
    run_timeout_s: float = 3600.0


_ENV_PREFIX = "REIFIER_"
_TUPLE_KEYS = {f.name for f in fields(Settings) if f.type == "tuple[str, ...]"}


def _coerce(name: str, value: Any, default: Any, from_env: bool = False) -> Any:
    """Turn a TOML or environment value into the type of ``default``."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                return low in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, float):
            out = float(value)
            if out < 0:
                raise ValueError(value)
            return out
        if isinstance(default, int):
            return int(value)
        if name == "redact_rules":
            if not isinstance(value, list) or not all(
                isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in value
            ):
                raise ValueError(value)
            return tuple(dict(v) for v in value)
        if isinstance(default, tuple):
            if isinstance(value, str) and from_env:
                return tuple(v for v in value.split(":") if v)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(value)
            return tuple(value)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r}: cannot use {value!r}") from None
    return value


def _apply(base: Any, data: Mapping[str, Any], where: str, from_env: bool = False) -> Any:
    known = {f.name: f for f in fields(base)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            valid = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown setting {key!r} (valid: {valid})")
        current = getattr(base, name)
        if isinstance(current, AutonomyPolicy):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: [{key}] must be a table")
            changes[name] = _apply(current, value, f"{where} [{key}]")
        else:
            changes[name] = _coerce(name, value, current, from_env)
    return replace(base, **changes)


def resolve(
    toml: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults < toml < ``REIFIER_*`` env < overrides into one :class:`Settings`."""
    settings = Settings()
    if toml:
        settings = _apply(settings, toml, "reifier.toml")
    if env:
        picked = {}
        for key, value in env.items():
            if not key.startswith(_ENV_PREFIX):
                continue
            name = key[len(_ENV_PREFIX) :].lower()
            if name in {f.name for f in fields(Settings)} and name not in {
                "autonomy",
                "redact_rules",
            }:
                picked[name] = value
        settings = _apply(settings, picked, "environment", from_env=True)
    if overrides:
        settings = _apply(settings, {k: v for k, v in overrides.items() if v is not None}, "flag")
    return settings
