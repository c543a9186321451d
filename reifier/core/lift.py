"""Lift values a future run would change into papermill parameters.

A value is lifted when it plays a *role* a responder would vary — a host, an
IP, a service unit, a Kubernetes namespace or deployment, a port, a path under
the data/config trees — never a flag or a subcommand. Each kind of value is a
row in :data:`LIFT_RULES`; a row finds candidate values in one simple command's
argv, and every occurrence of the value as a whole shell word (or path prefix)
is rewritten to ``"$NAME"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reifier.core.classify import simple_commands

Argv = tuple[str, ...]

_IPV4 = re.compile(r"^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$")
_POD = re.compile(r"^(?P<deploy>[a-z0-9][a-z0-9-]*?)-[a-z0-9]{5,10}-[a-z0-9]{4,5}$")
_UNIT = re.compile(r"^[A-Za-z0-9@_.:-]+$")
LIFT_ROOTS = ("/var/", "/srv/", "/etc/", "/opt/", "/data/", "/run/", "/tmp/")  # noqa: S108
_SYSTEMCTL_VERBS = {
    "start",
    "stop",
    "restart",
    "reload",
    "status",
    "enable",
    "disable",
    "is-active",
    "try-restart",
    "reload-or-restart",
    "kill",
    "show",
    "cat",
    "mask",
    "unmask",
}
_LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 - names, not binds


@dataclass(frozen=True)
class LiftRule:
    """One kind of value to lift: its parameter name and how to find it in argv."""

    name: str
    find: Callable[[Argv], list[str]]
    example: str  # a command line
    expect: str  # the value the rule must lift from the example


def _after(argv: Argv, flags: Sequence[str]) -> list[str]:
    out = []
    for i, word in enumerate(argv[:-1]):
        if word in flags:
            out.append(argv[i + 1])
    for word in argv:
        for flag in flags:
            if flag.startswith("--") and word.startswith(flag + "="):
                out.append(word[len(flag) + 1 :])
    return out


def _services(argv: Argv) -> list[str]:
    if argv[:1] == ("systemctl",):
        args = [w for w in argv[1:] if not w.startswith("-")]
        if args and args[0] in _SYSTEMCTL_VERBS:
            return [u for u in args[1:] if _UNIT.match(u)]
    if argv[:1] == ("service",) and len(argv) >= 3:
        return [argv[1]]
    if argv[:1] == ("journalctl",):
        return _after(argv, ["-u", "--unit"])
    return []


_HOST_TOOLS = frozenset(
    {"ssh", "ping", "dig", "nslookup", "host", "traceroute", "mtr", "nc", "telnet"}
)  # their bare arguments are hosts
_URL_TOOLS = frozenset({"scp", "rsync", "curl", "wget"})  # hosts inside URLs or host:path


def _hosts(argv: Argv) -> list[str]:
    if not argv or argv[0] not in _HOST_TOOLS | _URL_TOOLS:
        return []
    found = []
    for word in argv[1:]:
        if word.startswith("-"):
            continue
        host = word
        if "://" in host:
            host = host.split("://", 1)[1].split("/", 1)[0]
        elif argv[0] in {"scp", "rsync"} and ":" in host:
            host = host.split(":", 1)[0]
        elif argv[0] not in _HOST_TOOLS:
            continue
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]
        if host in _LOCAL or _IPV4.match(host) or not _HOSTNAME.match(host):
            continue
        if "." in host or "-" in host or argv[0] == "ssh":
            found.append(host)
    return found[:1]


def _ips(argv: Argv) -> list[str]:
    out = []
    for word in argv[1:]:
        for piece in re.split(r"[@:/=,]", word):
            if _IPV4.match(piece) and piece not in _LOCAL:
                out.append(piece)
    return out


def _namespaces(argv: Argv) -> list[str]:
    return _after(argv, ["-n", "--namespace"]) if argv[:1] in {("kubectl",), ("helm",)} else []


def _deployments(argv: Argv) -> list[str]:
    if argv[:1] != ("kubectl",):
        return []
    out = []
    for i, word in enumerate(argv):
        if word.startswith(("deployment/", "deploy/", "deployments/")):
            out.append(word.split("/", 1)[1])
        elif word in {"deployment", "deploy", "deployments"} and i + 1 < len(argv):
            nxt = argv[i + 1]
            if not nxt.startswith("-"):
                out.append(nxt)
        else:
            pod = _POD.match(word)
            if pod and i > 1:
                out.append(pod.group("deploy"))
    return out


def _ports(argv: Argv) -> list[str]:
    out = [p for p in _after(argv, ["--port", "-p"]) if p.isdigit()] if argv[:1] != ("ssh",) else []
    for word in argv[1:]:
        # host:port or a URL's port (not a time like 10:30: the host needs a letter or dot)
        m = re.search(r"(?:^|//|@)(?=[\w.-]*[A-Za-z.])[\w.-]+:(\d{2,5})(?:/|$)", word)
        if m and 0 < int(m.group(1)) < 65536:
            out.append(m.group(1))
    return out


def _paths(argv: Argv) -> list[str]:
    return [
        w
        for w in argv[1:]
        if w.startswith(LIFT_ROOTS) and "$" not in w and "*" not in w and len(w) > 5
    ]


LIFT_RULES: tuple[LiftRule, ...] = (
    LiftRule("SERVICE", _services, "systemctl restart nginx", "nginx"),
    LiftRule("NAMESPACE", _namespaces, "kubectl -n payments get pods", "payments"),
    LiftRule("DEPLOYMENT", _deployments, "kubectl logs api-7d9f8c6b5d-x2k4p -n prod", "api"),
    LiftRule("HOST", _hosts, "ssh admin@db-01.example.com", "db-01.example.com"),
    LiftRule("IP", _ips, "ping -c1 10.0.3.7", "10.0.3.7"),
    LiftRule("PORT", _ports, "curl -s http://localhost:8080/health", "8080"),
    LiftRule("PATH", _paths, "rm /var/cache/app.lock", "/var/cache/app.lock"),
)


def _path_name(path: str) -> str:
    """Name a path parameter after what it is: LOCK_FILE, LOG_DIR, CONF_FILE..."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    stem, _, ext = base.partition(".")
    kind = {
        "lock": "LOCK_FILE",
        "pid": "PID_FILE",
        "conf": "CONF_FILE",
        "cfg": "CONF_FILE",
        "log": "LOG_FILE",
        "yaml": "CONF_FILE",
        "yml": "CONF_FILE",
        "ini": "CONF_FILE",
        "json": "FILE",
        "sock": "SOCKET",
    }.get(ext.rsplit(".", 1)[-1].lower() if ext else "")
    if kind:
        return kind
    if path.endswith("/") or not ext:
        word = re.sub(r"[^A-Za-z0-9]", "_", stem).upper() or "DATA"
        return f"{word}_DIR"
    return "FILE"


@dataclass(frozen=True)
class Lifted:
    """The parameters found and the cells rewritten to use them."""

    params: tuple[tuple[str, str], ...]  # (NAME, default value), in first-seen order
    sources: tuple[str, ...]


_POD_VERBS = frozenset({"logs", "exec", "describe", "port-forward", "attach", "top"})


def _pods_to_deployments(src: str) -> str:
    """Name a pod by its deployment where kubectl accepts ``deploy/NAME`` for it.

    ``kubectl logs api-7d9f8c6b5d-x2k4p`` only worked for that one pod; ``kubectl
    logs deploy/api`` works next time too. Verbs that change things (delete…) keep
    the literal pod: ``delete deploy/api`` would mean something else entirely.
    """
    for argv in simple_commands(src):
        if argv[:1] != ("kubectl",) or not set(argv[1:3]) & _POD_VERBS:
            continue
        for word in argv[2:]:
            pod = _POD.match(word.removeprefix("pod/").removeprefix("pods/"))
            if pod:
                target = f"deploy/{pod.group('deploy')}"
                src = re.sub(rf"(?:\b(?:pods?|po)\s+)?{re.escape(word)}(?![\w-])", target, src)
    return src


def lift(sources: Sequence[str], reserved: Sequence[str] = ()) -> Lifted:
    """Find liftable values in cell sources and rewrite every use to ``"$NAME"``."""
    sources = [_pods_to_deployments(src) for src in sources]
    chosen: dict[str, str] = {}  # value -> NAME
    taken = set(reserved)
    for src in sources:
        for argv in simple_commands(src):
            for rule in LIFT_RULES:
                for value in rule.find(argv):
                    if value in chosen or not value or "$" in value or len(value) < 2:
                        continue
                    base = _path_name(value) if rule.name == "PATH" else rule.name
                    name, n = base, 2
                    while name in taken:
                        name, n = f"{base}_{n}", n + 1
                    taken.add(name)
                    chosen[value] = name
    # A path under another lifted directory is written with that parameter
    # ("$INVENTORY_DIR"/inventory.conf), not lifted on its own: overriding the
    # directory then moves every path under it, not half of them.
    for value in [v for v in chosen if v.startswith("/")]:
        if any(d != value and d.startswith("/") and value.startswith(d.rstrip("/") + "/")
               for d in chosen):
            del chosen[value]
    for value in [v for v in chosen if v.startswith("/") and v.endswith("/") and len(v) > 1]:
        chosen.setdefault(value.rstrip("/"), chosen[value])  # "$DIR"/file, typed as DIR/file
    # longest values first so /var/cache/app.lock is replaced before /var/cache
    order = sorted(chosen, key=len, reverse=True)
    rewritten = tuple(_rewrite(src, order, chosen) for src in sources)
    # A value that stays literal somewhere the rewrite cannot reach (inside single
    # quotes, a here-document, `sed -i 's/8080/8081/'`) is not a parameter at all:
    # overriding it would apply half a fix.
    partial = {v for v in order if any(_leftover(src, v) for src in rewritten)}
    if partial:
        for value in partial:
            del chosen[value]
        order = [v for v in order if v not in partial]
        rewritten = tuple(_rewrite(src, order, chosen) for src in sources)
    used = {
        name: value
        for value, name in reversed(chosen.items())  # the first-seen spelling wins
        if any(f'"${name}"' in s or f"${{{name}}}" in s for s in rewritten)
    }
    ordered = [(name, value) for value, name in chosen.items() if used.get(name) == value]
    return Lifted(params=tuple(ordered), sources=rewritten)


_WRAPPERS = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "nice", "doas"})


def _leftover(src: str, value: str) -> bool:
    """Tell whether ``value`` stayed literal in a here-document body of ``src``.

    Those bodies (a patch's hunks, a config written with ``cat <<EOF``) cannot
    take a parameter; a diff's ``---``/``+++`` file headers do not count.
    """
    token = re.compile(rf"(?:^|[\s=@:\"'(/,]){re.escape(value)}(?=$|[\s;|&)\"':/,])")
    until: str | None = None
    for line in src.split("\n"):
        if until is not None:
            if line.strip() == until:
                until = None
            elif not line.startswith(("---", "+++")) and token.search(line):
                return True
            continue
        heredoc = _HEREDOC.search(line) if not line.lstrip().startswith("#") else None
        if heredoc:
            until = heredoc.group(2)
    return False


def _command_position(before: str) -> bool:
    """Tell whether the text before a match leaves it as the command word."""
    words = re.split(r"[;|&(]|\$\(", before)[-1].split()
    return all(w in _WRAPPERS or w.startswith("-") or "=" in w for w in words)


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _rewrite(src: str, values: Sequence[str], names: dict[str, str]) -> str:
    """Rewrite values line by line, leaving comments and heredoc bodies literal."""
    if not values:
        return src
    out: list[str] = []
    until: str | None = None
    for line in src.split("\n"):
        if until is not None:
            out.append(line)
            if line.strip() == until:
                until = None
            continue
        if line.lstrip().startswith("#"):
            out.append(line)
            continue
        out.append(_rewrite_line(line, values, names))
        heredoc = _HEREDOC.search(line)
        if heredoc:
            until = heredoc.group(2)
    return "\n".join(out)


def _rewrite_line(src: str, values: Sequence[str], names: dict[str, str]) -> str:
    alternation = "|".join(re.escape(v) for v in values)
    # a value counts only as a whole token: after start, space, quote, = @ : ( or
    # a kubectl "deploy/" prefix; before end, space, an operator, a quote, : / ,
    pattern = re.compile(
        rf"(?:(?P<pre>^|[\s=@:\"'(])|(?<=deploy/)|(?<=deployment/)|(?<=deployments/)|(?<=://))"
        rf"(?P<val>{alternation})(?=$|[\s;|&)\"':/,]|\.(?:service|socket)\b)",
        re.M,
    )

    def repl(m: re.Match[str]) -> str:
        name = names[m.group("val")]
        pre = m.group("pre") or ""
        before = src[: m.start("val")]
        if before.count("'") % 2:  # inside single quotes: close them around the value
            return f"{pre}'\"${name}\"'"
        if _command_position(before):  # `nginx -t` names a program, not the service
            return m.group(0)
        if before.count('"') % 2 or m.group("pre") is None or pre in {":", "@"}:
            token = f"${{{name}}}"
        else:
            token = f'"${name}"'
        return pre + token

    return pattern.sub(repl, src)
