"""Replace secrets in command lines with ``<REDACTED:rule-name>`` placeholders.

A table of :class:`SecretRule` s in the style of gitleaks and atuin's secret
patterns: token formats with a recognisable prefix (AWS, GitHub, GitLab, Slack,
Stripe, Google, JWT, npm…) come first, then values recognised by their context
(``--password x``, ``mysql -pX``, ``NAME_TOKEN=x``, ``Authorization:`` headers,
``scheme://user:pass@host``…), then a generic high-entropy ``key=value``. Each
rule's ``secret`` group marks exactly what is replaced, so the command stays
readable. Overlapping findings are merged and named after the first rule in
table order.

Speed: a line is first lowered and searched for the rules' keywords in one
regex; a command with none of them (most commands) costs one search. Placeholders
are never matched again, so :func:`redact` is idempotent. detect-secrets is not
used: this table covers the shell-specific contexts it lacks, at a fraction of
its cost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType

from reifier.errors import ConfigError

PLACEHOLDER_RE = re.compile(r"<REDACTED:[A-Za-z0-9_.-]+>")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class SecretRule:
    """A secret pattern: its ``secret`` group is replaced; ``example`` must yield ``expect``."""

    name: str
    pattern: re.Pattern[str]
    example: str
    expect: str
    keywords: tuple[str, ...] = ()  # lowercase; the rule only runs if one occurs ("" = always)
    negatives: tuple[str, ...] = ()  # commands the rule must leave unchanged


@dataclass(frozen=True)
class Redaction:
    """A redacted text and the names of the rules that fired (never the values)."""

    text: str
    rules: tuple[str, ...] = ()


# A value after `=`/space: quoted (quotes kept outside the secret) or a bare word;
# never a `$VAR` reference or a placeholder.
_VAL = r"""(?P<q>["'])?(?P<secret>(?!\$)(?(q)(?:(?!(?P=q))[^\n<>])+|[^\s;|"'<>]+))"""
# The same in a list of key=value pairs: a bare value ends before `,key=` or `&`.
_KVVAL = (r"""(?P<q>["'])?(?P<secret>(?!\$)(?(q)(?:(?!(?P=q))[^\n<>])+"""
          r"""|(?:(?!,[\w.-]+=)[^\s;|"'<>&])+))""")
_STOP = r"[^\n;|]*?\s"  # the rest of the same simple command, lazily
# Words naming a secret (not a secret itself).
_SECRET_WORDS = (
    r"token|secret|passw(?:or)?d|pass|passphrase|api_?key|private_?key|credentials?"  # noqa: S105
    r"|access_?key|secret_?key|client_?secret|auth_?token|signing_?key|encryption_?key"
)


def _rule(name: str, regex: str, example: str, expect: str, keywords: str) -> SecretRule:
    return SecretRule(name, re.compile(regex), example, expect, tuple(keywords.split()))


SECRET_PATTERNS: tuple[SecretRule, ...] = (
    _rule("private-key",
          r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<secret>[\s\S]+?)(?=-----END|$)",
          "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'",
          "\nMIIEow\n", "private"),
    _rule("aws-access-key", r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\b",
          "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE",
          "akia asia abia acca a3t"),
    _rule("aws-secret-key",
          r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*(?:[=:]\s*|\s+(?!-))" + _VAL,
          "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "secret"),
    _rule("github-token",
          r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
          "gh auth login --with-token ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8",
          "ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8", "ghp_ gho_ ghu_ ghs_ ghr_ github_pat_"),
    _rule("gitlab-token", r"\b(?P<secret>gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,})",
          "glab auth login --token glpat-I8ihN5KXSc7Tvo_hBKqF", "glpat-I8ihN5KXSc7Tvo_hBKqF",
          "glpat- gldt- glrt- glptt- glcbt- gloas-"),
    _rule("slack-token", r"\b(?P<secret>xox[abposr]-[0-9A-Za-z-]{10,})",
          "slack-cli --token xoxb-6671276842-F1LlqsajAIxNKu8i", "xoxb-6671276842-F1LlqsajAIxNKu8i",
          "xox"),
    _rule("slack-webhook",
          r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_+-]+)",
          "curl -d @m.json https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXX",
          "T0001/B0001/XXXXXXXXXXXXXXXX", "hooks.slack.com"),
    _rule("stripe-key", r"\b(?P<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,})",
          "stripe charges list --api-key sk_live_VqE1SkHbn88HxjSI6bWHtP3f",
          "sk_live_VqE1SkHbn88HxjSI6bWHtP3f", "sk_live_ rk_live_ sk_test_ rk_test_"),
    _rule("google-api-key", r"\b(?P<secret>AIza[0-9A-Za-z_-]{35})",
          "curl 'https://maps.googleapis.com/x?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'",
          "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "aiza"),
    _rule("jwt", r"\b(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
          "export T=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.g6YYZYn9ZhyiA4uo",
          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.g6YYZYn9ZhyiA4uo", "eyj"),
    _rule("npm-token", r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
          "npm config set //r.npmjs.org/:_authToken npm_S2qHx6kwXoIIXGvOoNZYW2mZp0zVZomHFwUb",
          "npm_S2qHx6kwXoIIXGvOoNZYW2mZp0zVZomHFwUb", "npm_"),
    _rule("vault-token", r"\b(?P<secret>(?:hv[sbr]|s|b)\.[A-Za-z0-9_-]{24,})",
          "VAULT_ADDR=https://v:8200 vault kv get -address x s.6PwZPf1Qh6yYTWmE4lBYOvfZ",
          "s.6PwZPf1Qh6yYTWmE4lBYOvfZ", "vault hvs. hvb. hvr."),
    _rule("pypi-token", r"\b(?P<secret>pypi-AgE[A-Za-z0-9_-]{50,})",
          "twine upload -p pypi-AgEIcHlwaS5vcmcCJGE0ZDU5NzE4LTgxYzctNGI5Zi05OTUxLTQ0ZmEwODA0ZWFmYw",
          "pypi-AgEIcHlwaS5vcmcCJGE0ZDU5NzE4LTgxYzctNGI5Zi05OTUxLTQ0ZmEwODA0ZWFmYw", "pypi-"),
    _rule("openai-key", r"\b(?P<secret>sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{32,})",
          "llm keys set openai sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
          "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "sk-"),
    _rule("digitalocean-token", r"\b(?P<secret>do[por]_v1_[a-f0-9]{64})",
          "doctl auth init -t dop_v1_" + "ab12" * 16, "dop_v1_" + "ab12" * 16, "_v1_"),
    _rule("sendgrid-key", r"\b(?P<secret>SG\.[\w-]{22}\.[\w-]{43})",
          "SENDGRID=1 mail SG.abcdefghijABCDEFGHIJ12.abcdefghijABCDEFGHIJabcdefghijABCDEFGHIJ123",
          "SG.abcdefghijABCDEFGHIJ12.abcdefghijABCDEFGHIJabcdefghijABCDEFGHIJ123", "sg."),
    _rule("age-key", r"\b(?P<secret>AGE-SECRET-KEY-1[0-9A-Z]{58})",
          "echo AGE-SECRET-KEY-1" + "QZ" * 29 + " > k.txt", "AGE-SECRET-KEY-1" + "QZ" * 29,
          "age-secret-key"),
    _rule("mysql-password",
          r"\b(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlcheck|mariadb)\b" + _STOP
          + r"-p" + _VAL, "mysql -u root -pS3cr3t!Pass -h db1", "S3cr3t!Pass", "mysql mariadb"),
    _rule("docker-login-password",
          r"\b(?:docker|podman|buildah|skopeo|helm)\s+(?:registry\s+)?login\b" + _STOP
          + r"-p\s+" + _VAL,
          "docker login -u deploy -p CorrectHorse99 registry.example.com", "CorrectHorse99",
          "login"),
    _rule("curl-user", r"\bcurl\b" + _STOP + r"(?:-u|--user)(?:\s+|=)[\"']?[^\s:'\"<>]*:"
          r"(?P<secret>(?!\$)[^\s'\"<>]+)",
          "curl -u admin:p@ss:w0rd http://localhost:15672/api/queues", "p@ss:w0rd", "curl"),
    _rule("sshpass", r"\bsshpass\s+-p\s*" + _VAL,
          "sshpass -p 'S3cr3t!Pass' ssh ops@web1", "S3cr3t!Pass", "sshpass"),
    _rule("htpasswd", r"\bhtpasswd\s(?=(?:[^\n;|&]*\s)?-[a-zA-Z]*b)[^\n;|&]*\s" + _VAL
          + r"[\"']?(?=\s*(?:$|[;|\n]|&&))",
          "htpasswd -b /etc/nginx/.htpasswd ops hunter2-prod", "hunter2-prod", "htpasswd"),
    _rule("redis-password", r"\bredis-cli\b" + _STOP + r"(?:-a|--pass)\s+" + _VAL,
          "redis-cli -a hunter2-prod -h cache1 ping", "hunter2-prod", "redis-cli"),
    _rule("openssl-password", r"\bopenssl\b" + _STOP + r"(?:-k\s+|-pass(?:in|out)?\s+pass:)" + _VAL,
          "openssl enc -aes-256-cbc -k p@ss:w0rd -in d.sql", "p@ss:w0rd", "openssl"),
    _rule("stdin-password", r"\b(?:echo|printf)\s+(?:-[neE]+\s+)?(?:'%s\\?n?'\s+)?" + _VAL
          + r"[\"']?\s*\|[^\n;]*--password-stdin",
          "echo Tr0ub4dor&3 | docker login --username deploy --password-stdin r.io", "Tr0ub4dor&3",
          "password-stdin"),
    _rule("auth-header",
          r"(?i)\b(?:proxy-)?authorization:\s*(?:(?:bearer|basic|token|digest|negotiate|apikey"
          r"|sso-key)\s+)?(?P<secret>(?!\$|(?:bearer|basic|token|digest|negotiate|apikey|sso-key)\b)"
          r"[^\s'\"<>]+)",
          "curl -H 'Authorization: Bearer abc.def.ghi' https://api/x", "abc.def.ghi",
          "authorization"),
    _rule("api-key-header",
          r"(?i)\b(?:x-api-key|api-key|apikey|x-auth-token|private-token|x-vault-token"
          r"|x-access-token|x-api-token|x-consul-token|x-goog-api-key|x-gitlab-token"
          r"|x-amz-security-token|x-functions-key|x-jfrog-art-api):\s*(?P<secret>(?!\$)[^\s'\"<>]+)",
          "curl -H 'X-Api-Key: 0123456789abcdef' https://api/x", "0123456789abcdef",
          "key: token: apikey:"),
    _rule("cookie-header", r"(?i)(?<=[\"'])(?:set-)?cookie:\s*(?P<secret>(?!\$)[^'\"\n<>]+)",
          "curl -H 'Cookie: session=abc123; csrf=zz' https://x", "session=abc123; csrf=zz",
          "cookie:"),
    _rule("url-credentials",
          r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/@:'\"<>]{0,256}:(?P<secret>(?!\$)[^\s/'\"<>]+)@[^\s@/'\"<>]+",
          "psql postgresql://app:Tr0ub4dor&3@db1.internal:5432/app", "Tr0ub4dor&3", "://"),
    _rule("env-secret",
          r"(?i)(?<![\w.-])(?P<name>(?:[A-Za-z0-9]{1,40}_){0,8}(?:" + _SECRET_WORDS
          + r")s?(?:_[A-Za-z0-9]{1,40}){0,8}|pgpassword|mysql_pwd|(?:[A-Za-z0-9]{1,40}_){1,8}pwd)="
          + r"(?!(?:FILE|COMBO|NET|RANGE|PROG)\d+(?::(?:FILE|COMBO)\d+)?(?:\s|$))" + _KVVAL,
          "PGPASSWORD=CorrectHorse99 psql -h db1", "CorrectHorse99",
          "token secret pass key credential pwd"),
    _rule("json-secret",
          r"(?i)\"[\w-]{0,40}(?:" + _SECRET_WORDS
          + r")[\w-]{0,40}\"\s*:\s*\"(?P<secret>[^\"\n<>]+)\"",
          """curl -d '{"user":"ops","password":"hunter2"}' https://x/login""", "hunter2",
          "token secret pass key credential"),
    _rule("generic-secret",
          r"(?i)(?<![\w.-])[\w.-]{0,40}(?:key|token|secret|auth)[\w.-]{0,40}\s*[=:]\s*[\"']?"
          r"(?P<secret>(?=[^\s'\"]*\d)(?=[^\s'\"]*[A-Za-z])(?![/.~$])[A-Za-z0-9+/=_-]{16,})",
          "terraform apply -var storage.key=Zm9vYmFyYmF6cXV4MTIzNDU2", "Zm9vYmFyYmF6cXV4MTIzNDU2",
          "key token secret auth"),
)  # fmt: skip

# Negative examples: commands each rule must leave unchanged (alone and, in the
# tests, inside surrounding text), kept beside the table as data.
_NEGATIVES: dict[str, tuple[str, ...]] = {
    "private-key": ("ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519", "cat ~/.ssh/id_rsa.pub"),
    "aws-access-key": ("aws s3 ls s3://backups", "aws configure list"),
    "aws-secret-key": ("aws configure get aws_secret_access_key --profile $P",),
    "github-token": ("gh pr list --state open", "git push origin ghp_branch"),
    "gitlab-token": ("glab mr list --assignee=@me",),
    "slack-token": ("slack-cli chat send --channel ops 'xox is a game'",),
    "slack-webhook": ("curl https://hooks.slack.com/services/$SLACK_HOOK",),
    "stripe-key": ("stripe listen --forward-to localhost:4242/webhook",),
    "google-api-key": ("gcloud services list --enabled",),
    "jwt": ("echo eyJ | base64 -d",),
    "npm-token": ("npm install npm_config_cache",),
    "vault-token": ("vault status", "vault kv get secret/db"),
    "pypi-token": ("twine upload dist/*",),
    "openai-key": ("llm -m gpt-4o 'summarise sk-style naming'",),
    "digitalocean-token": ("doctl compute droplet list",),
    "sendgrid-key": ("curl https://api.sendgrid.com/v3/mail/send -H @headers.txt",),
    "age-key": ("age-keygen -o key.txt",),
    "mysql-password": ("mysql -u root -p -h db1", "mysqldump --user ops --password appdb"),
    "docker-login-password": ("docker login --username deploy --password-stdin r.io",
                              "docker run -p 8080:80 nginx"),
    "curl-user": ("curl -u $USER:$PASS https://x", "curl -sS https://x/health"),
    "sshpass": ("sshpass -f ~/.pw ssh web1 uptime", "sshpass -e ssh web1"),
    "htpasswd": ("htpasswd /etc/nginx/.htpasswd ops",),
    "redis-password": ("redis-cli -h cache1 -p 6380 ping",),
    "openssl-password": ("openssl enc -aes-256-cbc -pass env:ENC_PASS -in d.sql",
                         "openssl x509 -in cert.pem -noout -dates"),
    "stdin-password": ("cat ~/.docker-pass | docker login --username deploy --password-stdin r",),
    "auth-header": ("curl -H 'Authorization: Bearer $TOKEN' https://api/x",),
    "api-key-header": ("curl -H \"X-Api-Key: $API_KEY\" https://api/x",),
    "cookie-header": ("curl -b cookies.txt https://x",),
    "url-credentials": ("git clone https://github.com/acme/ops.git", "psql postgresql://db1/app"),
    "env-secret": ("export DB_PASSWORD=$(cat /run/secrets/db)", "export PATH=$PATH:/opt/bin",
                   "patator ftp_login host=h user=FILE0 password=FILE1 0=u.txt 1=p.txt"),
    "json-secret": ("""curl -d '{"user":"ops","role":"admin"}' https://x/login""",),
    "generic-secret": ("terraform apply -var key_name=deploy", "sort --key=2 data.txt"),
}
SECRET_PATTERNS = tuple(replace(r, negatives=_NEGATIVES.get(r.name, ())) for r in SECRET_PATTERNS)


def _prefilter(rules: Sequence[SecretRule]) -> re.Pattern[str] | None:
    """One regex matching any keyword; ``None`` when some rule must always run."""
    words = {k for r in rules for k in r.keywords}
    if any(not r.keywords for r in rules):
        return None
    return re.compile("|".join(re.escape(k) for k in sorted(words, key=len, reverse=True)))


_BUILTIN_FILTER = _prefilter(SECRET_PATTERNS)


def _findings(text: str, rules: Sequence[SecretRule]) -> list[tuple[int, int, int, str]]:
    """Return (start, end, priority, rule name) of every secret, placeholders excluded.

    Table rules come first in table order, then the word rules of
    :mod:`reifier.core.redact_words` (which see the parsed command).
    """
    low = text.lower()
    kept = [p.span() for p in PLACEHOLDER_RE.finditer(text)] if "<REDACTED:" in text else []
    found: list[tuple[int, int, int, str]] = []
    table = rules if rules is not SECRET_PATTERNS or _BUILTIN_FILTER is None else (
        rules if _BUILTIN_FILTER.search(low) else ())
    for index, rule in enumerate(table):
        if rule.keywords and not any(k in low for k in rule.keywords):
            continue
        for m in rule.pattern.finditer(text):
            start, end = m.span("secret")
            if start < end and not any(s < end and start < e for s, e in kept):
                found.append((start, end, index, rule.name))
    words = _word_rules()
    for start, end, name in words.findings(text):
        if not any(s < end and start < e for s, e in kept):
            found.append((start, end, len(rules) + words.ORDER[name], name))
    return found


@cache
def _word_rules() -> ModuleType:
    """:mod:`reifier.core.redact_words`, imported on first use (it imports bashparse,
    which imports this module for :data:`PLACEHOLDER_RE`)."""
    from reifier.core import redact_words

    return redact_words


def _once(text: str, rules: Sequence[SecretRule]) -> tuple[str, list[str]]:
    """Replace the secrets found in one pass; return the text and the names that fired."""
    found = _findings(text, rules)
    if not found:
        return text, []
    # Merge overlapping findings; the merged span takes the earliest rule's name.
    found.sort()
    merged: list[list[int]] = []
    names_of: dict[int, str] = {}
    for start, end, index, name in found:
        names_of.setdefault(index, name)
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = min(merged[-1][2], index)
        else:
            merged.append([start, end, index])
    out: list[str] = []
    names: list[str] = []
    pos = 0
    for start, end, index in merged:
        out.append(text[pos:start] + f"<REDACTED:{names_of[index]}>")
        names.append(names_of[index])
        pos = end
    out.append(text[pos:])
    return "".join(out), names


def redact(text: str, extra: Sequence[SecretRule] = ()) -> Redaction:
    """Replace every secret in ``text`` with ``<REDACTED:rule-name>``."""
    if (not extra and _BUILTIN_FILTER is not None and not _BUILTIN_FILTER.search(text.lower())
            and not _word_rules().may_contain(text)):
        return Redaction(text)  # most lines: one keyword search and the word rules' gate
    rules = (*extra, *SECRET_PATTERNS) if extra else SECRET_PATTERNS  # user rules win overlaps
    names: list[str] = []
    # A context rule matches once per context (`mysql … -pA … -pB`): repeat until
    # nothing changes, so that redacting the result again changes nothing. Each
    # pass turns at least one character of plain text into a placeholder.
    for _ in range(len(text) + 1):
        text, fired = _once(text, rules)
        if not fired:
            break
        names.extend(fired)
    return Redaction(text, tuple(dict.fromkeys(names)))


def _compile(name: str, regex: str) -> re.Pattern[str]:
    """Compile a user regex; without a ``secret`` group the whole match is the secret."""
    try:
        pattern = re.compile(regex)
        if "secret" not in pattern.groupindex:
            flags = re.match(r"\(\?[aiLmsux]+\)", regex)
            head = flags.group() if flags else ""
            pattern = re.compile(f"{head}(?P<secret>{regex[len(head):]})")
    except re.error as exc:
        raise ConfigError(f"redaction rule {name!r}: bad regex ({exc})") from None
    return pattern


def rules_from_config(items: Sequence[Mapping[str, str]]) -> tuple[SecretRule, ...]:
    """Build user rules from ``[[redact]]`` tables (name, regex, example), checking each."""
    rules = []
    for position, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise ConfigError(f"redaction rule #{position}: must be a table")
        name, regex, example = (item.get(k) for k in ("name", "regex", "example"))
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ConfigError(f"redaction rule #{position}: 'name' must be letters, digits, -_.")
        if not isinstance(regex, str) or not regex:
            raise ConfigError(f"redaction rule {name!r}: 'regex' is missing")
        if not isinstance(example, str) or not example:
            raise ConfigError(f"redaction rule {name!r}: 'example' is missing")
        pattern = _compile(name, regex)
        match = pattern.search(example)
        if match is None or not match.group("secret"):
            raise ConfigError(f"redaction rule {name!r}: its example does not match its regex")
        rules.append(SecretRule(name, pattern, example, match.group("secret")))
    return tuple(rules)


# -- redacted values as runbook parameters ---------------------------------------------

_BARE_SECRET = {"PASSWORD", "PASSWD", "PASS", "PW", "PWD", "P", "A", "W", "K", "SECRET", "TOKEN",
                "KEY", "PASSPHRASE", "OTP", "PIN", "AUTH", "CREDENTIALS", "U", "USER"}  # fmt: skip
_SYNONYMS = dict.fromkeys(("PASSWD", "PASS", "PW", "PWD", "P", "A", "W", "K", "U", "USER",
                           "AUTH", "CREDENTIALS"), "PASSWORD")  # fmt: skip
_SECRETISH = re.compile(r"PASS|SECRET|TOKEN|KEY|AUTH|CRED|OTP")
_BEFORE_RE = re.compile(
    r"(?:\"(?P<json>[\w-]+)\"\s*:\s*\"|(?P<key>[A-Za-z_][\w.-]*)=|(?P<opt>--?[A-Za-z][\w-]*)(?:=|\s+)"
    r"|(?P<cred>[\w.$\\-]+)[:%]|(?<!\S)(?P<win>/[A-Za-z]+):|(?P<glued>-[A-Za-z]))[\"']?$"
)
# Token-format rules name their parameter themselves (github-token → GITHUB_TOKEN).
_RULE_NAMES = {"auth-header": "TOKEN", "api-key-header": "API_KEY", "cookie-header": "COOKIE",
               "aws-access-key": "AWS_ACCESS_KEY_ID", "aws-secret-key": "AWS_SECRET_ACCESS_KEY",
               "url-credentials": "PASSWORD", "curl-user": "PASSWORD", "jwt": "JWT"}  # fmt: skip
_TOKEN_RULES = {"github-token", "gitlab-token", "slack-token", "slack-webhook", "stripe-key",
                "google-api-key", "npm-token", "vault-token", "pypi-token", "openai-key",
                "digitalocean-token", "sendgrid-key", "age-key", "known-token"}  # fmt: skip


def _snake(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def _tool_of(before: str) -> str:
    """The command name of the simple command the text before a placeholder is in."""
    segment = re.split(r"[;|&(\n]|\$\(", before)[-1].split()
    words = [w for w in segment if "=" not in w or w.startswith("-")]
    while words and words[0] in {"sudo", "env", "time", "nohup", "exec", "command", "doas"}:
        words = words[1:]
    return words[0].rsplit("/", 1)[-1] if words else ""


def param_name(text: str, start: int, rule: str) -> str:
    """The environment variable a placeholder at ``text[start]`` becomes, from its context.

    ``--dbpassword=<…>`` → ``DBPASSWORD``; ``PGPASSWORD=<…>`` → ``PGPASSWORD``;
    ``--registration-token <…>`` → ``REGISTRATION_TOKEN``; ``mysql -p<…>`` →
    ``MYSQL_PASSWORD``; ``redis-cli -a <…>`` → ``REDIS_CLI_PASSWORD``.
    """
    line = text[:start].rsplit("\n", 1)[-1]
    m = _BEFORE_RE.search(line)
    raw = ""
    if m is not None:
        raw = next(g for g in m.groups() if g is not None)
    name = _snake(raw) if m is None or m.group("cred") is None else "PASSWORD"
    name = _SYNONYMS.get(name, name)
    tool_text = text[:start]
    if rule == "stdin-secret":  # named after the command reading it: echo X | gh auth login
        after = text[start:].split("\n", 1)[0]
        consumer = after.split("|", 1)[1] if "|" in after else line
        low = consumer.lower()
        name = "TOKEN" if "token" in low else "PASSWORD" if "pass" in low else "SECRET"
        tool_text = consumer if "|" in after else tool_text
    elif rule in _TOKEN_RULES and not _SECRETISH.search(name):
        return _snake(rule)
    elif rule in _RULE_NAMES and not _SECRETISH.search(name):
        name = _RULE_NAMES[rule]
    if not name or name in _BARE_SECRET or not _SECRETISH.search(name):
        word = name if name in _BARE_SECRET else "SECRET"
        word = _SYNONYMS.get(word, word)
        tool = _snake(_tool_of(tool_text))
        name = f"{tool}_{word}" if tool else word
    if not re.match(r"[A-Z_]", name):
        name = "S_" + name
    return name


def _quote_state(before: str) -> str:
    """The quote a position is inside ("'", '"' or "") after the text ``before`` it."""
    state = ""
    i = 0
    while i < len(before):
        ch = before[i]
        if state == "'":
            state = "" if ch == "'" else state
        elif ch == "\\":
            i += 1
        elif state == '"':
            state = "" if ch == '"' else state
        elif ch in "'\"":
            state = ch
        i += 1
    return state


def secret_parameters(sources: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Turn every ``<REDACTED:rule>`` in cell sources into a ``$NAME`` parameter reference.

    Returns the rewritten sources and ``{NAME: rule}`` in first-seen order: a runbook
    reads those from the environment at run time (:func:`render_secret_parameters`),
    so an approved runbook runs without anyone pasting a secret into it.
    """
    names: dict[str, str] = {}
    out: list[str] = []
    for src in sources:
        parts: list[str] = []
        pos = 0
        here: set[str] = set()  # a name twice in one cell is two secrets (mc alias set … A S)
        for m in PLACEHOLDER_RE.finditer(src):
            rule = m.group()[len("<REDACTED:") : -1]
            base = name = param_name(src, m.start(), rule)
            n = 2
            while name in here:
                name, n = f"{base}_{n}", n + 1
            here.add(name)
            names.setdefault(name, rule)
            start, end = m.span()
            quote = _quote_state(src[:start])
            if quote and src[start - 1] == quote and src[end : end + 1] == quote:
                start, end, quote = start - 1, end + 1, ""  # '<R>' alone in its quotes
            token = {"'": f"'\"${name}\"'", '"': f"${{{name}}}"}.get(quote, f'"${name}"')
            parts.append(src[pos:start] + token)
            pos = end
        out.append("".join(parts) + src[pos:])
    return out, names


def render_secret_parameters(names: Mapping[str, str]) -> str:
    """Parameters-cell lines that read redacted values from the environment at run time."""
    if not names:
        return ""
    rules = ", ".join(dict.fromkeys(names.values()))
    lines = [f"# Secrets ({rules}): never stored; read from the environment at run time"]
    lines += [f'{name}="${{{name}:-}}"' for name in names]
    return "\n".join(lines) + "\n"
