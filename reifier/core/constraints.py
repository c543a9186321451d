"""Parameter constraints: what values a runbook's parameters may take, signed with it.

A parameter is data, but what a command does *with* it can be anything:
``rm -rf -- "${DIR:?}"`` is a routine clean-up with ``DIR=/srv/app/cache`` and a
disaster with ``DIR=/etc``. A runbook declares, in ``metadata.reifier.parameters``,
one constraint per parameter (the approval signature covers them)::

    parameters:
      DIR:    {path: {under: [/srv/app/]}}      # absolute, normalised, strictly below
      ACTION: {enum: [plan, apply]}
      NAME:   {pattern: '[a-z0-9-]{1,40}'}      # the whole value must match
      PORT:   {int: {min: 1, max: 65535}}
      HOST:   {host: {in: [db-1, db-2]}}        # or {inventory: FILE}, or {} (syntax only)

Every value a run gets (``-p``, a default, an alert label) is checked before
anything runs. :func:`candidates` gives the values approval tries against the
guard: a hostile set filtered through the constraint plus the constraint's own
representatives, so an unconstrained ``terraform "$ACTION"`` is flagged because
``destroy`` is admitted, and ``{enum: [plan, apply]}`` clears it.

:func:`propose` suggests a constraint for a value lifted from a session (the
draft writes it; the reviewer tightens it). Pure: inventories are read by the
caller and handed in.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reifier.errors import BadInput, Refused

KINDS = ("path", "enum", "pattern", "int", "host")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_GLOB_OR_CONTROL = re.compile(r"[*?\[\]\x00-\x1f\x7f]")

#: values a hostile alert label or a careless ``-p`` could carry: what approval tries
PROBES: tuple[str, ...] = (
    "", "/", "/etc", "/usr", "/var/lib", "~", "*", ".", "..", "/dev/sda", "-rf /", "rm -rf /",
    "--all", "-A", "destroy", "delete", "namespace", "ns", "kube-system", "poweroff",
    "reboot", "0", "-1", "DROP DATABASE prod", "TRUNCATE orders", "DELETE FROM users",
    "-F", "flush", "--force", "-f", "-r", "main", "+main", "root", "-9",
)

HostsOf = Callable[[str], frozenset[str]]


@dataclass(frozen=True)
class Constraint:
    """One parameter's constraint: its kind and its (normalised) settings."""

    kind: str
    under: tuple[str, ...] = ()  # path
    choices: tuple[str, ...] = ()  # enum; host `in`
    pattern: str = ""  # pattern
    low: int | None = None  # int
    high: int | None = None  # int
    inventory: str = ""  # host

    def describe(self) -> str:
        """Say the constraint in a few words (for refusals and the approval prompt)."""
        if self.kind == "path":
            return "a path under " + " or ".join(self.under)
        if self.kind == "enum":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "pattern":
            return f"matching /{self.pattern}/"
        if self.kind == "int":
            bounds = [f">= {self.low}" if self.low is not None else "",
                      f"<= {self.high}" if self.high is not None else ""]
            return " ".join(["an integer", " and ".join(b for b in bounds if b)]).strip()
        where = (f" in {', '.join(self.choices)}" if self.choices
                 else f" in inventory {self.inventory}" if self.inventory else "")
        return f"a host name or address{where}"

    def admits(self, value: str, hosts_of: HostsOf | None = None) -> str | None:
        """Return why ``value`` is refused, or None if the constraint admits it."""
        if self.kind == "path":
            return _path_problem(value, self.under)
        if self.kind == "enum":
            return None if value in self.choices else "not one of the allowed values"
        if self.kind == "pattern":
            return None if re.fullmatch(self.pattern, value) else "does not match the pattern"
        if self.kind == "int":
            if not _INT.fullmatch(value):
                return "not an integer"
            number = int(value)
            if (self.low is not None and number < self.low) or (
                    self.high is not None and number > self.high):
                return "out of range"
            return None
        return _host_problem(value, self, hosts_of)


def _path_problem(value: str, under: tuple[str, ...]) -> str | None:
    if not value.startswith("/"):
        return "not an absolute path"
    if _GLOB_OR_CONTROL.search(value):
        return "contains glob or control characters"
    norm = posixpath.normpath(value)
    if norm != value.rstrip("/") or value.startswith("//"):
        return f"not a normalised path (it resolves to {norm})"
    for prefix in under:
        root = posixpath.normpath(prefix)
        if norm.startswith(root.rstrip("/") + "/") and norm != root:
            return None
    return "not under " + " or ".join(under)


def _host_problem(value: str, c: Constraint, hosts_of: HostsOf | None) -> str | None:
    if not _host_syntax(value):
        return "not a host name or IP address"
    if c.choices and value not in c.choices:
        return "not one of the allowed hosts"
    if c.inventory:
        if hosts_of is None:
            return f"inventory {c.inventory} is not available here"
        if value not in hosts_of(c.inventory):
            return f"not in inventory {c.inventory}"
    return None


def _host_syntax(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if not value or len(value) > 253:
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in value.rstrip(".").split("."))


# --- reading the metadata ----------------------------------------------------------


def parse(raw: Any) -> dict[str, Constraint]:
    """Read ``metadata.reifier.parameters``; raise BadInput naming what is malformed."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BadInput("metadata reifier.parameters must map parameter names to constraints")
    return {str(name): _one(str(name), spec) for name, spec in raw.items()}


def _one(name: str, spec: Any) -> Constraint:
    where = f"parameter {name}"
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise BadInput(f"{where}: a constraint is one of {', '.join(KINDS)} "
                       "(e.g. {path: {under: [/srv/app/]}})")
    kind, body = next(iter(spec.items()))
    if kind == "enum":
        if not isinstance(body, list) or not body:
            raise BadInput(f"{where}: enum takes a non-empty list of values")
        return Constraint("enum", choices=tuple(str(v) for v in body))
    if kind == "pattern":
        if not isinstance(body, str) or not body:
            raise BadInput(f"{where}: pattern takes a regular expression")
        try:
            re.compile(body)
        except re.error as exc:
            raise BadInput(f"{where}: bad pattern {body!r}: {exc}") from None
        return Constraint("pattern", pattern=body)
    body = {} if body is None else body
    if not isinstance(body, Mapping):
        raise BadInput(f"{where}: {kind} takes a mapping of settings")
    if kind == "path":
        under = body.get("under")
        under = [under] if isinstance(under, str) else under
        if not isinstance(under, list) or not under or not all(
                isinstance(u, str) and u.startswith("/") and posixpath.normpath(u) != "/"
                for u in under):
            raise BadInput(f"{where}: path needs under: an absolute directory other than / "
                           "(or a list of them)")
        return Constraint("path", under=tuple(under))
    if kind == "int":
        low, high = body.get("min"), body.get("max")
        if not all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                   for v in (low, high)):
            raise BadInput(f"{where}: int takes integer min and max")
        return Constraint("int", low=low, high=high)
    choices, inventory = body.get("in", []), body.get("inventory", "")
    if not isinstance(choices, list) or not isinstance(inventory, str):
        raise BadInput(f"{where}: host takes in: [hosts] and/or inventory: FILE")
    return Constraint("host", choices=tuple(str(h) for h in choices), inventory=inventory)


def check_values(constraints: Mapping[str, Constraint], values: Mapping[str, str],
                 hosts_of: HostsOf | None = None) -> None:
    """Raise Refused for the first value its parameter's constraint does not admit."""
    for name, value in values.items():
        constraint = constraints.get(name)
        if constraint is None:
            continue
        problem = constraint.admits(value, hosts_of)
        if problem is not None:
            raise Refused(f"parameter {name}={value!r} refused: {problem} "
                          f"(its constraint: {constraint.describe()})")


def candidates(constraint: Constraint | None) -> tuple[str, ...]:
    """Return the values approval tries: admitted hostile probes and representatives."""
    if constraint is None:
        return PROBES
    own: list[str] = []
    if constraint.kind == "enum":
        own = list(constraint.choices)
    elif constraint.kind == "path":
        own = [posixpath.normpath(u) + "/x" for u in constraint.under]
    elif constraint.kind == "int":
        own = [str(v) for v in (constraint.low, constraint.high) if v is not None]
    elif constraint.kind == "host":
        own = list(constraint.choices)
    admitted = [p for p in PROBES if constraint.kind != "host" and constraint.admits(p) is None]
    return tuple(dict.fromkeys(own + admitted))


# --- proposals for drafts ----------------------------------------------------------

_NAME_LIKE = "[A-Za-z0-9][A-Za-z0-9@._-]{0,252}"


def propose(name: str, value: str) -> dict[str, Any] | None:
    """Suggest a constraint for a parameter lifted from a session (None: no idea)."""
    if value.startswith("/"):
        norm = posixpath.normpath(value)
        parent = posixpath.dirname(norm)
        if parent.count("/") < 2 or norm != value.rstrip("/"):
            return {"enum": [value]}  # under /var or /etc would be far too broad: pin it
        return {"path": {"under": [parent + "/"]}}
    if name.startswith("PORT") or name.endswith("_PORT"):
        return {"int": {"min": 1, "max": 65535}}
    if name.startswith(("HOST", "IP")) or name.endswith(("_HOST", "_IP")):
        return {"host": {"in": [value]}}
    if re.fullmatch(_NAME_LIKE, value):
        return {"pattern": _NAME_LIKE}
    return None
