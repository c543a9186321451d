"""The tables that say what varies in a log line: prefixes, spans and masks.

Data only (each rule with an example a parametrized test checks); the matching
machinery that compiles and runs them lives in :mod:`reifier.core.patterns`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        "syslog",
        "[<A-S]",
        rf"(?:<\d{{1,3}}>)?{_MON} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ",
        "Nov 24 10:00:00 db1 sshd[4242]: Accepted publickey for git",
        "Accepted publickey for git",
    ),
    PrefixRule(
        "syslog_iso",
        "[0-9]",
        rf"{_ISO} \S+ (?:[^\s:\[]+\[\d+\]|kernel): ",
        "2023-11-24T10:00:00.123+00:00 web-1 nginx[77]: worker exited",
        "worker exited",
    ),
    PrefixRule(
        "postgresql",
        "[0-9]",
        rf"{_ISO}(?: {_ZONE})? \[\d+\](?:-\d+)? (?:[\w.-]*@[\w.-]* )?",
        "2023-11-24 10:00:00.123 UTC [812] app@orders ERROR:  deadlock detected",
        "ERROR:  deadlock detected",
    ),
    PrefixRule(
        "mysql",
        "[0-9]",
        rf"{_ISO} \d+ \[(?:System|Warning|ERROR|Note)\] \[MY-\d+\] \[\w+\] ",
        "2024-01-05T10:00:00.123456Z 12 [ERROR] [MY-012681] [InnoDB] mmap failed",
        "mmap failed",
    ),
    PrefixRule(
        "klog",
        "[IWEF]",
        r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+:\d+\] ",
        "E1124 10:00:00.123456    1234 kubelet.go:2855] Error syncing pod",
        "Error syncing pod",
    ),
    PrefixRule(
        "kubectl_events",
        "[a-z0-9<]",
        r"(?:[a-z0-9-]+\s+)?(?:\d+[smhd](?:\d+[smh])?|<unknown>)\s+(?:Normal|Warning)\s+\w+\s+\S+/\S+\s+",
        "3m  Warning  BackOff  pod/web-7d9f8b6c5d-x2x7k  Back-off restarting failed container",
        "Back-off restarting failed container",
    ),
    PrefixRule(
        "kubectl_describe",
        "[NW]",
        r"(?:Normal|Warning)\s+\w+\s+(?:[\dsmhd]+(?: \(x\d+ over [\dsmhd]+\))?|<unknown>)\s+\S+\s+",
        "Warning  Unhealthy  2m (x4 over 5m)  kubelet  Liveness probe failed",
        "Liveness probe failed",
    ),
    PrefixRule(
        "hdfs",
        "[0-9]",
        rf"\d{{6}} \d{{6}} \d+ {_LEVELS} ",
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: Received block",
        "dfs.DataNode$PacketResponder: Received block",
    ),
    PrefixRule(
        "iso_timestamp",
        r"[\[0-9]",
        rf"\[?{_ISO}(?: ?{_ZONE})?\]?:?\s+",
        "2015-10-18 18:01:47,978 org.apache.hadoop.Foo: started",
        "org.apache.hadoop.Foo: started",
    ),
    PrefixRule(
        "log4j_level_thread",
        "[A-Z]",
        rf"{_LEVELS}\s+\[[^\]]*\]\s+(?:-\s+)?",
        "WARN [main] org.apache.hadoop.Foo: started",
        "org.apache.hadoop.Foo: started",
    ),
    PrefixRule(
        "nginx_timestamp",
        "[0-9]",
        r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ",
        "2023/11/24 10:00:00 open() failed",
        "open() failed",
    ),
    PrefixRule(
        "nginx_level",
        r"\[",
        r"\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: (?:\*\d+ )?",
        "[error] 31#31: *7 open() failed",
        "open() failed",
    ),
    PrefixRule(
        "bracketed",
        r"\[",  # [ERROR], [main], [pid 1:tid 2], [client 1.2.3.4], [ 123.4], dates
        r"\[[^\]\n]{1,100}\]:?\s+",
        "[Fri Dec 16 01:46:23 2005] [core:error] [pid 1234:tid 5678] AH00037: Symbolic link",
        "AH00037: Symbolic link",
    ),
)

SPANS: tuple[SpanRule, ...] = (
    # HTTP status codes after a request line are what tells access-log errors apart
    SpanRule(
        "", "result '", r"result ('[a-z-]+')", "Failed with result 'exit-code'.", "'exit-code'"
    ),
    SpanRule("", "HTTP/", r'HTTP/[\d.]+" (\d\d\d)(?= )', '"GET / HTTP/1.1" 502 157', "502"),
    # a request line stays words in access logs (method and status tell errors apart),
    # but in an error log's "request:" field it is just the request that failed
    SpanRule(
        "STR",
        'request: "',
        r'request: ("[^"\n]{0,200}")',
        'request: "GET / HTTP/1.1", host',
        '"GET / HTTP/1.1"',
    ),
    # not after "=": logfmt's msg="..." is the message itself, not a value in it
    SpanRule(
        "STR",
        '"',
        rf'("(?<![\w"=]")(?!{_HTTP_METHOD} )[^"\n]{{0,200}}")',
        'role "alice" does not exist',
        '"alice"',
    ),
    SpanRule(
        "STR",
        "'",
        r"('(?<![\w'=]')[^'\n]{0,200}'(?!\w))",
        "open file 'my data.csv' failed",
        "'my data.csv'",
    ),
    SpanRule(
        "USER",
        "for ",
        r"for (?<!\wfor )(?!invalid |user )([\w.@$-]+)(?= from\b| by\b|$)",
        "Accepted publickey for deploy from 10.0.0.2",
        "deploy",
    ),
    SpanRule(
        "USER",
        "ser ",
        r"[Uu]ser (?<![\w-][Uu]ser )(?!unknown\b)([\w.@$-]+)",
        "Invalid user oracle from 10.0.0.9",
        "oracle",
    ),
    SpanRule(
        "USER", " - ", r" - ([\w.@-]+)(?= \[)", "10.0.0.1 - frank [24/Nov/2023:10:00:00", "frank"
    ),
    # rules start with literal text where they can: the regex engine then skips ahead fast
    SpanRule(
        "NS",
        "_",
        r"_(?<=[a-z0-9]_)([a-z0-9][a-z0-9-]*)\([0-9a-f]{8}-",  # name_ns(uid)
        "in pod web-0_payments(8a3f1c2e-1b2c-4d5e-8f90-123456789abc)",
        "payments",
    ),
    SpanRule("NAME", "task ", r"task ([\w./-]+)(?=:\d)", "INFO: task java:4242 blocked", "java"),
    SpanRule(
        "NAME",
        "comm ",
        r"comm (?<![\w-]comm )([\w./-]+)(?=:)",
        "inode #2: comm java: reading",
        "java",
    ),
    SpanRule(
        "NAME",
        "]: ",
        r"(?<![\w.-])([A-Za-z_][\w.-]*)\[\d+\]: ",
        "kernel: java[77]: segfault",
        "java",
    ),
    SpanRule("NAME", "[", r"\[([A-Za-z_][\w.-]*):\d+\]", "CPU#3 stuck for 23s! [java:77]", "java"),
    SpanRule(
        "NAME",
        "ontainer ",
        r"[Cc]ontainer (?<![\w-][Cc]ontainer )([a-z0-9][a-z0-9-]*)(?=[ ,.]|$)",
        "Back-off restarting failed container sidecar in pod",
        "sidecar",
    ),
    # a size whose unit is a separate word, which may change between instances
    # ("93.0 B" in one line, "317.1 KB" in the next)
    SpanRule(
        "SIZE",
        "B",
        r"(?<![\w.])(\d+(?:\.\d+)? (?:[KkMGTPE]i?B|B))(?![\w.-])",
        "estimated size 93.0 B, free 317.1 KB",
        "93.0 B",
    ),
    *(
        SpanRule(
            "VALUE",
            f"{key}: ",
            rf"{key}: (?<![\w-]{key}: )([^\s,;)\]]+)",
            f"x, {key}: web, y",
            "web",
        )
        for key in ("client", "server", "host", "user")
    ),
)

_VALUE_KEYS = (  # key=value pairs whose value varies between instances
    "user",
    "ruser",
    "logname",
    "login",
    "username",
    "rhost",
    "tty",
    "task",
    "comm",
    "container",
    "pod",
    "namespace",
    "db",
    "database",
    "app",
    "session",
    "node",
)

MASKS: tuple[MaskRule, ...] = (
    MaskRule("*", r"<\*>|<[A-Z]{2,12}>", "for <*> from", "<*>"),
    MaskRule(
        "TS",
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?",
        "at 2023-11-24T10:00:00.123Z retry",
        "2023-11-24T10:00:00.123Z",
    ),
    MaskRule(
        "TS",
        rf"\d\d/{_MON}/\d{{4}}:\d\d:\d\d:\d\d",
        "[24/Nov/2023:10:00:00 +0000]",
        "24/Nov/2023:10:00:00",
    ),
    MaskRule(
        "TS",
        r"\d{4}[-/]\d\d[-/]\d\d|" + _B + r"\d{1,2}:\d\d:\d\d(?:[.,]\d+)?Z?" + _E,
        "expired 2023/11/24 at 10:00:01",
        "2023/11/24",
    ),
    MaskRule(
        "TS",
        rf"(?<![A-Za-z]){_MON}(?![A-Za-z])|(?<![A-Za-z]){_DAY}(?![A-Za-z])",
        "since Fri Nov 24",
        "Fri",
    ),
    MaskRule(
        "UUID",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "pod_ns(8a3f1c2e-1b2c-4d5e-8f90-123456789abc)",
        "8a3f1c2e-1b2c-4d5e-8f90-123456789abc",
    ),
    MaskRule(
        "MAC",
        _B + r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}" + _E,
        "from 00:1a:2b:3c:4d:5e on",
        "00:1a:2b:3c:4d:5e",
    ),
    MaskRule(
        "URL",
        r"[A-Za-z][\w+.-]*://[^\s\"'<>,)\]]+",
        "upstream: http://10.0.0.1:8080/api/v1, host",
        "http://10.0.0.1:8080/api/v1",
    ),
    MaskRule(
        "EMAIL",
        r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
        "mail to ops@example.com bounced",
        "ops@example.com",
    ),
    MaskRule(
        "IMAGE",
        r"(?<![\w./-])[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?/[\w./-]+(?::[\w.-]+)?"
        r"(?:@sha256:[0-9a-f]{64})?",
        "docker.io/library/nginx:1.25.3: not found",
        "docker.io/library/nginx:1.25.3",
    ),
    MaskRule(
        "IP",
        r"(?<![\w:.])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
        r"|(?<![\w:.])(?:[0-9a-fA-F]{1,4}:){1,7}(?::[0-9a-fA-F]{1,4}){1,7}(?![\w:])"
        r"|(?<![\w:.])::(?:[fF]{4}:)?[0-9a-fA-F.:]*[0-9a-fA-F](?![\w:])",
        "from 2001:db8::8a2e:370:7334 port 22",
        "2001:db8::8a2e:370:7334",
    ),
    MaskRule(
        "IP", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}" + _E, "from 192.168.10.5 port 22", "192.168.10.5"
    ),
    MaskRule(
        "PATH",
        r"(?<![\w.:/~-])(?:~|\.{1,2})?/[^\s\"'<>()\[\]{},;:]*",
        "open /var/lib/pgsql/data/pg_wal/0001: no",
        "/var/lib/pgsql/data/pg_wal/0001",
    ),
    MaskRule(
        "PATH",
        r"(?<![\w.:/~-])[\w.-]+(?:/[\w.-]+)+\.[A-Za-z0-9]{1,8}(?![\w/])",
        "before headers: cgi-bin/report.cgi",
        "cgi-bin/report.cgi",
    ),
    # name/name where a part has a digit, "_" or "-": backend/server, namespace/pod
    MaskRule(
        "NAME",
        r"(?<![\w./-])(?=[\w.-]*[\d_-][\w.-]*/|[\w.-]*/[\w.-]*[\d_-])"
        r"[A-Za-z_][\w.-]*/[\w.-]+(?![\w/])",
        "Server app_backend/web1 is DOWN",
        "app_backend/web1",
    ),
    MaskRule(
        "HOST",
        r"(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]"
        r"(?![\w-])(?!\.\w)",
        "resolve api.example.com failed",
        "api.example.com",
    ),
    MaskRule(
        "POD",
        rf"(?<![\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:-{_SAFE}{{6,10}})?-{_SAFE}{{5}}"
        r"(?![A-Za-z0-9-])",
        "pod web-7d9f8b6c5d-x2x7k_ns started",
        "web-7d9f8b6c5d-x2x7k",
    ),
    MaskRule(
        "DEV",
        r"(?<![\w.-])(?:x?vd[a-z]{1,2}\d*|sd[a-z]{1,2}\d*|nvme\d+n\d+(?:p\d+)?"
        r"|mmcblk\d+(?:p\d+)?|md\d+|dm-\d+|loop\d+|eth\d+|en[ops]\d+\w*|wlan\d+|bond\d+"
        r"|veth[0-9a-f]+|cni\d+|docker\d+|tun\d+)(?![\w-])",
        "I/O error, dev sdb1, sector 8",
        "sdb1",
    ),
    MaskRule(
        "DURATION",
        _B
        + r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)){2,}"
        + _E
        + "|"
        + _B
        + r"\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|d)"
        + _E,
        "request took 1m30.5s to finish",
        "1m30.5s",
    ),
    MaskRule(
        "SIZE",
        _B + r"\d+(?:\.\d+)?(?:[KMGTP]i?B|[KMGTPE]i|kB|[kKMGT]|B|bytes)" + _E,
        "anon-rss:8123456kB, file-rss:0kB",
        "8123456kB",
    ),
    MaskRule(
        "HEX",
        _B + r"(?:0x[0-9a-fA-F]+|(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{6,}"
        r"|(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\d)[0-9A-F]{8,})" + _E,
        "at RIP 0x7f3a2b1c segfault",
        "0x7f3a2b1c",
    ),
    MaskRule(
        "ID",
        r"(?<![\w.-])(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z0-9]+(?:[_-]+[A-Za-z0-9]+)+"
        r"(?![\w-])(?!\.\w)",
        "host MININT-FNANLI5 down",
        "MININT-FNANLI5",
    ),
    # base64 keys, tokens and hashes: long, mixed case and digits (SHA256:uT3f+Kq...)
    MaskRule(
        "TOKEN",
        r"(?<![\w+/])(?=[\w+/]*\d)(?=[\w+/]*[A-Z])(?=[\w+/]*[a-z])"
        r"[A-Za-z0-9+/]{20,}={0,2}(?![\w+/=])",
        "RSA SHA256:uT3fKq9xYz0AbCdEfGhIjK+lMnOp/qRs ok",
        "uT3fKq9xYz0AbCdEfGhIjK+lMnOp/qRs",
    ),
    MaskRule("NUM", r"(?<![A-Za-z0-9.])[-+]?\d+(?:\.\d+)*" + _E, "exit code 137 after", "137"),
    # an identifier's numeric suffix after a dot: core.862, job.17 (not a version: 1.2)
    MaskRule("NUM", r"(?<=[A-Za-z]\.)\d+" + _E, "generating core.862 done", "862"),
    MaskRule(
        "VALUE",
        "(?:" + "|".join(f"(?<=\\b{k}=)" for k in _VALUE_KEYS) + r")[^\s,;)\]]+",
        "logname= uid=0 user=alice",
        "alice",
    ),
    MaskRule(
        "NAME", r"(?<=\()[A-Za-z_][\w.-]*(?=\))", "Killed process 4242 (java) total-vm", "java"
    ),
)
