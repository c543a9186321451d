"""Which shell sessions an alert belongs to: by evidence, never by time overlap alone.

An alert that is still firing overlaps every session of the day. Linking it to
all of them gave an unrelated disk clean-up the health-probe alert as its title
and ``alerts:`` matcher, and then that alert matched the wrong runbook. A
session is linked to an overlapping alert only when it shows a connection:

- the same host: ``instance``/``host``/``hostname``/``node`` names the host the
  session ran on (ports and domain suffixes ignored);
- a label value the session's commands touch: ``service``, ``job``, ``pod``,
  ``namespace``, ``deployment``, ``container``, ``app``, ``unit``… appears as
  a word of a command (``systemctl restart nginx`` for ``service=nginx``);
- the alert's text among the log lines the session read (the caller passes
  those lines).

Pure: the caller supplies the session's host, commands and log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

HOST_LABELS = ("instance", "host", "hostname", "node", "nodename", "server")
TOUCH_LABELS = ("service", "job", "pod", "namespace", "deployment", "statefulset",
                "daemonset", "container", "app", "application", "unit", "component",
                "database", "db", "queue", "topic", "volume", "device", "mountpoint",
                "instance", "host")
#: label values too generic to say anything about one session
GENERIC = frozenset({"node", "default", "true", "false", "prod", "production", "main",
                     "staging", "dev", "test", "local", "localhost", "linux", "all",
                     "none", "unknown", "critical", "warning", "info", "page"})
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@-]*")


def _host_name(value: str) -> str:
    """``web-1.example.com:9100`` → ``web-1`` (an IPv6 literal or IP stays whole)."""
    text = value.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if re.fullmatch(r"[0-9.]+(:\d+)?", text):
        return text.split(":", 1)[0]
    return text.split(":", 1)[0].split(".", 1)[0]


def _words(commands: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for command in commands:
        for word in _WORD.findall(command):
            low = word.lower().rstrip(".:")
            out.add(low)
            out.update(part for part in re.split(r"[/:=@]", low) if part)
    return out


def evidence(labels: Mapping[str, str], annotations: Mapping[str, str], *, host: str,
             commands: Sequence[str], log_lines: Sequence[str] = ()) -> str:
    """Say why the session belongs to the alert ('' when nothing connects them)."""
    mine = _host_name(host) if host else ""
    for key in HOST_LABELS:
        value = labels.get(key, "")
        if value and mine and _host_name(value) == mine:
            return f"same host ({key}={value})"
    words = _words(commands)
    for key in TOUCH_LABELS:
        value = labels.get(key, "").strip()
        base = _host_name(value) if key in HOST_LABELS else value.lower()
        if len(base) >= 3 and base not in GENERIC and base in words:
            return f"the session's commands touch {key}={value}"
    texts = [t for t in (annotations.get("summary", ""), annotations.get("description", ""))
             if len(t.strip()) >= 12]
    for line in log_lines:
        for text in texts:
            if text.strip().lower() in line.lower():
                return "the alert's text is in a log line the session read"
    return ""
