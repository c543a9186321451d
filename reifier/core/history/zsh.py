"""Zsh extended history: ``: <start>:<elapsed>;<command>``.

Zsh writes a newline inside a command as backslash + newline; reading it back
(as zsh's own ``readhistline`` does) drops that backslash and joins the lines,
giving the multi-line command as typed. Non-ASCII bytes may be "metafied"
(``0x83`` + byte xor 32); :func:`~reifier.core.history.common.read_lines` undoes it.
"""

from __future__ import annotations

import re

from reifier.core.history.common import (
    event_maker,
    line_offset,
    parse_epoch,
    read_lines,
    sample_lines,
)
from reifier.core.models import CommandEvent, ParseResult

NAME = "zsh-extended"

EXAMPLE = (
    b": 1763985600:0;df -h\n"
    b": 1763985612:3;du -sh /var/log/* | sort -h | tail -n 5\n"
    b": 1763985800:0;cat <<'EOF' > /tmp/x\\\nline one\\\nEOF\n"
)
EXAMPLE_COMMANDS = (
    "df -h",
    "du -sh /var/log/* | sort -h | tail -n 5",
    "cat <<'EOF' > /tmp/x\nline one\nEOF",
)
_HEADER = re.compile(rb": *\d+:\d+;")


def parse(
    data: bytes,
    *,
    source: str,
    shell_session: str,
    host: str = "",
    user: str = "",
    start_seq: int = 0,
    final: bool = True,
) -> ParseResult:
    """Parse a zsh extended history; ``elapsed`` becomes ``duration``.

    A line without the ``: start:elapsed;`` header is a command with no time
    (zsh reads such lines the same way). With ``final=False`` an entry whose
    last line still ends in a backslash is held back for the next read.
    """
    lines = read_lines(data, final=final, zsh_meta=True)
    make = event_maker(shell_session=shell_session, host=host, user=user, source=source)
    items = lines.items
    count = len(items)
    events: list[CommandEvent] = []
    extra = {"out_of_order": 0, "bad_timestamp": 0, "empty": 0}
    consumed = lines.consumed
    last_time = float("-inf")
    seq = start_seq
    i = 0
    while i < count:
        first = i
        line = items[i]
        i += 1
        if line is None:
            continue
        if line.endswith("\\"):
            line, i, complete = _join(items, line, i)
            if not complete and not final:
                consumed = line_offset(data, consumed, count - first)
                break
        started: float | None = None
        duration: float | None = None
        command = line
        semi = line.find(";") if line.startswith(": ") else -1
        stamp, colon, elapsed = line[2:semi].partition(":") if semi > 0 else ("", "", "")
        if colon:
            command = line[semi + 1 :]
            started = parse_epoch(stamp)
            if started is None:
                extra["bad_timestamp"] += 1
            elif started < last_time:
                extra["out_of_order"] += 1
            else:
                last_time = started
            if elapsed.isdigit() and elapsed.isascii():
                duration = float(elapsed)
        if not command or command.isspace():
            extra["empty"] += 1
            continue
        events.append(make(command, started, duration, seq))
        seq += 1
    return ParseResult(tuple(events), tuple(lines.skipped), consumed, NAME, extra)


def _join(items: list[str | None], line: str, i: int) -> tuple[str, int, bool]:
    """Join backslash-continued lines from ``items[i]`` on; return (text, next i, complete)."""
    parts = [line[:-1]]
    while i < len(items):
        nxt = items[i]
        if nxt is None:  # a junk line cannot be part of a command: end the entry here
            return "\n".join(parts), i, True
        i += 1
        if not nxt.endswith("\\"):
            parts.append(nxt)
            return "\n".join(parts), i, True
        parts.append(nxt[:-1])
    return "\n".join(parts), i, False


def sniff(data: bytes) -> float:
    """Return high confidence when the sample's lines carry zsh extended headers."""
    lines = sample_lines(data)
    hits = sum(1 for line in lines if _HEADER.match(line))
    if not hits:
        return 0.0
    return 0.95 if _HEADER.match(lines[0]) else 0.7
