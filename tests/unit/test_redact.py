"""Secret redaction: the rule table, the shared fixtures, benign commands, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reifier.core.redact import SECRET_PATTERNS, SecretRule, redact, rules_from_config
from reifier.core.redact_words import WORD_RULES
from reifier.errors import ConfigError

NAMES = {r.name for r in SECRET_PATTERNS} | {r.name for r in WORD_RULES}
# Surrounding text: each example must also be caught inside these (after `cd`, before
# `&&`, under sudo, in a subshell, in a pipeline).
AROUND = ("{}", "cd /srv/app && {} && echo done", "sudo {}", "( {} ) || true", "{} | tee -a /tmp/log")


@pytest.mark.parametrize("rule", SECRET_PATTERNS, ids=lambda r: r.name)
def test_rule_example(rule: SecretRule) -> None:
    match = rule.pattern.search(rule.example)
    assert match is not None and match.group("secret") == rule.expect
    out = redact(rule.example)
    assert rule.expect not in out.text
    assert out.rules and set(out.rules) <= NAMES
    assert out.text.count("<REDACTED:") >= 1


@pytest.mark.parametrize("rule", SECRET_PATTERNS, ids=lambda r: r.name)
def test_rule_example_caught_inside_surrounding_text(rule: SecretRule) -> None:
    for around in AROUND:
        if "\n" in rule.example and around != "{}":
            continue  # a multi-line example is a document, not one command
        out = redact(around.format(rule.example))
        assert rule.expect not in out.text, (around, out.text)


@pytest.mark.parametrize("rule", SECRET_PATTERNS, ids=lambda r: r.name)
def test_rule_negative_examples_unchanged(rule: SecretRule) -> None:
    assert rule.negatives, f"{rule.name} has no negative example"
    for negative in rule.negatives:
        assert not rule.pattern.search(negative) or not redact(negative).rules, negative
        for around in AROUND[:2]:
            line = around.format(negative)
            assert redact(line).text == line, line


def test_rule_names_unique_and_keywords_lowercase() -> None:
    assert len(NAMES) == len(SECRET_PATTERNS) + len(WORD_RULES)
    for rule in SECRET_PATTERNS:
        assert all(k == k.lower() for k in rule.keywords), rule.name


def secret_lines(fixtures_dir: Path) -> list[dict[str, object]]:
    path = fixtures_dir / "secrets.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fixture_secrets_never_survive(fixtures_dir: Path) -> None:
    lines = secret_lines(fixtures_dir)
    assert len(lines) >= 20
    for item in lines:
        out = redact(str(item["cmd"]))
        for secret in item["secrets"]:  # type: ignore[attr-defined]
            assert secret not in out.text, (item["cmd"], out.text)
        assert out.rules and set(out.rules) <= NAMES
        assert all(f"<REDACTED:{name}>" in out.text for name in out.rules)


def test_command_is_kept_around_the_secret() -> None:
    out = redact("mysql -u root -pS3cr3t!Pass -h db1 -e 'show processlist'")
    assert out.text == "mysql -u root -p<REDACTED:mysql-password> -h db1 -e 'show processlist'"
    assert out.rules == ("mysql-password",)
    quoted = redact('export API_SECRET="bYrEqmSM9wCZ7Uw9xfogoEmvnEN5N1aE"')
    assert quoted.text == 'export API_SECRET="<REDACTED:env-secret>"'


def test_overlapping_findings_take_the_first_rule() -> None:
    out = redact("export GITHUB_TOKEN=ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8")
    assert redact(out.text).text == out.text
    assert out.text == "export GITHUB_TOKEN=<REDACTED:github-token>"
    assert out.rules == ("github-token",)


def benign_lines(fixtures_dir: Path) -> list[str]:
    text = (fixtures_dir / "commands_benign.txt").read_text()
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


TYPICAL = [
    "kubectl get pods -n prod",
    "git log --oneline",
    "ssh web-01",
    "ssh -p 2222 ops@web1 uptime",
    "mkdir -p /srv/app",
    "export PATH=$PATH:/usr/local/bin",
    "mysql -u root -p -h db1",
    "mysql --password -u root",
    "docker login --username deploy --password-stdin registry.example.com",
    "curl -H 'Authorization: Bearer $TOKEN' https://api/x",
    "export DB_PASSWORD=$(cat /run/secrets/db)",
    "kubectl get secret db -o jsonpath='{.data.password}'",
    "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519",
    "apt-key list",
    "grep -r token config/",
    "cd /var/log/app && tail -f app.log",
    "systemctl restart nginx && journalctl -u nginx -n 100 --no-pager",
    "aws s3 ls s3://backups",
    "openssl x509 -in cert.pem -noout -dates",
    "echo $PWD",
    "psql -h db1 -U app -c 'select 1'",
]


def test_benign_commands_unchanged(fixtures_dir: Path) -> None:
    for line in [*benign_lines(fixtures_dir), *TYPICAL]:
        assert redact(line).text == line
        assert redact(line).rules == ()


def test_idempotent_on_fixtures(fixtures_dir: Path) -> None:
    for item in secret_lines(fixtures_dir):
        once = redact(str(item["cmd"]))
        assert redact(once.text).text == once.text


def test_user_rules_run_first_and_are_checked() -> None:
    rules = rules_from_config(
        [{"name": "acme-key", "regex": r"ACME-[0-9a-f]{8}", "example": "deploy --k ACME-deadbeef"}]
    )
    assert rules[0].expect == "ACME-deadbeef"
    out = redact("deploy ACME-01234567 now", extra=rules)
    assert out.text == "deploy <REDACTED:acme-key> now" and out.rules == ("acme-key",)
    grouped = rules_from_config(
        [{"name": "pin", "regex": r"(?i)pin=(?P<secret>\d+)", "example": "unlock PIN=1234"}]
    )
    assert redact("unlock pin=9999", grouped).text == "unlock pin=<REDACTED:pin>"


@pytest.mark.parametrize(
    "item",
    [
        {"name": "x", "regex": "abc", "example": "no match here"},
        {"name": "x", "regex": "(unclosed", "example": "(unclosed"},
        {"name": "bad name!", "regex": "abc", "example": "abc"},
        {"name": "x", "regex": "abc"},
        {"regex": "abc", "example": "abc"},
    ],
)
def test_bad_user_rules_raise_config_error(item: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        rules_from_config([item])


ALPHABET = st.sampled_from(
    [*"abcAKIA0123456789=:-_ '\"/@.|;&<>$",
     "password", "--password ", "TOKEN=", "-p", "mysql ", "Authorization: Bearer ", "://",
     "<REDACTED:x>", "ghp_", "xoxb-", "export ", "curl -u ", "eyJ", "\n"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert len(twice.text) <= len(once.text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_redact_never_raises_on_any_text(text: str) -> None:
    out = redact(text)
    assert redact(out.text).text == out.text
