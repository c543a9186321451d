"""Bind variable values into a command line, so the guard judges it as it will run.

The guard reads text, and ``rm -rf -- "${DIR:?}"`` is harmless text until ``DIR``
is ``/etc``. :func:`bind` rewrites each expansion of a variable whose value is
known into the literal it stands for, with bash's quoting rules:

- inside double quotes (and unquoted here-documents) the value is one literal
  piece of the word: ``\\``, ``"``, ``$`` and backquotes are escaped;
- unquoted, bash splits it on blanks and its glob characters stay live, so the
  bound text does the same: blanks become word breaks, ``* ? [ ]`` stay, every
  other character is escaped (a value ``~`` or ``{a,b}`` stays literal, as the
  shell expands tildes and braces before parameters).

A value is therefore never code in the bound text (``$(rm -rf /)`` as a value
stays data, exactly as when bash runs it), and the guard sees the words the
command will really get. Forms whose result is not computed here (``${X#pat}``,
``${X/a/b}``, ``${!X}``, substrings, case changes, a default taken because the
value is empty) are left as written and reported as ``opaque``: the guard judges
them as it always did, as values only known at run time.

Pure: no I/O. The tree comes from :func:`reifier.core.bashparse.syntax_tree`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from reifier.core.bashparse import syntax_tree

_EXPANSIONS = frozenset({"simple_expansion", "expansion"})
_STOP = frozenset({"command_substitution", "process_substitution", "program"})
#: characters that stay as they are in an unquoted bound value (globs stay live)
_PLAIN = re.compile(r"[A-Za-z0-9_./:@%+,=*?\[\]-]")
_BLANKS = re.compile(r"[ \t\n]+")
_HAS_REF = re.compile(r"\$\{?[#!]?[A-Za-z_]")


@dataclass(frozen=True)
class Bound:
    """A command with known values bound in: which names were bound, which were not."""

    text: str
    used: tuple[str, ...] = ()  # names whose value now stands in the text
    opaque: tuple[str, ...] = ()  # known names used in a form left as written


def references(command: str) -> frozenset[str]:
    """Return the names of the variables ``command`` expands (``$X``, ``${X…}``)."""
    if not _HAS_REF.search(command):
        return frozenset()
    return _references(command)


@lru_cache(maxsize=4096)
def _references(command: str) -> frozenset[str]:
    data, root = syntax_tree(command)
    names = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _EXPANSIONS:
            name = _name(node, data)
            if name:
                names.add(name)
        stack.extend(node.children)
    return frozenset(names)


def assigned(command: str) -> frozenset[str]:
    """Return the names ``command`` itself sets (``X=…``, ``for X in``, ``read X``…).

    Their values before the command runs say nothing about their values inside
    it, so :func:`bind` leaves them alone (judged as unknown, as before).
    """
    if "=" not in command and not re.search(r"\b(for|read|select)\b", command):
        return frozenset()
    return _assigned(command)


@lru_cache(maxsize=4096)
def _assigned(command: str) -> frozenset[str]:
    data, root = syntax_tree(command)
    names: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type in ("variable_assignment", "for_statement", "select_statement"):
            name = next((c for c in node.children if c.type == "variable_name"), None)
            if name is not None:
                names.add(data[name.start_byte:name.end_byte].decode("utf-8", "replace"))
        elif node.type == "command":
            words = [data[c.start_byte:c.end_byte].decode("utf-8", "replace")
                     for c in node.children if c.type in ("command_name", "word")]
            if words and words[0] in ("read", "mapfile", "readarray", "getopts", "printf"):
                names.update(w for w in words[1:] if re.fullmatch(r"[A-Za-z_]\w*", w))
    return frozenset(names)


def bind(command: str, values: Mapping[str, str]) -> Bound:
    """Return ``command`` with every computable expansion of a name in ``values`` bound.

    Names the command assigns itself are not bound (see :func:`assigned`).
    """
    if not values:
        return Bound(command)
    names = (references(command) & values.keys()) - assigned(command)
    if not names:
        return Bound(command)
    return _bind(command, tuple(sorted((n, values[n]) for n in names)))


@lru_cache(maxsize=4096)
def _bind(command: str, items: tuple[tuple[str, str], ...]) -> Bound:
    values = dict(items)
    source = command.encode("utf-8", "surrogatepass")
    data, root = syntax_tree(command)
    edits: list[tuple[int, int, str]] = []
    used: list[str] = []
    opaque: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type not in _EXPANSIONS:
            stack.extend(node.children)
            continue
        name = _name(node, data)
        if name not in values:
            stack.extend(node.children)
            continue
        value = _value(node, data, values[name])
        if value is None:
            opaque.append(name)
            stack.extend(node.children)  # ${X:-$DIR}: the inner DIR can still be bound
            continue
        edits.append((node.start_byte, node.end_byte, _render(value, _context(node))))
        used.append(name)
    if not edits:
        return Bound(command, (), tuple(dict.fromkeys(opaque)))
    out = bytearray(source)
    for start, end, text in sorted(edits, reverse=True):
        out[start:end] = text.encode("utf-8", "surrogatepass")
    return Bound(out.decode("utf-8", "surrogatepass"), tuple(dict.fromkeys(used)),
                 tuple(dict.fromkeys(opaque)))


def _name(node: Node, data: bytes) -> str:
    for child in node.children:
        if child.type == "variable_name":
            return data[child.start_byte:child.end_byte].decode("utf-8", "replace")
    return ""


def _value(node: Node, data: bytes, value: str) -> str | None:
    """Return what the expansion yields for ``value``, or None when not computed here."""
    if node.type == "simple_expansion":
        return value
    parts = [c.type for c in node.children if c.type not in ("${", "}")]
    if parts == ["variable_name"]:
        return value
    if parts == ["#", "variable_name"]:
        return str(len(value))
    if len(parts) >= 2 and parts[0] == "variable_name":
        op = parts[1]
        if op in ("?", "-", "="):
            return value  # set: the value itself, even when empty
        if op in (":?", ":-", ":="):
            return value if value else None  # empty: an error or the default
        if op in (":+", "+") and len(parts) == 2:
            return ""
        if op == ":+" and not value:
            return ""
    return None


def _context(node: Node) -> str:
    """Say how bash quotes the expansion: ``dq``, ``heredoc``, ``assign`` or ``bare``."""
    parent = node.parent
    while parent is not None and parent.type not in _STOP:
        if parent.type == "string":
            return "dq"
        if parent.type == "heredoc_body":
            return "heredoc"
        if parent.type == "variable_assignment":
            return "assign"
        parent = parent.parent
    return "bare"


def _render(value: str, context: str) -> str:
    if context == "dq":
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if context == "heredoc":
        return re.sub(r"([\\$`])", r"\\\1", value)
    if context == "assign":  # no word splitting in an assignment
        return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'
    words = [w for w in _BLANKS.split(value) if w]
    return " ".join("".join(ch if _PLAIN.fullmatch(ch) else "\\" + ch for ch in w)
                    for w in words)
