"""Settings precedence and validation."""

from __future__ import annotations

import pytest

from reifier.core.config import Settings, resolve
from reifier.errors import ConfigError


def test_defaults() -> None:
    s = resolve()
    assert s == Settings()
    assert s.session_gap_s == 300.0


def test_precedence_flag_over_env_over_toml() -> None:
    toml = {"session_gap_s": 60, "noise_commands": ["k9s"], "autonomy": {"min_successes": 5}}
    env = {"REIFIER_SESSION_GAP_S": "120", "PATH": "/bin"}
    assert resolve(toml=toml).session_gap_s == 60
    assert resolve(toml=toml, env=env).session_gap_s == 120
    s = resolve(toml=toml, env=env, overrides={"session_gap_s": 10})
    assert s.session_gap_s == 10
    assert s.noise_commands == ("k9s",)
    assert s.autonomy.min_successes == 5


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ({"session_gap": 1}, "unknown setting 'session_gap'"),
        ({"session_gap_s": "soon"}, "session_gap_s"),
        ({"session_gap_s": -5}, "session_gap_s"),
        ({"noise_commands": "ls"}, "noise_commands"),
        ({"autonomy": 3}, "must be a table"),
        ({"four_eyes": "maybe"}, "four_eyes"),
    ],
)
def test_bad_settings_raise_one_line_errors(toml: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(toml=toml)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_env_tuple_is_colon_separated() -> None:
    s = resolve(env={"REIFIER_HISTORY_FILES": "~/.bash_history:/x/y"})
    assert s.history_files == ("~/.bash_history", "/x/y")


def test_user_redaction_rules_reach_the_preparer() -> None:
    from reifier.core.prepare import Preparer

    s = resolve(toml={"redact_rules": [{"name": "acme-key", "regex": r"(?P<secret>ACME-[0-9a-f]{8})",
                                         "example": "deploy --key ACME-0badc0de"}]})
    text, rules, _ = Preparer.from_settings(s).prepared("deploy --key ACME-12345678 now")
    assert "ACME-12345678" not in text and rules == ("acme-key",)
    with pytest.raises(ConfigError):
        resolve(toml={"redact_rules": "nope"})
