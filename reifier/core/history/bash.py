"""Bash history: plain (one command a line) and with ``HISTTIMEFORMAT`` stamps.

With ``HISTTIMEFORMAT`` set, bash writes ``#<epoch>`` before each entry, and a
multi-line entry (a ``for`` loop typed over several lines) is every line up to
the next stamp. Bash's own test for a stamp line is ``#`` followed by a digit,
so ``# restart the app`` is a typed comment, i.e. a command, not a bad stamp.
"""

from __future__ import annotations

from reifier.core.history.common import (
    event_maker,
    line_offset,
    parse_epoch,
    read_lines,
    sample_lines,
)
from reifier.core.models import CommandEvent, ParseResult, Skipped

PLAIN = "bash"
STAMPED = "bash-timestamps"

EXAMPLE_PLAIN = b"ls\ncd /srv/app\nsudo systemctl restart nginx\n"
EXAMPLE_PLAIN_COMMANDS = ("ls", "cd /srv/app", "sudo systemctl restart nginx")
EXAMPLE_STAMPED = (
    b"#1763978601\nsystemctl stop app\n#1763978615\nrm /var/cache/app.lock\n"
    b"#1763982044\nfor h in web1 web2; do\n  ssh $h uptime\ndone\n"
)
EXAMPLE_STAMPED_COMMANDS = (
    "systemctl stop app",
    "rm /var/cache/app.lock",
    "for h in web1 web2; do\n  ssh $h uptime\ndone",
)
_DIGITS = frozenset("0123456789")


def parse_plain(
    data: bytes,
    *,
    source: str,
    shell_session: str,
    host: str = "",
    user: str = "",
    start_seq: int = 0,
    final: bool = True,
) -> ParseResult:
    """Parse a bash history without timestamps: every non-blank line is a command."""
    lines = read_lines(data, final=final)
    make = event_maker(shell_session=shell_session, host=host, user=user, source=source)
    commands = [x for x in lines.items if x and not x.isspace()]
    events = tuple(make(cmd, None, None, n) for n, cmd in enumerate(commands, start_seq))
    empty = len(lines.items) - len(commands) - len(lines.skipped)
    return ParseResult(events, tuple(lines.skipped), lines.consumed, PLAIN, {"empty": empty})


def is_stamp_like(line: str) -> bool:
    """Return whether bash would take ``line`` for a ``#<epoch>`` line (or a negative one)."""
    return line[1:2] in _DIGITS or (line[1:2] == "-" and line[2:3] in _DIGITS)


def parse_timestamps(
    data: bytes,
    *,
    source: str,
    shell_session: str,
    host: str = "",
    user: str = "",
    start_seq: int = 0,
    final: bool = True,
) -> ParseResult:
    """Parse a bash history with ``#<epoch>`` lines; multi-line entries stay as typed.

    Lines before the first stamp are plain one-line commands with no time. A
    bad stamp is skipped and its entry kept with ``started=None``. With
    ``final=False`` the last entry is held back (``consumed`` stops before its
    stamp): more of its lines may still be on their way.
    """
    lines = read_lines(data, final=final)
    items = lines.items
    skipped = lines.skipped
    make = event_maker(shell_session=shell_session, host=host, user=user, source=source)
    events: list[CommandEvent] = []
    extra = {"out_of_order": 0, "bad_timestamp": 0, "empty": 0}
    entry: list[str] = []
    started: float | None = None
    last_time = float("-inf")
    entry_start = -1  # index of the current entry's stamp line; -1 before the first

    def flush() -> None:
        # Trailing blank lines are an artefact of hand-edited files, not typed text.
        text = entry[0] if len(entry) == 1 else "\n".join(entry).rstrip("\n")
        if not text or text.isspace():
            extra["empty"] += 1
        else:
            events.append(make(text, started, None, start_seq + len(events)))

    for idx, line in enumerate(items):
        if line is None:
            continue
        if line[:1] == "#" and is_stamp_like(line):
            if entry_start >= 0:
                flush()
            entry = []
            entry_start = idx
            started = parse_epoch(line[1:].strip())
            if started is None:
                extra["bad_timestamp"] += 1
                skipped.append(Skipped(line=idx + 1, reason="bad timestamp"))
            elif started < last_time:
                extra["out_of_order"] += 1
            else:
                last_time = started
        elif entry_start >= 0:
            entry.append(line)
        elif line and not line.isspace():  # before any stamp: a plain bash line
            events.append(make(line, None, None, start_seq + len(events)))

    consumed = lines.consumed
    if entry_start >= 0:
        if final:
            flush()
        else:
            consumed = line_offset(data, consumed, len(items) - entry_start)
    return ParseResult(tuple(events), tuple(skipped), consumed, STAMPED, extra)


def sniff_plain(data: bytes) -> float:
    """Return a low, constant confidence: any text can be a plain bash history."""
    return 0.1 if data[:1] != b"\x00" else 0.01


def sniff_timestamps(data: bytes) -> float:
    """Return high confidence when the sample holds ``#<epoch>`` lines."""
    stamps = 0
    first = False
    for n, raw in enumerate(sample_lines(data)):
        line = raw.rstrip(b"\r")
        if line[:1] == b"#" and line[1:].strip().isdigit():
            stamps += 1
            first = first or n == 0
    if not stamps:
        return 0.0
    return 0.9 if first else 0.6
