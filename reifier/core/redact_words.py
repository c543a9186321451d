"""Find secrets in the *parsed* words of a command line (the second redaction stage).

:mod:`reifier.core.redact` runs regular expressions over the raw text (token
formats, headers, URLs, ``NAME=value``). This module looks at the argv words
tree-sitter-bash gives (:mod:`reifier.core.bashparse`), which is what a regex
cannot do well: know where a word ends, which option a value belongs to, whether
an option only *asks* for a password, and what a tool takes as positional
arguments. Every rule is general; tool knowledge is data (the tables below), and
each rule keeps its positive and negative examples as data
(:data:`WORD_RULES`), checked by the tests alone and inside surrounding text.

Rules, in the order their findings win:

- ``secret-option``: the value of an option whose name carries a secret word,
  with any prefix or suffix (``--registration-token X``, ``--dbpassword=X``,
  ``-computer-pass X``, ``-upw X``, ``/p:X``), attached or the next word, unless
  the option names a file, an id, a prompt… (``--password-file``,
  ``--secret-id``) or only asks (``--ask-pass``; ``psql --password`` from
  :data:`FLAG_OPTIONS`);
- ``tool-password``: short options that are a password for one tool
  (:data:`TOOL_OPTIONS`: ``7z -pX``, ``redis-cli -a X``, ``ldapsearch -w X``…),
  and ``-p``/``-P`` beside a user option (``-u ops -p X``) for any tool;
- ``credentials``: ``user:pass`` / ``user%pass`` / ``user,pass`` given to an
  option naming a user, auth or credentials (``--auth ops:X``, ``--user ops%X``),
  and ``[DOMAIN/]user:pass@host`` or ``DOMAIN/user:pass`` words (impacket);
- ``secret-assignment``: ``key=value`` inside a word whose key names a secret
  (``?ServerPassword=X``, ``apitoken=X,host=…``, ``csrftoken=X; …``), and every
  value for tools whose ``key=value`` arguments are all secrets (``fly secrets set``);
- ``positional-secret``: the arguments of tools that take a secret as a
  positional (:data:`POSITIONALS`: ``mc alias set NAME URL ACCESS SECRET``,
  ``wpa_passphrase SSID PASS``, ``nmcli … password X``…);
- ``stdin-secret``: what ``echo``/``printf`` pipe, or a here-string/document
  feeds, into a command that reads a secret on stdin (:data:`STDIN_TOOLS`, and
  any ``--*password-stdin``/``--with-token`` option);
- ``high-entropy``: a second net on value shape: a word (or the part of it after
  ``=``/``:``) of 10+ characters mixing upper case, lower case and digits or
  symbols in short random runs, in argument position; known token formats of
  detect-secrets are checked on long words (:mod:`reifier.core.redact_tokens`).

A value is never a secret when it is a ``$VAR``/``$(…)`` reference, a
placeholder, ``-``, an option, a file path, or empty.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from reifier.core import bashparse, redact_tokens
from reifier.core.bashparse import SimpleCommand, Word

# (start, end, rule name): a character span of the command line to replace.
Finding = tuple[int, int, str]


@dataclass(frozen=True)
class WordRule:
    """A word-level rule's name, what it is for, and its examples as data."""

    name: str
    doc: str
    examples: tuple[tuple[str, str], ...]  # (command, the secret it must hide)
    negatives: tuple[str, ...]  # commands it must leave unchanged


# Secret words in option and key names. "Strong" ones may appear anywhere in the
# name (--dbpassword, --registration-token, apitoken); "short" ones must be a
# whole segment or end one (--pass, -storepass, -upw, --otp, --api_key).
STRONG_WORDS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "credential")
SHORT_WORDS = ("pass", "pwd", "pw", "otp", "psk", "pin", "bearer", "cookie")
# Words often used for names rather than secrets: their value must not be a plain
# lowercase identifier (erl -setcookie cookie_name, --key name).
WEAK_WORDS = frozenset(("key", "cookie", "pin"))
# Segments that make a secret-named option name something else than the secret.
NOT_SECRET_SEGMENTS = frozenset((
    "file", "files", "path", "dir", "fd", "stdin", "env", "cmd", "command", "prompt",
    "id", "ids", "name", "names", "arn", "uri", "url", "type", "length", "len", "policy",
    "ttl", "expiry", "expires", "expiration", "helper", "manager", "store", "mode", "method",
    "format", "source", "hint", "label", "description", "count", "age", "min", "max",
    "minimum", "maximum", "size", "bits", "rounds", "iterations", "scheme", "provider",
    "program", "script", "hash", "algorithm", "algo", "cipher", "version", "backend",
    "endpoint", "server", "service", "template", "auth", "retries", "timeout", "ref",
    "reference", "list", "reset", "change", "no", "ask", "with", "without",
    "use", "generate", "gen", "show", "print", "delete", "remove", "rm", "require",
    "required", "interactive", "create", "read", "get", "dump", "check", "verify",
    "validate", "random", "import", "export", "lookup", "set", "sets", "passthrough",
    "bypass", "compass", "mount", "location", "field", "fields", "column", "kind",
))  # fmt: skip
# A key-ish word ("key") is a secret only in these compounds; alone it is too common
# (sort --key, gpg --recv-keys) and its value must look random (the high-entropy net).
KEY_COMPOUNDS = frozenset((
    "apikey", "secretkey", "accesskey", "accountkey", "privatekey", "masterkey", "authkey",
    "clientkey", "servicekey", "signingkey", "encryptionkey", "licensekey", "sharedkey",
    "consumerkey", "storagekey", "sessionkey", "hmackey", "webhookkey", "appkey",
))  # fmt: skip
# Options that only ask for a secret (prompt) or switch a mode: never take the next
# word. "*" applies to every tool.
FLAG_OPTIONS: dict[str, frozenset[str]] = {
    name: frozenset(opts.split())
    for names, opts in (
        (
            "* ",
            "--password-stdin --pass-stdin --token-stdin --secret-stdin --with-token "
            "--passphrase-stdin --askpass --ask-pass --ask-password --prompt-password "
            "--password-prompt --no-password --no-pass -no-pass --with-password "
            "--without-password --ask-vault-pass --ask-become-pass --ask-sudo-pass "
            "--stdin-password",
        ),
        (
            "psql pg_dump pg_dumpall pg_restore pg_basebackup pg_isready createdb dropdb "
            "createuser dropuser vacuumdb reindexdb clusterdb pgbench pg_receivewal "
            "pg_recvlogical pg_upgrade",
            "--password -W",
        ),
        (
            "mysql mysqldump mysqladmin mysqlimport mysqlcheck mysqlshow mysqlslap mysqlpump "
            "mysqlbinlog mariadb mariadb-dump mariadb-admin mariadb-import mariadb-check",
            "--password -p",
        ),
        ("gocryptfs", "-passwd --passwd"),
        ("systemd-cryptenroll", "--password --recovery-key"),
        ("age rage", "--passphrase -p"),
        ("keepassxc-cli", "--totp"),
        ("sq", "--with-password"),
        ("transmission-daemon transmission-remote", "--auth -t"),
        ("zip 7z 7za 7zr", "-e"),
        ("ssh-keygen", "-p"),
        ("gpg gpg2", "--passphrase-repeat --passphrase-fd"),
        ("lambo", "--auth"),
        ("ibmcloud", "--sso-otp"),
        ("qm", "--pass-stdin"),
    )
    for name in names.split()
}


def _segments(name: str) -> list[str]:
    """Split an option or key name into lowercase segments (``dbPassword`` → db, password)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name.lstrip("-/"))
    return [s for s in re.split(r"[-_.]+", name.lower()) if s]


def secret_name(name: str) -> str | None:
    """Return the secret word an option/key name carries, or ``None``.

    ``--registration-token`` → ``token``; ``--dbpassword`` → ``password``;
    ``-upw`` → ``pw``; ``--password-file`` / ``--secret-id`` → ``None``.
    """
    segs = _segments(name)
    if (
        not segs
        or any(s in NOT_SECRET_SEGMENTS for s in segs[1:])
        or segs[0]
        in {
            "no",
            "ask",
            "with",
            "without",
            "use",
            "generate",
            "show",
            "delete",
            "prompt",
            "reset",
            "print",
            "list",
            "dump",
            "require",
            "random",
            "gen",
            "check",
        }
    ):
        return None
    joined = "".join(segs)
    for word in STRONG_WORDS:
        if word in joined:
            return word
    if any(s in KEY_COMPOUNDS for s in segs) or any(
        "".join(segs[i : i + 2]) in KEY_COMPOUNDS for i in range(len(segs) - 1)
    ):
        return "key"
    for seg in segs:
        for word in SHORT_WORDS:
            if seg == word or (
                seg.endswith(word)
                and len(seg) - len(word) <= 10
                and seg not in NOT_SECRET_SEGMENTS
                and word != "pin"
            ):
                return word
    return None


# Short options that carry a secret for one tool: option → "attached" (-pX only),
# "next" (the next word) or "both". Keys are tool names (basename of argv[0]).
_MYSQL = (
    "mysql mysqldump mysqladmin mysqlimport mysqlcheck mysqlshow mysqlslap mysqlpump "
    "mysqlbinlog mariadb mariadb-dump mariadb-admin mariadb-import mariadb-check"
)
TOOL_OPTIONS: dict[str, dict[str, str]] = {
    name: dict(pair.split("=") for pair in opts.split())
    for names, opts in (
        (_MYSQL, "-p=attached"),
        ("7z 7za 7zr rar unrar", "-p=attached"),
        ("zip unzip zipcloak funzip", "-P=both"),
        ("rdesktop mytop", "-p=next"),
        ("redis-cli valkey-cli keydb-cli redis-benchmark valkey-benchmark", "-a=next"),
        (
            "ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami ldapcompare ldapmodrdn ldapexop",
            "-w=next",
        ),
        ("ldappasswd", "-w=next -s=next -a=next"),
        ("sshpass", "-p=both"),
        ("sqlcmd bcp osql isql", "-P=next"),
        ("ipmitool", "-P=next -k=next -y=next"),
        (
            "mongo mongosh mongodump mongorestore mongoexport mongoimport mongostat mongotop "
            "mongofiles",
            "-p=next",
        ),
        ("airdecap-ng", "-p=next -k=next"),
        ("aircrack-ng", "-k=next"),
        ("sic ii", "-k=next"),
        ("openssl", "-k=next"),
        (
            "hydra medusa ncrack enum4linux smbmap crackmapexec nxc netexec evil-winrm "
            "kerbrute impacket-psexec",
            "-p=next",
        ),
        ("ssh-keygen", "-N=next -P=next"),
        ("mosquitto_pub mosquitto_sub mosquitto_rr", "-P=next"),
        ("x11vnc", "-passwd=next"),
        ("plink pscp psftp", "-pw=next"),
        ("useradd usermod", "-p=next"),
        ("doctl", "-t=next"),
        (
            "snmpwalk snmpget snmpset snmpbulkwalk snmpbulkget snmptable snmptrap snmpdelta "
            "snmpstatus snmpinform",
            "-A=next -X=next",
        ),
        ("iwctl", "--passphrase=next"),
        ("sqlplus", "-p=attached"),
    )
    for name in names.split()
}
# Options naming the user (the pair rule: -u USER -p X is a password for any tool).
USER_OPTIONS = frozenset(
    [
        "-u",
        "-U",
        "-l",
        "--user",
        "--username",
        "-user",
        "-username",
        "--login",
        "-login",
        "--userid",
        "-user-name",
    ]
)
PAIR_PASSWORD_OPTIONS = frozenset(["-p", "-P", "-pw", "-pass", "-password", "-k"])
# Options whose value is `user:pass`, `user%pass` or `user,pass`.
CREDENTIAL_SEGMENTS = frozenset((
    "user", "username", "auth", "credentials", "credential", "creds", "cred", "login",
    "basic", "u", "a", "c",
))  # fmt: skip
# Options whose value is `user,pass` (comma-separated).
COMMA_CREDENTIALS: dict[str, frozenset[str]] = {"lftp": frozenset({"-u", "--user"})}
# Tool options whose value is `user:pass` though their name does not say so.
TOOL_CREDENTIALS: dict[str, frozenset[str]] = {
    "transmission-remote": frozenset({"-n", "--auth"}),
    "lwp-request": frozenset({"-C"}),
    "http": frozenset({"-a", "--auth"}),
    "https": frozenset({"-a", "--auth"}),
}
# In a command that sets secrets (ALL_VALUES_SECRET), these options carry the value.
SECRET_VALUE_OPTIONS = frozenset(
    ("--body", "-b", "--value", "--data", "--from-literal", "--secret-value")
)
# Options that take more than one value: option → (values, index of the secret).
MULTI_VALUE_OPTIONS: dict[str, dict[str, tuple[int, int]]] = {
    "steam": {"-login": (2, 1), "+login": (2, 1)},
    "networksetup": {"-setairportnetwork": (3, 2), "-addpreferredwirelessnetworkatindex": (5, 4)},
}


@dataclass(frozen=True)
class Positional:
    """A tool taking a secret as a positional argument.

    ``path``: the subcommand words that must come first (``alias set``);
    ``indexes``: which positionals (0-based, after ``path``) are secrets; a negative
    index counts from the end; ``min_count``: how many positionals there must be;
    ``keyword``: a bare word whose next word is the secret (``nmcli … password X``).
    """

    tool: str
    path: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    min_count: int = 0
    keyword: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()  # the tool's options taking a value
    fewer_with: tuple[str, int] = ("", 0)  # a flag that lowers min_count to this many
    when: str = ""  # a flag that must be present (pulumi config set --secret K V)


def _p(
    tool: str,
    path: str = "",
    indexes: tuple[int, ...] = (),
    min_count: int = 0,
    keyword: str = "",
    takes: str = "",
    fewer_with: tuple[str, int] = ("", 0),
    when: str = "",
) -> Positional:
    return Positional(tool, tuple(path.split()), indexes, min_count, frozenset(keyword.split()),
                      frozenset(takes.split()), fewer_with, when)  # fmt: skip


POSITIONALS: tuple[Positional, ...] = (
    _p("mc", "alias set", (2, 3), 3),
    _p("mc", "config host add", (2, 3), 3),
    _p("wpa_passphrase", "", (1,), 2),
    # create_ap IFACE SHARED SSID PASS; with -n (no sharing) IFACE SSID PASS
    _p(
        "create_ap",
        "",
        (-1,),
        4,
        takes="-m -c -w -g -d --driver --country --freq-band "
        "--mac --dhcp-dns --hostapd-debug --mkconfig --config",
        fewer_with=("-n", 3),
    ),
    _p("hsw-cli", "unlock", (0,), 1),
    _p(
        "pulumi",
        "config set",
        (1,),
        2,
        takes="--path --stack -s --cwd -C --config-file",
        when="--secret",
    ),
    _p(
        "ansible-vault",
        "encrypt_string",
        (0,),
        1,
        takes="--name -n --vault-id --vault-password-file --encrypt-vault-id --output",
    ),
    _p("pdftk", keyword="input_pw owner_pw user_pw"),
    _p("hsw-rpc", "walletpassphrase", (0,), 1),
    _p("bitcoin-cli", "walletpassphrase", (0,), 1),
    _p("bitcoin-cli", "encryptwallet", (0,), 1),
    _p("bitcoin-cli", "walletpassphrasechange", (0, 1), 2),
    _p("vault", "auth", (0,), 1),
    _p("vault", "login", (0,), 1, takes="-method -path -address -namespace"),
    _p("mysqladmin", "password", (0,), 1),
    _p("openssl", "passwd", (-1,), 1),
    _p("rabbitmqctl", "add_user", (1,), 2),
    _p("rabbitmqctl", "change_password", (1,), 2),
    _p("rabbitmqctl", "authenticate_user", (1,), 2),
    _p("htpasswd", "", (-1,), 3),  # only with -b (checked in code)
    _p("net", "user", (1,), 2),
    _p(
        "nmcli",
        keyword="password wifi-sec.psk 802-11-wireless-security.psk wifi-sec.wep-key0"
        " 802-1x.password psk",
    ),
    _p("redis-cli", keyword="auth AUTH"),
    _p("rclone", keyword="pass password"),
    _p("net", "use", (-1,), 2),
    _p("keytool", keyword=""),
)
# Tools whose key=value arguments are all secrets (values, not names).
ALL_VALUES_SECRET: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fly", ("secrets", "set")),
    ("flyctl", ("secrets", "set")),
    ("heroku", ("config:set",)),
    ("dokku", ("config:set",)),
    ("kubectl", ("create", "secret")),
    ("oc", ("create", "secret")),
    ("vault", ("kv", "put")),
    ("gh", ("secret", "set")),
    ("doppler", ("secrets", "set")),
    ("railway", ("variables", "--set")),
    ("vercel", ("env", "add")),
)
# Commands reading a secret on stdin: tool → subcommand words required ("" = none).
STDIN_TOOLS: dict[str, tuple[str, ...]] = {
    "chpasswd": (),
    "chgpasswd": (),
    "passage": ("insert",),
    "pass": ("insert",),
    "secrethub": ("write",),
    "argon2": (),
    "mkpasswd": (),
    "wg": ("pubkey",),
    "docker": ("secret", "create"),
    "podman": ("secret", "create"),
    "gopass": ("insert",),
    "systemd-creds": ("encrypt",),
    "age-keygen": ("-y",),
    "cryptsetup": (),
    "htpasswd": ("-i",),
    "smbpasswd": ("-s",),
    "vault": ("login",),
    "op": ("signin",),
}
STDIN_OPTION_RE = re.compile(
    r"^--?(?:[\w-]*(?:password|passwd|pass|token|secret|passphrase|key)[\w-]*-stdin"
    r"|stdin-[\w-]*(?:password|pass|token|secret)|with-token|password-fd|passphrase-fd)$"
)
_USERPASS_LINES = re.compile(
    r"^[^\s:]+:(?P<pw>[^\n\\]+)(?:(?:\\n|\n)[^\s:]+:[^\n\\]+)*(?:\\n|\n)?$"
)


# ---- values ----------------------------------------------------------------------

_PATH_RE = re.compile(r"^(?:~?/|\.{1,2}/|[A-Za-z]:\\|file:|env:|fd:|@/|@\.|\\\\)")
_REF_RE = re.compile(r"^(?:\$|<REDACTED:)")
# A file name with a file-ish extension is a path given to the option, not the secret.
_FILE_RE = re.compile(
    r"[\w.-]+\.(?:txt|conf|cfg|json|ya?ml|ini|pem|key|crt|cer|p12|pfx|jks|ovpn|env|gpg|asc"
    r"|kdbx|csv|xml|toml|pub|pw|pass|secret|cred|creds)"
)


# Documentation placeholders: a value that only names what it stands for.
PLACEHOLDERS = frozenset(
    [
        "password",
        "passwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "hash",
        "pin",
        "otp",
        "key",
        "apikey",
        "api_key",
        "value",
    ]
)


def placeholder(text: str) -> bool:
    """A value that names what should stand there (``--password password``, ``<token>``)."""
    low = text.lower()
    return low in PLACEHOLDERS or bool(re.fullmatch(r"<[\w -]+>|\{\{[^{}]*\}\}|\[[\w -]+\]", text))


def is_value(text: str) -> bool:
    """Whether a word can be a secret value at all (not a reference, option or path)."""
    if len(text) < 3 or text in {"-", "--", "''", '""', "stdin"} or placeholder(text):
        return False
    if text.startswith("-") or _REF_RE.match(text) or "<REDACTED:" in text:
        return False
    return not (_PATH_RE.match(text) or "://" in text or _FILE_RE.fullmatch(text))


def _strong_value(text: str) -> bool:
    """A value that a strong secret name takes: anything but a reference or a path."""
    return is_value(text)


_SPACE_RE = re.compile(r"\s")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")
_DIGIT_RE = re.compile(r"\d")
_LETTER_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_NOT_RANDOM = re.compile(r"\\|%[A-Za-z]|^[\d.:/x-]+$|^[0-9a-f-]+$|^[0-9A-F-]+$|\.[a-z]{1,4}$")


def looks_random(text: str) -> bool:
    """Whether a value has the shape of a generated secret (the high-entropy net).

    10+ characters (at most 512, no spaces), upper and lower case plus digits or
    symbols, symbols at most a fifth, and letters in short random runs (``WKbsDE#ZoDiP``:
    W, Kbs, DE, Zo, Di, P) rather than words (``HKLM_SOFTWARE_Microsoft``,
    ``getElementById``, ``Bridge_1.0.0_Servo``).
    """
    n = len(text)
    if n < 10 or n > 512 or text.islower() or text.isupper() or text[0] in "/-.~":
        return False  # needs both cases
    if _SPACE_RE.search(text) or _NOT_RANDOM.search(text) or "://" in text:
        return False
    other = len(_ALNUM_RE.sub("", text))
    if other * 5 > n or (not other and not _DIGIT_RE.search(text)):
        return False
    tokens = _LETTER_TOKENS.findall(text)
    if len(tokens) < 3:
        return False
    average = sum(map(len, tokens)) / len(tokens)
    longest = max(map(len, tokens))
    return average <= 2.6 and longest <= 6 and not _encoded_text(text)


def _encoded_text(text: str) -> bool:
    """Base64 of printable text (``NjM3YTQy…``) is data being decoded, not a generated secret."""
    if len(text) < 16 or not re.fullmatch(r"[A-Za-z0-9+/_-]+=*", text):
        return False
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    body = body[: len(body) - len(body) % 4]
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        return False
    return bool(raw) and all(32 <= b < 127 or b in (9, 10, 13) for b in raw)


# ---- spans -----------------------------------------------------------------------


def _value_span(word: Word, start: int, end: int) -> tuple[int, int]:
    """Map ``word.text[start:end]`` to a span of the source line (quotes excluded)."""
    raw, text = word.raw, word.text
    base = word.span[0]
    if raw == text:
        return base + start, base + end
    if len(raw) == len(text) + 2 and raw[0] in "'\"" and raw[-1] == raw[0] and raw[1:-1] == text:
        return base + 1 + start, base + 1 + end
    piece = text[start:end]
    if piece:
        at = raw.find(piece) if start else raw.rfind(piece)
        if at >= 0:
            return base + at, base + at + len(piece)
    # Quotes or escapes inside the value: replace from the value's start in the raw word.
    head = text[:start]
    at = raw.find(head) + len(head) if head and raw.find(head) >= 0 else 0
    tail = raw[at:]
    lead = len(tail) - len(tail.lstrip("'\""))
    trail = len(tail) - len(tail.rstrip("'\""))
    return base + at + lead, word.span[1] - trail


def _whole(word: Word, rule: str) -> Finding:
    start, end = _value_span(word, 0, len(word.text))
    return start, end, rule


def _part(word: Word, start: int, rule: str, end: int | None = None) -> Finding:
    s, e = _value_span(word, start, len(word.text) if end is None else end)
    return s, e, rule


# ---- the rules -------------------------------------------------------------------


def _tool(words: tuple[Word, ...]) -> str:
    return words[0].text.rsplit("/", 1)[-1].lower() if words else ""


_OPT_RE = re.compile(
    r"^(?P<name>--?[A-Za-z][\w.-]*|\+[a-z][\w-]*|/[A-Za-z][\w-]*)(?:(?P<sep>[=:])(?P<val>.*))?$",
    re.S,
)


def _option(text: str) -> tuple[str, str | None, int] | None:
    """Split ``--name=value`` / ``-name`` / ``/p:value``: (name, value or None, value offset)."""
    m = _OPT_RE.match(text)
    if m is None:
        return None
    name = m.group("name")
    if name.startswith("/") and m.group("sep") != ":":
        return None  # a path, not a Windows-style option
    if m.group("sep") == ":" and not name.startswith("/"):
        return None  # --foo:bar is not an option syntax bash tools use
    return name, m.group("val"), m.start("val") if m.group("val") is not None else len(text)


_USERPASS_RE = re.compile(r"^(?P<user>[\w.\\$-]{1,128})(?P<sep>[:%])(?P<pw>.+)$", re.S)
_DOMAIN_CRED_RE = re.compile(
    r"^(?:(?P<domain>[\w.-]+)[/\\])?(?P<user>[\w.$-]+):(?P<pw>[^\s]+?)"
    r"(?:@(?P<host>[\w.-]+(?::\d+)?))?$"
)


def _credential_word(word: Word) -> Finding | None:
    """``DOMAIN/user:pass[@host]`` or ``user:pass@host`` as a positional word."""
    text = word.text
    if ":" not in text or "://" in text or "<REDACTED:" in text or text.startswith(("-", "/")):
        return None
    m = _DOMAIN_CRED_RE.match(text)
    if m is None:
        return None
    domain, host, pw = m.group("domain"), m.group("host"), m.group("pw")
    if host is None and not (domain and ("." in domain or domain.isupper())):
        return None
    if host is None and (re.fullmatch(r"[a-z0-9._-]+", pw) or "/" in pw):
        return None  # registry/image:tag, origin/main:file — not a password
    if pw.isdigit() or pw.startswith(("$", "/")) or len(pw) < 3:
        return None
    return _part(word, m.start("pw"), "credentials", m.end("pw"))


_KV_RE = re.compile(r"(?:^|(?<=[?&;,\s]))(?P<key>[A-Za-z_][\w.-]{0,80})=(?P<val>)")


def _assignments(word: Word, every_value: bool) -> Iterator[Finding]:
    """``key=value`` pairs inside a word whose key names a secret (or every value)."""
    text = word.text
    if "=" not in text or "<REDACTED:" in text:
        return
    for m in _KV_RE.finditer(text):
        key = m.group("key")
        if not every_value and secret_name(key) is None:
            continue
        start = m.start("val")
        # The value runs to the next `, key=` / `& key=` / `? key=` / `; key=` or the end.
        stop = re.search(r"[,&;?]\s*[A-Za-z_][\w.-]{0,80}=|[;&]\s|\s", text[start:])
        end = start + stop.start() if stop else len(text)
        value = text[start:end]
        if not is_value(value) and not (every_value and value and not value.startswith("$")):
            continue
        if _PLACEHOLDER_VALUE.match(value) or placeholder(value):
            continue
        kind = secret_name(key)
        if not every_value and kind is not None and not _accepts(kind, value):
            continue
        yield _part(word, start, "secret-assignment", end)


# Tool-syntax literals that are not secrets even after a secret key (patator's
# payload slots FILE0, COMBO01, NET0, RANGE0, PROG0).
_PLACEHOLDER_VALUE = re.compile(r"^(?:FILE|COMBO|NET|RANGE|PROG)\d+(?::(?:FILE|COMBO)\d+)?$")


@dataclass(frozen=True)
class _Command:
    """One simple command (wrappers removed) and what the rules need to know of it."""

    words: tuple[Word, ...]
    tool: str
    flags: frozenset[str]
    tool_opts: dict[str, str]
    has_user: bool
    every_value: bool

    @classmethod
    def of(cls, words: tuple[Word, ...]) -> _Command:
        tool = _tool(words)
        texts = [w.text for w in words]
        has_user = any(
            (t in USER_OPTIONS and i + 1 < len(texts) and is_value(texts[i + 1]))
            or (t.split("=", 1)[0] in USER_OPTIONS and "=" in t)
            for i, t in enumerate(texts)
        )
        every_value = any(
            tool == name and all(p in texts[1:] for p in path) for name, path in ALL_VALUES_SECRET
        )
        flags = FLAG_OPTIONS.get(tool, frozenset()) | FLAG_OPTIONS["*"]
        return cls(words, tool, flags, TOOL_OPTIONS.get(tool, {}), has_user, every_value)

    def next_value(self, i: int) -> Word | None:
        """The word after ``i`` when it can be a secret value."""
        if i + 1 < len(self.words) and is_value(self.words[i + 1].text):
            return self.words[i + 1]
        return None


# What one word gave: the findings and how many words it used (1, or 2 with its value).
_Step = tuple[list[Finding], int]
_LOWER_NAME = re.compile(r"[a-z][a-z0-9_.-]*")


def _accepts(kind: str, value: str) -> bool:
    """A weak secret word (key, cookie) takes a value only if it is not a plain name."""
    if kind not in WEAK_WORDS:
        return True
    return looks_random(value) or (len(value) >= 16 and not _LOWER_NAME.fullmatch(value))


def _secret_option(c: _Command, i: int, kind: str, value: str | None, at: int) -> _Step:
    """The value of an option whose name carries a secret word."""
    word = c.words[i]
    if value is not None:  # --name=VALUE
        cred = _userpass_part(word, value, at) if kind == "credential" else None
        if cred is not None:
            return [cred], 1
        if is_value(value) and _accepts(kind, value):
            return [_part(word, at, "secret-option")], 1
        return list(_assignments(word, c.every_value)) if "=" in value else [], 1
    nxt = c.next_value(i)
    if nxt is None or nxt.raw.startswith("$"):
        return [], 1
    if kind == "cookie" or (kind in {"secret", "token"} and _KEY_FIRST.match(nxt.text)):
        found = list(_assignments(nxt, kind != "cookie"))  # --secret NAME=VALUE, cookies
        if found:
            return found, 2
    if not _accepts(kind, nxt.text):
        return [], 1
    cred = _userpass_part(nxt, nxt.text, 0) if kind == "credential" else None
    return [cred or _whole(nxt, "secret-option")], 2


_KEY_FIRST = re.compile(r"[A-Za-z_][\w.-]*=")


def _option_step(c: _Command, i: int, name: str, value: str | None, at: int) -> _Step:
    """Findings for one option word (and its value word, if it takes one)."""
    word = c.words[i]
    multi = MULTI_VALUE_OPTIONS.get(c.tool, {})
    if name in multi:  # steam -login USER PASS
        count, index = multi[name]
        target = i + 1 + index
        if target < len(c.words) and is_value(c.words[target].text):
            return [_whole(c.words[target], "positional-secret")], 1 + count
        return [], 1 + count
    if name in COMMA_CREDENTIALS.get(c.tool, frozenset()):
        holder = word if value is not None else c.next_value(i)
        off = at if value is not None else 0
        if holder is not None and "," in holder.text[off:]:
            comma = holder.text.index(",", off) + 1
            return [_part(holder, comma, "credentials")], 1 if value is not None else 2
    if c.every_value and name in SECRET_VALUE_OPTIONS:
        if value is not None:
            found = list(_assignments(word, True)) if name == "--from-literal" else []
            return found or ([_part(word, at, "secret-option")] if is_value(value) else []), 1
        nxt = c.next_value(i)
        return ([_whole(nxt, "secret-option")], 2) if nxt is not None else ([], 1)
    mode = c.tool_opts.get(name)
    if mode is not None and value is None:  # a tool's own password option
        nxt = c.next_value(i) if mode in {"next", "both"} and name not in c.flags else None
        return ([_whole(nxt, "tool-password")], 2) if nxt is not None else ([], 1)
    kind = secret_name(name)
    if kind is None and value is None and name in PAIR_PASSWORD_OPTIONS and c.has_user:
        nxt = c.next_value(i)  # -u USER -p PASS, any tool
        if nxt is not None and not _PORTISH.match(nxt.text) and name not in c.flags:
            return [_whole(nxt, "tool-password")], 2
    if name.startswith("/"):  # Windows style: /p:SECRET /password:SECRET
        ok = value is not None and (kind or name.lower() in {"/p", "/pw"}) and is_value(value)
        return ([_part(word, at, "secret-option")] if ok else []), 1
    if kind is not None and (value is not None or name not in c.flags):
        return _secret_option(c, i, kind, value, at)
    segments = _segments(name)
    tool_cred = name in TOOL_CREDENTIALS.get(c.tool, frozenset())
    if kind is None and (tool_cred or (segments and segments[-1] in CREDENTIAL_SEGMENTS)):
        user_group = not tool_cred and segments[-1] in {"u", "user"}
        if value is not None:
            cred = _userpass_part(word, value, at, user_group)
            if cred is not None:
                return [cred], 1
        else:
            nxt = c.next_value(i)
            cred = _userpass_part(nxt, nxt.text, 0, user_group) if nxt is not None else None
            if cred is not None:
                return [cred], 2
    if value is not None and "=" in value:
        return list(_assignments(word, c.every_value)), 1
    return [], 1


def _word_step(c: _Command, i: int) -> _Step:
    """Findings for the word at ``i`` of a command."""
    word = c.words[i]
    text = word.text
    if "<REDACTED:" in text or word.raw.startswith("$"):
        return [], 1
    attached = _attached(text, c.tool_opts, c.flags)
    if attached is not None:
        return [_part(word, attached, "tool-password")], 1
    glued = _glued(text)
    if glued is not None:
        return [_part(word, glued, "secret-option")], 1
    opt = _option(text) if text != "--" else None
    if opt is not None:
        return _option_step(c, i, *opt)
    found = list(_assignments(word, c.every_value)) if "=" in text else []
    cred = _credential_word(word)
    if cred is not None:
        found.append(cred)
    if _SETS_PASSWORD.fullmatch(text):  # grafana-cli admin reset-admin-password NEW
        nxt = c.next_value(i)
        if nxt is not None:
            return [*found, _whole(nxt, "positional-secret")], 2
    return found, 1


# A subcommand that sets a password: a verb, then the secret word (change-password,
# reset-admin-password, set_passphrase); the next word is the new secret.
_SETS_PASSWORD = re.compile(
    r"(?:set|reset|change|update|new|add)[-_](?:[a-z]+[-_])?(?:password|passwd|passphrase)"
)


def _command_findings(cmd: SimpleCommand, conservative: bool) -> Iterator[Finding]:
    words = bashparse.unwrap(cmd.words)
    if not words:
        return
    for assign in cmd.assigns:  # NAME=value before the command (CF_Key=…, ServerPassword=…)
        yield from _assignments(assign, False)
    c = _Command.of(words)
    i = 1
    done: set[int] = set()
    while i < len(words):
        found, used = _word_step(c, i)
        yield from found
        done.update(range(i + 1, i + used))
        i += used
    yield from _positionals(c.tool, words, done)
    if conservative:
        yield from _adjacent(words)


def _attached(text: str, tool_opts: dict[str, str], flags: frozenset[str]) -> int | None:
    """Offset of the value of ``-pSECRET`` when the tool's ``-p`` takes an attached value."""
    if len(text) <= 2 or text[0] != "-" or text[1] == "-":
        return None
    mode = tool_opts.get(text[:2])
    if mode not in {"attached", "both"} or text in flags:
        return None
    value = text[3:] if text[2] == "=" else text[2:]
    if not value or value.startswith("$") or "<REDACTED:" in value or placeholder(value):
        return None
    return len(text) - len(value)


_GLUED_RE = re.compile(
    r"^--?(?:password|passwd|passphrase|token|secret|pass)(?P<val>[^\s=_-].*)$", re.I | re.S
)


def _glued(text: str) -> int | None:
    """``--passwordS3cr3t``: a secret typed straight after the option name, no separator."""
    m = _GLUED_RE.match(text)
    if m is None:
        return None
    value = m.group("val")
    if "=" in value or re.fullmatch(r"[a-z]+(?:[-_][a-z]+)*", value):
        return None  # a longer option name (--passwords, --tokenizer)
    if not (looks_random(value) or re.search(r"[^\w.-]|\d", value)):
        return None
    return m.start("val")


_PORTISH = re.compile(r"^[\d.:\-]+(?:/(?:tcp|udp|sctp))?$|^\d+$")


def _userpass_part(word: Word, value: str, at: int, user_group: bool = False) -> Finding | None:
    """The password part of ``user:pass`` / ``user%pass`` / ``user,pass`` in a value."""
    m = _USERPASS_RE.match(value)
    if m is None or "://" in value:
        return None
    pw = m.group("pw")
    if pw.startswith(("$", "<REDACTED:", "/")) or _PORTISH.match(pw) or placeholder(pw):
        return None
    if user_group and re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", pw):
        return None  # user:group (docker run -u app:app, chown-style), not user:pass
    return _part(word, at + m.start("pw"), "credentials", at + m.end("pw"))


def _positionals(tool: str, words: tuple[Word, ...], done: set[int]) -> Iterator[Finding]:
    for spec in POSITIONALS:
        if spec.tool != tool:
            continue
        texts = [w.text for w in words]
        if spec.keyword:
            for i, t in enumerate(texts[1:-1], 1):
                if t in spec.keyword and is_value(texts[i + 1]) and i + 1 not in done:
                    yield _whole(words[i + 1], "positional-secret")
            continue
        if tool == "htpasswd" and not any(t.startswith("-") and "b" in t for t in texts[1:]):
            continue
        if spec.when and spec.when not in texts:
            continue
        positionals: list[int] = []
        skip = False
        for i in range(1, len(words)):
            t = texts[i]
            if skip:
                skip = False
                continue
            if (t.startswith("-") and len(t) > 1) or re.match(r"/\w+:", t):
                skip = t in spec.takes_value
                continue
            positionals.append(i)
        n = len(spec.path)
        if [texts[i] for i in positionals[:n]] != list(spec.path):
            continue
        rest = positionals[n:]
        flag, fewer = spec.fewer_with
        if len(rest) < (fewer if flag and flag in texts else spec.min_count):
            continue
        for index in spec.indexes:
            if -len(rest) <= index < len(rest):
                target = rest[index]
                if target not in done and is_value(texts[target]):
                    yield _whole(words[target], "positional-secret")


def _adjacent(words: tuple[Word, ...]) -> Iterator[Finding]:
    """Conservative mode (the line did not parse): the word after any secret word."""
    for i, word in enumerate(words[:-1]):
        low = word.text.lower()
        if any(w in low for w in (*STRONG_WORDS, "pass", "pwd")) and is_value(words[i + 1].text):
            yield _whole(words[i + 1], "secret-adjacent")


_FEEDERS = {"echo", "printf", "cat"}
_HEREDOC_OP = re.compile(r"\d*<<-?\s*\S+")


def _stdin_consumer(words: tuple[Word, ...]) -> bool:
    if not words:
        return False
    tool = _tool(words)
    texts = [w.text for w in words[1:]]
    if any(STDIN_OPTION_RE.match(t) for t in texts):
        return True
    if tool == "passwd" and "--stdin" in texts:
        return True
    if texts and texts[-1].startswith("-") and secret_name(texts[-1]) in STRONG_WORDS:
        return True  # `… --password` last, with nothing after it: it reads stdin
    if tool in STDIN_TOOLS:
        path = STDIN_TOOLS[tool]
        return all(p in texts for p in path)
    return False


def _fed_words(words: tuple[Word, ...]) -> list[Word]:
    """The words ``echo``/``printf`` write (options and the printf format's own escapes kept)."""
    tool = _tool(words)
    out = []
    for w in words[1:]:
        if tool == "echo" and re.fullmatch(r"-[neE]+", w.text):
            continue
        if tool == "printf" and w.text in {"--", "-v"}:
            continue
        out.append(w)
    if tool == "printf" and len(out) > 1 and "%" in out[0].text:
        out = out[1:]  # the format; the arguments are the data
    return out


def _sudo_stdin(words: tuple[Word, ...]) -> bool:
    """``sudo -S``: sudo reads the password on stdin."""
    for w in words[1:]:
        if not w.text.startswith("-"):
            return False
        if w.text in {"-S", "--stdin"} or (w.text[1:2] != "-" and "S" in w.text[1:]):
            return True
    return False


def _stdin_findings(text: str, commands: tuple[SimpleCommand, ...]) -> Iterator[Finding]:
    for k, cmd in enumerate(commands):
        words = bashparse.unwrap(cmd.words)
        sudo = _tool(cmd.words) == "sudo" and _sudo_stdin(cmd.words)
        if not (sudo or _stdin_consumer(words)):
            continue
        for op, target in cmd.redirects:  # here-strings and here-documents
            if op == "<<<" and is_value(target.text):
                yield _whole(target, "stdin-secret")
        if any(op.startswith("<<") and op != "<<<" for op, _ in cmd.redirects):
            yield from _heredoc_body(text, cmd)
        if k == 0:
            continue
        prev = commands[k - 1]
        between = _HEREDOC_OP.sub("", text[prev.span[1] : cmd.span[0]])
        if between.strip() not in {"|", "|&"}:
            continue
        pwords = bashparse.unwrap(prev.words)
        if _tool(pwords) == "cat" and any(op in {"<<", "<<-"} for op, _ in prev.redirects):
            yield from _heredoc_body(text, prev)  # cat <<EOF | gh auth login --with-token
            continue
        if _tool(pwords) not in _FEEDERS or _tool(pwords) == "cat":
            continue
        for w in _fed_words(pwords):
            if "<REDACTED:" in w.text or w.raw.startswith("$") or len(w.text) < 5:
                continue  # y, yes, a $VAR: a confirmation or a reference, not a secret
            m = _USERPASS_LINES.match(w.text)
            if m is not None and _tool(words) in {"chpasswd", "chgpasswd"}:
                for line in re.finditer(r"(?:^|\\n|\n)[^\s:]+:(?P<pw>[^\n\\]+)", w.text):
                    yield _part(w, line.start("pw"), "stdin-secret", line.end("pw"))
            else:
                yield _whole(w, "stdin-secret")


def _heredoc_body(text: str, cmd: SimpleCommand) -> Iterator[Finding]:
    """The body of a here-document fed to a secret reader: every line but the delimiter."""
    start = text.find("\n", cmd.span[1] - 1 if cmd.span[1] else 0)
    if start < 0:
        return
    delims = [t.text.strip("'\"-") for op, t in cmd.redirects if op in {"<<", "<<-"}]
    pos = start + 1
    for line in text[pos:].split("\n"):
        if line.strip() in delims:
            break
        if line.strip():
            lead = len(line) - len(line.lstrip())
            yield pos + lead, pos + len(line.rstrip()), "stdin-secret"
        pos += len(line) + 1


def _entropy_findings(commands: Iterable[SimpleCommand], taken: list[Finding]) -> Iterator[Finding]:
    """The high-entropy net over argument words nothing else redacted."""
    for cmd in commands:
        words = bashparse.unwrap(cmd.words)
        for word in words[1:]:
            s, e = word.span
            if any(a < e and s < b for a, b, _ in taken) or "<REDACTED:" in word.text:
                continue
            if word.raw.startswith("$"):
                continue
            text = word.text
            if len(text) < 10:
                continue
            for m in _PIECES.finditer(text):
                piece = m.group()
                token = redact_tokens.known_token(piece) if len(piece) >= 20 else None
                if token is not None:
                    yield _part(word, m.start() + token[0], "known-token", m.start() + token[1])
                elif "@" in piece and not looks_random(piece):
                    head = piece.rsplit("@", 1)[0]
                    if looks_random(head):
                        yield _part(word, m.start(), "high-entropy", m.start() + len(head))
                elif looks_random(piece):
                    yield _part(word, m.start(), "high-entropy", m.end())


# The parts of a word the shape net looks at: split at = , ; ? & and at a ':'
# that is not part of a `digits:token` pair (a Telegram bot token keeps its id).
_PIECES = re.compile(r"\d{8,10}:[\w-]{30,}|[^,=;:?&\s]+(?:@[^,=;:?&\s]+)*")


def findings(text: str) -> list[Finding]:
    """Every secret span the word rules find in one command line.

    A line that does not parse cleanly is also split on whitespace, and those
    words get the conservative rules (the word after a secret word, high entropy),
    so a part tree-sitter could not read is never kept raw for that reason.
    """
    if not may_contain(text):
        return []
    parsed = bashparse.parse(text)
    commands = parsed.commands
    found: list[Finding] = []
    for cmd in commands:
        found.extend(_command_findings(cmd, parsed.errors))
    found.extend(_stdin_findings(text, commands))
    if parsed.errors:
        split = tuple(
            Word(m.group().strip("'\""), m.group(), False, m.span())
            for m in re.finditer(r"\S+", text)
        )
        found.extend(_adjacent(split))
        commands = (*commands, SimpleCommand(split, (), (0, len(text)), "top"))
    found.extend(_entropy_findings(commands, found))
    return [(s, e, r) for s, e, r in found if s < e]


ORDER = {name: i for i, name in enumerate((
    "stdin-secret", "secret-option", "tool-password", "credentials", "secret-assignment",
    "positional-secret", "secret-adjacent", "high-entropy", "known-token",
))}  # fmt: skip


def _r(
    name: str, doc: str, examples: tuple[tuple[str, str], ...], negatives: tuple[str, ...]
) -> WordRule:
    return WordRule(name, doc, examples, negatives)


WORD_RULES: tuple[WordRule, ...] = (
    _r(
        "stdin-secret",
        "what echo/printf/a here-string feeds a command reading a secret on stdin",
        (
            ("echo 9UGqhqQhctD4 | gh auth login --with-token", "9UGqhqQhctD4"),
            ("printf 'ops:Hunter2Secret' | sudo chpasswd", "Hunter2Secret"),
            ("echo 'CSYDmB!S3iwy' | secrethub write team/db", "CSYDmB!S3iwy"),
            ("vault login - <<< s3cretvaulttoken", "s3cretvaulttoken"),
            ("echo -n dbpass-prod-1 | docker secret create db_password -", "dbpass-prod-1"),
        ),
        (
            "echo y | sudo cryptsetup luksFormat /dev/sdb1",
            "echo $TOKEN | gh auth login --with-token",
            "echo hello | grep h",
            "printf '%s\\n' a b | sort",
        ),
    ),
    _r(
        "secret-option",
        "the value of an option whose name carries a secret word",
        (
            ("gitlab-runner register --registration-token aY25V5FDwgN9", "aY25V5FDwgN9"),
            ("lambo new --dbpassword=WDpraFr37Qq app", "WDpraFr37Qq"),
            ("twurl authorize --consumer-secret jMEWdN!QJcb2 --open", "jMEWdN!QJcb2"),
            ("aria2c --ftp-passwd GZqBE8qaKrS ftp://host/f", "GZqBE8qaKrS"),
            ("cewl --auth_pass BDQ9bo!eDqRR https://x", "BDQ9bo!eDqRR"),
            ("npm publish --otp 491823", "491823"),
            ("pdfinfo -upw hLkp8y!L6Wfv /tmp/f.pdf", "hLkp8y!L6Wfv"),
            ("xfreerdp /u:ops /p:xtKTaT#iSYnn /v:host", "xtKTaT#iSYnn"),
            ("ldapdomaindump --user CORP\\ops --passwordtgRwRA+JsYvV host", "tgRwRA+JsYvV"),
            ("keytool -list -keystore ks.jks -storepass changeit-prod", "changeit-prod"),
            (
                "helm repo add internal https://charts --username ops --password Tr0ub4dor&3",
                "Tr0ub4dor",
            ),
        ),
        (
            "dropdb --password database_name",
            "psql --host db1 --username ops --password appdb",
            "mysqldump --user ops --password appdb",
            "nxc smb 10.0.0.2 --password /tmp/passwords.txt",
            "aws secretsmanager describe-secret --secret-id prod/db",
            "ansible-vault view --vault-password-file ~/.vault_pass site.yml",
            "docker login --username ops --password-stdin registry",
            "sort --key=2 data.txt",
            "erl -setcookie cookie_of_remote_node",
            "gocryptfs -passwd /srv/cipher",
            "wget --password=$WGET_PASSWORD https://x/f",
            "kubectl get secret db -o yaml",
        ),
    ),
    _r(
        "tool-password",
        "a tool's own short password option, and -p beside a user option",
        (
            ("7z a /tmp/a.7z -pWKbsDE#ZoDiP /srv/data", "WKbsDE#ZoDiP"),
            ("redis-benchmark -h db1 -p 6379 -a A9su5q#aVVxp", "A9su5q#aVVxp"),
            ("valkey-cli -a kaobAY8RWmW", "kaobAY8RWmW"),
            ("ldapsearch -x -D cn=admin,dc=ex -w Bind-Pass-42 -b dc=ex", "Bind-Pass-42"),
            ("rdesktop -u ops -p HQ86Ss#NjtSw db1", "HQ86Ss#NjtSw"),
            ("enum4linux -u ops -p fR7bYr#MUHTp db1", "fR7bYr#MUHTp"),
            ("mosquitto_pub -h broker -u ops -P s3cret-mqtt -t t -m x", "s3cret-mqtt"),
        ),
        (
            "mysql -u root -p -h db1",
            "ssh -l ops -p 2222 web1",
            "psql -U app -p 5432 appdb",
            "docker run -u 1000 -p 8080:80 nginx",
            "rsync -u -p src/ dst/",
            "7z x archive.7z",
            "redis-cli -p 6380 ping",
            "hydra -l ops -P /usr/share/wordlists/rockyou.txt ssh://h",
        ),
    ),
    _r(
        "credentials",
        "user:pass, user%pass in an auth/user option value, DOMAIN/user:pass@host",
        (
            ("chisel server --auth ops:EeWqip-vTeik", "EeWqip-vTeik"),
            ("smbcacls //h/share /f --user ops%mW4pHC-SYNve", "mW4pHC-SYNve"),
            ("secretsdump.py CORP.LOCAL/ops:szgDGK.zANuy@dc1", "szgDGK.zANuy"),
            ("getTGT.py corp.local/ops:VjoNaS-3pAAk", "VjoNaS-3pAAk"),
            ("mssqlclient.py ops:GErK8t_b4SAD@target", "GErK8t_b4SAD"),
            ("lwp-request -C ops:Eqxv5H-J9hU4 -m GET http://h/", "Eqxv5H-J9hU4"),
            ("cs fetch dep --credentials ops:TzJ5d7_bKkin", "TzJ5d7_bKkin"),
        ),
        (
            "docker run -u app:app alpine id",
            "docker pull registry.example.com/app:v1.2",
            "git show origin/main:README.md",
            "docker run --user 1000:1000 alpine",
            "live-server --proxy=/api:http://localhost:9000",
            "auditctl -a always,exit -F arch=b64",
            "date -u +%Y-%m-%dT%H:%M:%SZ",
            "scp file.txt ops@web1:/tmp/",
            "docker pull nginx:1.25@sha256:0123abcd",
        ),
    ),
    _r(
        "secret-assignment",
        "key=value inside a word whose key names a secret",
        (
            ("ArkServer TheIsland?SessionName=x?ServerPassword=BNMh2m_8skiK", "BNMh2m_8skiK"),
            (
                "qm remote-migrate 1 2 'apitoken=PVEAPIToken=ops@pve!id=RDCGn4@DPhdh,host=h'",
                "RDCGn4@DPhdh",
            ),
            ("nhentai --cookie 'csrftoken=Ra7rvt+g6jvA; sessionid=id'", "Ra7rvt+g6jvA"),
            ("curl 'https://h/api?user=ops&apiToken=Zx81-prod-token'", "Zx81-prod-token"),
            ("fly secrets set DATABASE_URL=postgres-prod-conn", "postgres-prod-conn"),
        ),
        (
            "patator ssh_login host=h user=FILE0 password=FILE1 0=users.txt",
            "aws secretsmanager rotate-secret --rotation-rules AutomaticallyAfterDays=30",
            "terraform apply -var region=eu-west-1",
            "vault write secret/hello value=world",
            "curl 'https://x/api?password=$PW'",
        ),
    ),
    _r(
        "positional-secret",
        "a secret given as a positional argument to a tool known to take one",
        (
            ("mc alias set local https://minio:9000 LWqT5fSigPo SqiRWZ!NMbLr", "SqiRWZ!NMbLr"),
            ("wpa_passphrase HomeWifi ogXQBR+9pCrK", "ogXQBR+9pCrK"),
            ("steam -login ops LGVSm5!BGvyN", "LGVSm5!BGvyN"),
            ("nmcli device wifi connect Home password 'LmECAf+FywXy'", "LmECAf+FywXy"),
            ("create_ap -n wlan0 MyAP X4KRwJ#NTk63", "X4KRwJ#NTk63"),
            ("hsw-cli unlock EsCgmk.Ld9GE 60", "EsCgmk.Ld9GE"),
            ("rabbitmqctl change_password ops Rabbit-Pass-7", "Rabbit-Pass-7"),
            ("networksetup -setairportnetwork en0 Home XENoFo%VoYfY", "XENoFo%VoYfY"),
        ),
        (
            "create_ap wlan0 eth0 MyOpenAP",
            "mc alias list",
            "wpa_passphrase HomeWifi",
            "nmcli device wifi list",
            "vault login -method=oidc",
            "rabbitmqctl list_users",
        ),
    ),
    _r(
        "secret-adjacent",
        "conservative mode (the line does not parse): the word after a secret word",
        (("vendor-cli set password Hunter2Secret (", "Hunter2Secret"),),
        ("echo 'unterminated password",),
    ),
    _r(
        "high-entropy",
        "a word of generated-secret shape in argument position (second net)",
        (
            (
                "aws secretsmanager create-secret --name n --description 2iXrQq-4R5by",
                "2iXrQq-4R5by",
            ),
            ("ganache-cli --account='By8cac-aTXzD,100'", "By8cac-aTXzD"),
            ("tgpt --key 'Y8GwMC_Hfhoi' prompt", "Y8GwMC_Hfhoi"),
            ("deploy-tool --tag x 4f9Q2mZ8kR7tW1bX", "4f9Q2mZ8kR7tW1bX"),
        ),
        (
            "tldr GetUserSPNs.py",
            "dcode NjM3YTQyNzQ1YTQ0NGUzMg",
            "reg query HKLM_SOFTWARE_Microsoft_",
            "arduino --install-library Bridge_1.0.0_Servo_1.2.0",
            "git checkout 3f2a9c1d8e7b",
            "kubectl logs web-7d4b9c8f6-x2x9z",
            "date -u +%Y-%m-%dT%H:%M:%SZ",
            "docker inspect 0123456789abcdef0123",
        ),
    ),
    _r(
        "known-token",
        "a token format detect-secrets knows (Twilio, Discord, Mailchimp, Telegram…)",
        (
            (
                "twilio api:core:messages:list --sid SKa1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6",
                "SKa1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6",
            ),
            (
                "mailchimp-sync a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6-us12",
                "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6-us12",
            ),
            (
                "bot-run 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
                "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
            ),
        ),
        (
            "git log 0123456789abcdef0123456789abcdef01234567",
            "ls /var/lib/docker/overlay2/0123456789abcdef0123456789abcdef",
            "kubectl get pods --selector app.kubernetes.io/name=frontend-v2",
        ),
    ),
)


# The gate: a line with none of these cannot give a word finding, and skips the
# parser and the word loop (most history lines). Keep it in step with the rules.
_GATE_KEYWORDS = re.compile(r"pass|pw|secret|token|key|cred|otp|psk|bearer|cookie|/p:")
_GATE_SHORT = re.compile(r"(?<!\S)-(?:[pPkwNa]|pw)(?=\s)")
_GATE_CRED = re.compile(
    r"(?:user|auth|login|(?<!\S)-[uaCc])[\w-]*[=\s]+['\"]?[\w.\\$-]+[:%]"
    r"|[\w.$-]:[^\s/]+@|[\w.-][/\\][\w.$-]+:[^/]",
    re.I,
)
_TOOLS = frozenset((*TOOL_OPTIONS, *MULTI_VALUE_OPTIONS, *(p.tool for p in POSITIONALS),
                    *STDIN_TOOLS, *(name for name, _ in ALL_VALUES_SECRET)))  # fmt: skip
_CANDIDATE = re.compile(r"[^\s'\"=:,;?&]{10,}")


def may_contain(text: str) -> bool:
    """Cheap test: could any word rule find something in this line?"""
    low = text.lower()
    if _GATE_KEYWORDS.search(low) or "<<" in text:
        return True
    if " -" in text and _GATE_SHORT.search(text):
        return True
    if (":" in text or "%" in text) and _GATE_CRED.search(text):
        return True
    words = text.split()
    if not _TOOLS.isdisjoint(words) or any(
        w.rsplit("/", 1)[-1] in _TOOLS for w in words if "/" in w
    ):
        return True
    return any(
        (low != text and looks_random(m.group()))
        or (len(m.group()) >= 20 and redact_tokens.candidate(m.group()))
        for m in _CANDIDATE.finditer(text)
    )
