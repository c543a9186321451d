"""Error-pattern templates: strip log prefixes, mask variables, build templates.

A runbook's symptom is one example log line. Two data tables turn it into a
template that other instances of the same error share:

* :data:`PREFIXES` - log headers (syslog, ISO timestamps, bracketed levels,
  log4j/klog/HDFS/PostgreSQL/nginx headers, kubectl event columns) that are
  stripped before anything else, because they differ on every line.
* :data:`MASKS` - variables (timestamps, ids, IPs, paths, hosts, pod names,
  numbers, quoted strings, user names...) replaced by typed slots like
  ``<NUM>``. Order matters: at one position the first rule that matches wins.

The template builder (drain3's ``LogMasker`` running the tables as one masking
instruction, then drain3's ``Drain`` clustering) and the per-line :func:`mask`
share the same compiled tables, so a template and a line always tokenize alike.
Tokens are lower-cased words (letters and digits); punctuation only separates them.

Speed (the per-line path): :data:`PREFIXES` are dispatched on the line's first
character; :data:`SPANS` run only when their trigger text occurs; :data:`MASKS`
run per whitespace-separated chunk, memoized; and whole-line results are memoized
under the line with its digits zeroed, since every rule treats digits alike.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from drain3.drain import Drain
from drain3.masking import AbstractMaskingInstruction, LogMasker

from reifier.errors import BadInput


@dataclass(frozen=True)
class PrefixRule:
    """A log header to strip; ``rest`` is what ``example`` keeps after stripping.

    ``first`` is a character class of the characters the header can start with:
    only the rules whose class admits a line's first character are tried.
    """

    name: str
    first: str
    regex: str
    example: str
    rest: str


@dataclass(frozen=True)
class MaskRule:
    """A variable inside one whitespace-separated chunk; ``kind`` names its slot."""

    kind: str
    regex: str
    example: str
    value: str  # the part of ``example`` this rule masks


@dataclass(frozen=True)
class SpanRule:
    """A variable that needs context or may contain spaces; group 1 is what is masked.

    Tried only when ``trigger`` occurs in the line. ``kind`` "" keeps group 1 as
    words instead of masking it (so no later rule masks it either).
    """

    kind: str
    trigger: str
    regex: str
    example: str
    value: str


_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_LEVELS = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)"
_ZONE = r"(?:UTC|GMT|[A-Z]{2,3}[SD]?T)"
# Kubernetes' random-suffix alphabet has no vowels; all digits are allowed here because
# lines that differ only in digit values must mask alike (see mask()).
_SAFE = "[bcdfghjklmnpqrstvwxz0-9]"
_B = r"(?<![A-Za-z0-9.])"  # no letter, digit or dot just before
_E = r"(?![A-Za-z0-9])(?!\.[A-Za-z0-9])"  # and none just after
_HTTP_METHOD = r"(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE|PROPFIND)"

PREFIXES: tuple[PrefixRule, ...] = (
    PrefixRule(
        "syslog", "[<A-S]",
        rf"(?:<\d{{1,3}}>)?{_MON} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ",
        "Nov 24 10:00:00 db1 sshd[4242]: Accepted publickey for git",
        "Accepted publickey for git",
    ),
    PrefixRule(
        "syslog_iso", "[0-9]", rf"{_ISO} \S+ (?:[^\s:\[]+\[\d+\]|kernel): ",
        "2023-11-24T10:00:00.123+00:00 web-1 nginx[77]: worker exited",
        "worker exited",
    ),
    PrefixRule(
        "postgresql", "[0-9]", rf"{_ISO}(?: {_ZONE})? \[\d+\](?:-\d+)? (?:[\w.-]*@[\w.-]* )?",
        "2023-11-24 10:00:00.123 UTC [812] app@orders ERROR:  deadlock detected",
        "ERROR:  deadlock detected",
    ),
    PrefixRule(
        "mysql", "[0-9]", rf"{_ISO} \d+ \[(?:System|Warning|ERROR|Note)\] \[MY-\d+\] \[\w+\] ",
        "2024-01-05T10:00:00.123456Z 12 [ERROR] [MY-012681] [InnoDB] mmap failed",
        "mmap failed",
    ),
    PrefixRule(
        "klog", "[IWEF]", r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+:\d+\] ",
        "E1124 10:00:00.123456    1234 kubelet.go:2855] Error syncing pod",
        "Error syncing pod",
    ),
    PrefixRule(
        "kubectl_events", "[a-z0-9<]",
        r"(?:[a-z0-9-]+\s+)?(?:\d+[smhd](?:\d+[smh])?|<unknown>)\s+(?:Normal|Warning)\s+\w+\s+\S+/\S+\s+",
        "3m  Warning  BackOff  pod/web-7d9f8b6c5d-x2x7k  Back-off restarting failed container",
        "Back-off restarting failed container",
    ),
    PrefixRule(
        "kubectl_describe", "[NW]",
        r"(?:Normal|Warning)\s+\w+\s+(?:[\dsmhd]+(?: \(x\d+ over [\dsmhd]+\))?|<unknown>)\s+\S+\s+",
        "Warning  Unhealthy  2m (x4 over 5m)  kubelet  Liveness probe failed",
        "Liveness probe failed",
    ),
    PrefixRule(
        "hdfs", "[0-9]", rf"\d{{6}} \d{{6}} \d+ {_LEVELS} ",
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: Received block",
        "dfs.DataNode$PacketResponder: Received block",
    ),
    PrefixRule(
        "iso_timestamp", r"[\[0-9]", rf"\[?{_ISO}(?: ?{_ZONE})?\]?:?\s+",
        "2015-10-18 18:01:47,978 org.apache.hadoop.Foo: started",
        "org.apache.hadoop.Foo: started",
    ),
    PrefixRule(
        "log4j_level_thread", "[A-Z]", rf"{_LEVELS}\s+\[[^\]]*\]\s+(?:-\s+)?",
        "WARN [main] org.apache.hadoop.Foo: started",
        "org.apache.hadoop.Foo: started",
    ),
    PrefixRule(
        "nginx_timestamp", "[0-9]", r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ",
        "2023/11/24 10:00:00 open() failed",
        "open() failed",
    ),
    PrefixRule(
        "nginx_level", r"\[",
        r"\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: (?:\*\d+ )?",
        "[error] 31#31: *7 open() failed",
        "open() failed",
    ),
    PrefixRule(
        "bracketed", r"\[",  # [ERROR], [main], [pid 1:tid 2], [client 1.2.3.4], [ 123.4], dates
        r"\[[^\]\n]{1,100}\]:?\s+",
        "[Fri Dec 16 01:46:23 2005] [core:error] [pid 1234:tid 5678] AH00037: Symbolic link",
        "AH00037: Symbolic link",
    ),
)

SPANS: tuple[SpanRule, ...] = (
    # HTTP status codes after a request line are what tells access-log errors apart
    SpanRule("", "result '", r"result ('[a-z-]+')", "Failed with result 'exit-code'.",
             "'exit-code'"),
    SpanRule("", "HTTP/", r'HTTP/[\d.]+" (\d\d\d)(?= )', '"GET / HTTP/1.1" 502 157', "502"),
    # a request line stays words in access logs (method and status tell errors apart),
    # but in an error log's "request:" field it is just the request that failed
    SpanRule("STR", 'request: "', r'request: ("[^"\n]{0,200}")', 'request: "GET / HTTP/1.1", host',
             '"GET / HTTP/1.1"'),
    # not after "=": logfmt's msg="..." is the message itself, not a value in it
    SpanRule("STR", '"', rf'("(?<![\w"=]")(?!{_HTTP_METHOD} )[^"\n]{{0,200}}")',
             'role "alice" does not exist', '"alice"'),
    SpanRule("STR", "'", r"('(?<![\w'=]')[^'\n]{0,200}'(?!\w))", "open file 'my data.csv' failed",
             "'my data.csv'"),
    SpanRule("USER", "for ", r"for (?<!\wfor )(?!invalid |user )([\w.@$-]+)(?= from\b| by\b|$)",
             "Accepted publickey for deploy from 10.0.0.2", "deploy"),
    SpanRule("USER", "ser ", r"[Uu]ser (?<![\w-][Uu]ser )(?!unknown\b)([\w.@$-]+)",
             "Invalid user oracle from 10.0.0.9", "oracle"),
    SpanRule("USER", " - ", r" - ([\w.@-]+)(?= \[)", "10.0.0.1 - frank [24/Nov/2023:10:00:00",
             "frank"),
    # rules start with literal text where they can: the regex engine then skips ahead fast
    SpanRule("NS", "_", r"_(?<=[a-z0-9]_)([a-z0-9][a-z0-9-]*)\([0-9a-f]{8}-",  # name_ns(uid)
             "in pod web-0_payments(8a3f1c2e-1b2c-4d5e-8f90-123456789abc)", "payments"),
    SpanRule("NAME", "task ", r"task ([\w./-]+)(?=:\d)", "INFO: task java:4242 blocked", "java"),
    SpanRule("NAME", "comm ", r"comm (?<![\w-]comm )([\w./-]+)(?=:)",
             "inode #2: comm java: reading", "java"),
    SpanRule("NAME", "]: ", r"(?<![\w.-])([A-Za-z_][\w.-]*)\[\d+\]: ", "kernel: java[77]: segfault",
             "java"),
    SpanRule("NAME", "[", r"\[([A-Za-z_][\w.-]*):\d+\]", "CPU#3 stuck for 23s! [java:77]", "java"),
    SpanRule("NAME", "ontainer ",
             r"[Cc]ontainer (?<![\w-][Cc]ontainer )([a-z0-9][a-z0-9-]*)(?=[ ,.]|$)",
             "Back-off restarting failed container sidecar in pod", "sidecar"),
    *(
        SpanRule("VALUE", f"{key}: ", rf"{key}: (?<![\w-]{key}: )([^\s,;)\]]+)",
                 f"x, {key}: web, y", "web")
        for key in ("client", "server", "host", "user")
    ),
)

_VALUE_KEYS = (  # key=value pairs whose value varies between instances
    "user", "ruser", "logname", "login", "username", "rhost", "tty", "task", "comm",
    "container", "pod", "namespace", "db", "database", "app", "session", "node",
)

MASKS: tuple[MaskRule, ...] = (
    MaskRule("*", r"<\*>|<[A-Z]{2,12}>", "for <*> from", "<*>"),
    MaskRule("TS", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?",
             "at 2023-11-24T10:00:00.123Z retry", "2023-11-24T10:00:00.123Z"),
    MaskRule("TS", rf"\d\d/{_MON}/\d{{4}}:\d\d:\d\d:\d\d",
             "[24/Nov/2023:10:00:00 +0000]", "24/Nov/2023:10:00:00"),
    MaskRule("TS", r"\d{4}[-/]\d\d[-/]\d\d|" + _B + r"\d{1,2}:\d\d:\d\d(?:[.,]\d+)?Z?" + _E,
             "expired 2023/11/24 at 10:00:01", "2023/11/24"),
    MaskRule("TS", rf"(?<![A-Za-z]){_MON}(?![A-Za-z])|(?<![A-Za-z]){_DAY}(?![A-Za-z])",
             "since Fri Nov 24", "Fri"),
    MaskRule("UUID", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
             "pod_ns(8a3f1c2e-1b2c-4d5e-8f90-123456789abc)",
             "8a3f1c2e-1b2c-4d5e-8f90-123456789abc"),
    MaskRule("MAC", _B + r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}" + _E,
             "from 00:1a:2b:3c:4d:5e on", "00:1a:2b:3c:4d:5e"),
    MaskRule("URL", r"[A-Za-z][\w+.-]*://[^\s\"'<>,)\]]+",
             "upstream: http://10.0.0.1:8080/api/v1, host", "http://10.0.0.1:8080/api/v1"),
    MaskRule("EMAIL", r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
             "mail to ops@example.com bounced", "ops@example.com"),
    MaskRule("IMAGE", r"(?<![\w./-])[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?/[\w./-]+(?::[\w.-]+)?"
             r"(?:@sha256:[0-9a-f]{64})?",
             "docker.io/library/nginx:1.25.3: not found", "docker.io/library/nginx:1.25.3"),
    MaskRule("IP", r"(?<![\w:.])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
             r"|(?<![\w:.])(?:[0-9a-fA-F]{1,4}:){1,7}(?::[0-9a-fA-F]{1,4}){1,7}(?![\w:])"
             r"|(?<![\w:.])::(?:[fF]{4}:)?[0-9a-fA-F.:]*[0-9a-fA-F](?![\w:])",
             "from 2001:db8::8a2e:370:7334 port 22", "2001:db8::8a2e:370:7334"),
    MaskRule("IP", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}" + _E, "from 192.168.10.5 port 22",
             "192.168.10.5"),
    MaskRule("PATH", r"(?<![\w.:/~-])(?:~|\.{1,2})?/[^\s\"'<>()\[\]{},;:]*",
             "open /var/lib/pgsql/data/pg_wal/0001: no", "/var/lib/pgsql/data/pg_wal/0001"),
    MaskRule("PATH", r"(?<![\w.:/~-])[\w.-]+(?:/[\w.-]+)+\.[A-Za-z0-9]{1,8}(?![\w/])",
             "before headers: cgi-bin/report.cgi", "cgi-bin/report.cgi"),
    # name/name where a part has a digit, "_" or "-": backend/server, namespace/pod
    MaskRule("NAME", r"(?<![\w./-])(?=[\w.-]*[\d_-][\w.-]*/|[\w.-]*/[\w.-]*[\d_-])"
             r"[A-Za-z_][\w.-]*/[\w.-]+(?![\w/])",
             "Server app_backend/web1 is DOWN", "app_backend/web1"),
    MaskRule("HOST", r"(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]"
             r"(?![\w-])(?!\.\w)", "resolve api.example.com failed", "api.example.com"),
    MaskRule("POD", rf"(?<![\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:-{_SAFE}{{6,10}})?-{_SAFE}{{5}}"
             r"(?![A-Za-z0-9-])", "pod web-7d9f8b6c5d-x2x7k_ns started", "web-7d9f8b6c5d-x2x7k"),
    MaskRule("DEV", r"(?<![\w.-])(?:x?vd[a-z]{1,2}\d*|sd[a-z]{1,2}\d*|nvme\d+n\d+(?:p\d+)?"
             r"|mmcblk\d+(?:p\d+)?|md\d+|dm-\d+|loop\d+|eth\d+|en[ops]\d+\w*|wlan\d+|bond\d+"
             r"|veth[0-9a-f]+|cni\d+|docker\d+|tun\d+)(?![\w-])", "I/O error, dev sdb1, sector 8",
             "sdb1"),
    MaskRule("DURATION", _B + r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)){2,}" + _E + "|" + _B
             + r"\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|d)" + _E,
             "request took 1m30.5s to finish", "1m30.5s"),
    MaskRule("SIZE", _B + r"\d+(?:\.\d+)?(?:[KMGTP]i?B|[KMGTPE]i|kB|[kKMGT]|B|bytes)" + _E,
             "anon-rss:8123456kB, file-rss:0kB", "8123456kB"),
    MaskRule("HEX", _B + r"(?:0x[0-9a-fA-F]+|(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{6,}"
             r"|(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\d)[0-9A-F]{8,})" + _E,
             "at RIP 0x7f3a2b1c segfault", "0x7f3a2b1c"),
    MaskRule("ID", r"(?<![\w.-])(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z0-9]+(?:[_-]+[A-Za-z0-9]+)+"
             r"(?![\w-])(?!\.\w)", "host MININT-FNANLI5 down", "MININT-FNANLI5"),
    # base64 keys, tokens and hashes: long, mixed case and digits (SHA256:uT3f+Kq...)
    MaskRule("TOKEN", r"(?<![\w+/])(?=[\w+/]*\d)(?=[\w+/]*[A-Z])(?=[\w+/]*[a-z])"
             r"[A-Za-z0-9+/]{20,}={0,2}(?![\w+/=])",
             "RSA SHA256:uT3fKq9xYz0AbCdEfGhIjK+lMnOp/qRs ok",
             "uT3fKq9xYz0AbCdEfGhIjK+lMnOp/qRs"),
    MaskRule("NUM", r"(?<![A-Za-z0-9.])[-+]?\d+(?:\.\d+)*" + _E, "exit code 137 after", "137"),
    MaskRule("VALUE", "(?:" + "|".join(f"(?<=\\b{k}=)" for k in _VALUE_KEYS) + r")[^\s,;)\]]+",
             "logname= uid=0 user=alice", "alice"),
    MaskRule("NAME", r"(?<=\()[A-Za-z_][\w.-]*(?=\))", "Killed process 4242 (java) total-vm",
             "java"),
)

_K = TypeVar("_K")
_V = TypeVar("_V")
_SENTINEL_OPEN, _SENTINEL_CLOSE = "\ue000", "\ue001"  # never in real logs, unlike "<" and ">"
# no variable starts right after a letter or digit: testing that once per position
# first skips most positions without trying every rule
_MASK_RE = re.compile(
    "(?<![A-Za-z0-9])(?:" + "|".join(f"(?P<m{i}>{r.regex})" for i, r in enumerate(MASKS)) + ")"
)
_KIND = {f"m{i}": r.kind for i, r in enumerate(MASKS)}
_SPAN_RES = tuple((r.trigger, r.kind, re.compile(r.regex)) for r in SPANS)
_WORD_RE = re.compile(r"[^\W_]+")
_TEMPLATE_TOKEN_RE = re.compile(f"{_SENTINEL_OPEN}([A-Z*]+){_SENTINEL_CLOSE}|[^\\W_]+")
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_NUM_TEXT = f"{_SENTINEL_OPEN}NUM{_SENTINEL_CLOSE}"
_BLOB_TEXT = f"{_SENTINEL_OPEN}BLOB{_SENTINEL_CLOSE}"
_MAX_PREFIXES = 8
_MAX_CHUNK = 256  # longer whitespace-free runs are one BLOB variable
_CHUNK_CACHE_LIMIT = 65_536
_SHAPE_CACHE_LIMIT = 16_384
_SHAPE_VARIANTS_LIMIT = 64


def _prefix_dispatch() -> dict[str, re.Pattern[str]]:
    """Map each ASCII first character to one regex of the prefix rules it can start."""
    by_rules: dict[tuple[int, ...], re.Pattern[str]] = {}
    table: dict[str, re.Pattern[str]] = {}
    for char in map(chr, range(33, 127)):
        picked = tuple(i for i, p in enumerate(PREFIXES) if re.fullmatch(p.first, char))
        if picked:
            if picked not in by_rules:
                by_rules[picked] = re.compile("|".join(f"(?:{PREFIXES[i].regex})" for i in picked))
            table[char] = by_rules[picked]
    return table


_PREFIX_BY_CHAR = _prefix_dispatch()


@dataclass(frozen=True)
class MaskedLine:
    """A line as tokens (lower-cased words, ``<KIND>`` slots) and its variables in order."""

    tokens: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Template:
    """An error pattern: typed-slot text, its tokens, and the example it came from."""

    pattern_id: str
    text: str
    tokens: tuple[str, ...]
    example: str

    @property
    def constants(self) -> tuple[str, ...]:
        """Return the constant (non-slot) tokens in order."""
        return tuple(t for t in self.tokens if not is_slot(t))


def is_slot(token: str) -> bool:
    """Tell whether a token is a variable slot such as ``<NUM>``."""
    return token[:1] == "<"


def strip_prefix(line: str) -> str:
    """Strip the log headers of :data:`PREFIXES` (repeatedly) and surrounding space."""
    body = line.strip()
    for _ in range(_MAX_PREFIXES):
        rx = _PREFIX_BY_CHAR.get(body[:1])
        m = rx.match(body) if rx is not None else None
        if m is None or m.end() == 0:
            break
        body = body[m.end() :]
    return body


_Span = tuple[str, int, int]  # (kind, start, end) of a variable


@dataclass(frozen=True)
class _Chunk:
    """A whitespace-free chunk, masked: offsets are relative to the chunk."""

    tokens: tuple[str, ...]
    variables: tuple[_Span, ...]
    digit_words: tuple[tuple[int, int], ...]  # constant words with digits ("ssh2")
    text: str  # with sentinel-wrapped kinds, for drain3


class _Memo(Generic[_K, _V]):
    """A bounded memo in two generations: when the new one fills up it becomes the old
    one, and entries used since survive, so a flood of one-off lines evicts only itself."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.new: dict[_K, _V] = {}
        self.old: dict[_K, _V] = {}

    def get(self, key: _K) -> _V | None:
        found = self.new.get(key)
        if found is None:
            found = self.old.get(key)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: _K, value: _V) -> None:
        if len(self.new) >= self.limit:
            self.old, self.new = self.new, {}
        self.new[key] = value

    def clear(self) -> None:
        self.new, self.old = {}, {}


_CHUNKS: _Memo[str, _Chunk] = _Memo(_CHUNK_CACHE_LIMIT)


def _chunk(chunk: str) -> _Chunk:
    """Mask one chunk through :data:`MASKS`, memoized: words repeat across lines."""
    found = _CHUNKS.get(chunk)
    if found is None:
        found = _mask_chunk(chunk)
        _CHUNKS.put(chunk, found)
    return found


def _mask_chunk(chunk: str) -> _Chunk:
    if chunk.isascii() and chunk.isdigit():  # the commonest variable, as the NUM rule masks it
        return _Chunk(("<NUM>",), (("NUM", 0, len(chunk)),), (), _NUM_TEXT)
    if len(chunk) > _MAX_CHUNK:  # a blob (base64, minified JSON), and costly to scan
        return _Chunk(("<BLOB>",), (("BLOB", 0, len(chunk)),), (), _BLOB_TEXT)
    tokens: list[str] = []
    variables: list[_Span] = []
    digit_words: list[tuple[int, int]] = []
    text: list[str] = []
    pos = 0
    for m in _MASK_RE.finditer(chunk):
        if m.end() == m.start():
            continue
        kind = _KIND[m.lastgroup or ""]
        if kind == "*":  # a literal placeholder written by a runbook author
            kind = m.group()[1:-1]
        _gap_words(chunk, pos, m.start(), tokens, digit_words)
        tokens.append(f"<{kind}>")
        variables.append((kind, m.start(), m.end()))
        text += (chunk[pos : m.start()], _SENTINEL_OPEN, kind, _SENTINEL_CLOSE)
        pos = m.end()
    _gap_words(chunk, pos, len(chunk), tokens, digit_words)
    text.append(chunk[pos:])
    return _Chunk(tuple(tokens), tuple(variables), tuple(digit_words), "".join(text))


def _gap_words(
    text: str, start: int, end: int, tokens: list[str], digits: list[tuple[int, int]]
) -> None:
    for w in _WORD_RE.finditer(text, start, end):
        word = w.group()
        tokens.append(word.lower())
        if not word.isalpha():
            digits.append((w.start(), w.end()))


def _spans(body: str) -> list[tuple[int, int, str]]:
    """Find the non-overlapping :data:`SPANS` matches: leftmost first, then table order."""
    found: list[tuple[int, int, int, str]] = []
    for order, (trigger, kind, rx) in enumerate(_SPAN_RES):
        if trigger in body:
            found += ((m.start(1), order, m.end(1), kind) for m in rx.finditer(body))
    found.sort()
    picked: list[tuple[int, int, str]] = []
    end = 0
    for start, _, stop, kind in found:
        if start >= end and stop > start:
            picked.append((start, stop, kind))
            end = stop
    return picked


@dataclass(frozen=True)
class _Shape:
    """How a line masks: tokens, variable offsets, and offsets whose text must match too."""

    tokens: tuple[str, ...]
    variables: tuple[_Span, ...]
    checks: tuple[tuple[int, int], ...]  # kept spans and digit-bearing words
    start: int  # where the message starts once prefixes are stripped


def _analyse(line: str) -> _Shape:
    """Mask a line from scratch, keeping offsets into ``line``."""
    body = strip_prefix(line)
    base = len(line.rstrip()) - len(body)
    tokens: list[str] = []
    variables: list[_Span] = []
    checks: list[tuple[int, int]] = []

    def chunks(start: int, end: int) -> None:
        at = start
        for text in body[start:end].split():  # str.split and find: cheaper than a regex
            at = body.find(text, at)
            piece = _CHUNKS.new.get(text) or _chunk(text)
            tokens.extend(piece.tokens)
            if piece.variables or piece.digit_words:
                offset = base + at
                for kind, s, e in piece.variables:
                    variables.append((kind, offset + s, offset + e))
                for s, e in piece.digit_words:
                    checks.append((offset + s, offset + e))
            at += len(text)

    pos = 0
    for start, stop, span_kind in _spans(body):
        chunks(pos, start)
        kind = span_kind
        if kind == "VALUE":  # a key's value: name it by MASKS when one rule covers it whole
            inner = _chunk(body[start:stop])
            if len(inner.variables) == 1 and inner.variables[0][1:] == (0, stop - start):
                kind = inner.variables[0][0]
        if kind:
            tokens.append(f"<{kind}>")
            variables.append((kind, base + start, base + stop))
        else:
            tokens.extend(w.lower() for w in _WORD_RE.findall(body, start, stop))
            checks.append((base + start, base + stop))
        pos = stop
    chunks(pos, len(body))
    return _Shape(tuple(tokens), tuple(variables), tuple(checks), base)


# Lines that differ only in digit values mask alike (every rule treats digits as a
# class), so shapes are memoized under the line with its digits zeroed; the texts at
# ``checks`` (kept status codes, words like "ssh2") tell apart lines sharing that key.
_SHAPES: _Memo[bytes, tuple[tuple[tuple[int, int], ...], dict[tuple[str, ...], _Shape]]] = _Memo(
    _SHAPE_CACHE_LIMIT
)


def _shape(line: str) -> _Shape:
    key = line.encode("utf-8", "surrogatepass").translate(_DIGITS)  # bytes: much faster
    entry = _SHAPES.get(key)
    if entry is not None:
        checks, by_texts = entry
        found = by_texts.get(tuple(line[s:e] for s, e in checks) if checks else ())
        if found is not None:
            return found
    shape = _analyse(line)
    if entry is None:
        entry = (shape.checks, {})
        _SHAPES.put(key, entry)
    if len(entry[1]) >= _SHAPE_VARIANTS_LIMIT:  # e.g. "user42" words that vary every line
        entry[1].clear()
    entry[1][tuple(line[s:e] for s, e in shape.checks)] = shape
    return shape


def clear_caches() -> None:
    """Forget memoized chunks and line shapes (they are rebuilt on demand)."""
    _CHUNKS.clear()
    _SHAPES.clear()


def mask(line: str) -> MaskedLine:
    """Strip prefixes, mask variables and tokenize one log line."""
    shape = _shape(line)
    return MaskedLine(shape.tokens, tuple([(k, line[s:e]) for k, s, e in shape.variables]))


def _masked(line: str) -> str:
    """Return ``line`` prefix-stripped with sentinel-wrapped kinds in place of variables."""
    shape = _analyse(line)
    out: list[str] = []
    pos = shape.start
    for kind, start, end in shape.variables:
        out += (line[pos:start], _SENTINEL_OPEN, kind, _SENTINEL_CLOSE)
        pos = end
    out.append(line[pos:])
    return "".join(out).strip()


def masked_text(line: str) -> str:
    """Return the line as :func:`mask` sees it, with ``<KIND>`` in place of variables."""
    return _masked(line).replace(_SENTINEL_OPEN, "<").replace(_SENTINEL_CLOSE, ">")


class _TableMasking(AbstractMaskingInstruction):  # type: ignore[misc]
    """drain3 masking instruction applying :data:`SPANS` and :data:`MASKS` as :func:`mask` does."""

    def __init__(self) -> None:
        super().__init__("table")

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        text = _masked(content)
        return text.replace(_SENTINEL_OPEN, mask_prefix).replace(_SENTINEL_CLOSE, mask_suffix)


def _template(drain_text: str, example: str) -> Template:
    tokens: list[str] = []
    for m in _TEMPLATE_TOKEN_RE.finditer(drain_text):
        tokens.append(f"<{m.group(1)}>" if m.group(1) else m.group().lower())
    text = drain_text.replace(_SENTINEL_OPEN, "<").replace(_SENTINEL_CLOSE, ">")
    digest = hashlib.blake2b(" ".join(tokens).encode(), digest_size=6).hexdigest()
    return Template(f"p{digest}", text, tuple(tokens), example)


def learn_templates(examples: Iterable[str], *, similarity: float = 0.7) -> tuple[Template, ...]:
    """Cluster example lines with drain3 into templates, one per cluster, in first-seen order.

    Examples of the same length and leading words that share at least ``similarity``
    of their tokens merge into one template with ``<*>`` where they differ.
    """
    # drain3's LogMasker + Drain directly: TemplateMiner would add logging, a config
    # file lookup and persistence, none of which a pure function wants
    masker = LogMasker([_TableMasking()], _SENTINEL_OPEN, _SENTINEL_CLOSE)
    drain = Drain(sim_th=similarity, param_str=f"{_SENTINEL_OPEN}*{_SENTINEL_CLOSE}",
                  parametrize_numeric_tokens=False)  # numbers are masked by the tables already
    first: dict[int, str] = {}
    for example in examples:
        masked = masker.mask(example)
        if not masked.strip():
            raise BadInput(f"empty error pattern: {example!r}")
        cluster, _ = drain.add_log_message(masked)
        first.setdefault(cluster.cluster_id, example)
    clusters = {c.cluster_id: c.get_template() for c in drain.clusters}
    return tuple(_template(clusters[cid], ex) for cid, ex in first.items())


def make_template(example: str) -> Template:
    """Turn one example log line (a runbook symptom) into its template."""
    (template,) = learn_templates([example])
    return template
