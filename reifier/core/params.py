"""Runbook parameters: names, shell quoting and the ``parameters`` cell.

A parameter value is always data. It reaches bash only as a single-quoted
word (``NAME='value'``), so ``$(...)``, backticks, ``;`` and globs inside a
value stay literal text. The ``parameters``-tagged cell holds the defaults as
plain assignments; :func:`parse_parameters_cell` reads them back.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping
from typing import Any

from reifier.errors import BadInput

# --- names, quoting and the parameters cell (Operator) ------------------------------

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"  # papermill's tag for the cell it inserts
HEADER = "# Parameters"
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*?)[ \t]*$")


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid shell variable name, else raise BadInput."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadInput(f"bad parameter name {name!r}: must match ^{NAME_RE.pattern}$")
    return name


def shell_quote(value: str) -> str:
    """Quote ``value`` as one literal bash word (always single quotes)."""
    if "\x00" in value:
        # bash variables cannot hold NUL; refusing beats silently truncating
        raise BadInput("parameter values cannot contain NUL bytes")
    return "'" + value.replace("'", "'\"'\"'") + "'"


def render_parameters_cell(values: Mapping[str, str]) -> str:
    """Render ``NAME='value'`` lines under a ``# Parameters`` header."""
    lines = [HEADER]
    lines += [f"{validate_name(name)}={shell_quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def _word(raw: str) -> str | None:
    """Return the single literal word ``raw`` denotes, or None if it is not one."""
    if raw == "":
        return ""
    words = shlex.split(raw, comments=False, posix=True)
    return words[0] if len(words) == 1 else None


def parse_parameters_cell(source: str) -> dict[str, str]:
    """Read the defaults (``NAME='v'``, ``NAME="v"``, ``NAME=v``) of a parameters cell.

    Lines that are not assignments are skipped; a quoted value may span lines.
    A value that is not one literal word (``X=$(hostname) y``) is kept as written.
    """
    out: dict[str, str] = {}
    lines = source.split("\n")  # only newlines end a line; \r and friends are data
    i = 0
    while i < len(lines):
        match = _ASSIGN.match(lines[i])
        i += 1
        if match is None or lines[i - 1].lstrip().startswith("#"):
            continue
        raw = match.group(2)
        while True:
            try:
                value = _word(raw)
                break
            except ValueError:  # an open quote: the value goes on next line
                if i >= len(lines):
                    value = None
                    break
                raw += "\n" + lines[i]
                i += 1
        out[match.group(1)] = raw if value is None else value
    return out


def dynamic_names(source: str) -> frozenset[str]:
    """Return the names a parameters cell assigns with shell expansions (``"${X:-}"``).

    Their value is only known when bash runs the cell (an environment variable,
    ``$(hostname)``), so they must not be judged by the text that
    :func:`parse_parameters_cell` returns for them.
    """
    out = set()
    for line in source.split("\n"):
        match = _ASSIGN.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        raw = match.group(2)
        if not raw.startswith("'") and re.search(r"[$`]", raw):
            out.add(match.group(1))
    return frozenset(out)


def as_text(value: object) -> str:
    """Turn a papermill parameter value (str, number, bool, None) into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadInput(f"parameter values must be text or numbers, not {type(value).__name__}")


def inject_parameters(nb: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of ``nb`` with the cell papermill would inject for ``values``."""
    out: dict[str, Any] = copy.deepcopy(dict(nb))
    if not values:
        return out  # papermill injects nothing without parameters
    cell: dict[str, Any] = {
        "cell_type": "code", "id": "injected-parameters", "execution_count": None,
        "metadata": {"tags": [INJECTED_TAG]}, "outputs": [],
        "source": render_parameters_cell(values),
    }
    cells = out.setdefault("cells", [])
    tagged = [i for i, c in enumerate(cells)
              if PARAMETERS_TAG in (c.get("metadata", {}).get("tags") or [])]
    cells.insert(tagged[0] + 1 if tagged else 0, cell)
    return out
