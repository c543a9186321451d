"""Line handling shared by the history parsers: decoding, junk lines, offsets.

Parsers work on whole buffers with bytes/str operations implemented in C
(``split``, ``decode``, one regex *search* over the whole text) and fall back to
a per-line check only when that search finds control bytes or undecodable
bytes, so a clean history costs no per-line regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from reifier.core.models import CommandEvent, Skipped

#: Longest line kept; longer ones are skipped (a pasted blob, not a command).
MAX_LINE_BYTES = 64 * 1024
#: Share of control/undecodable characters above which a line is binary junk.
BINARY_SHARE = 0.30
#: Latest accepted epoch (9999-12-31T23:59:59Z); larger values are corrupt.
MAX_EPOCH = 253_402_300_799

# Control characters (tab excepted) and the lone surrogates that
# errors="surrogateescape" makes of undecodable bytes.
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f\udc80-\udcff]")
# A UTF-8 character is at most 4 bytes, so shorter str lines cannot be too long.
_SHORT_ENOUGH = MAX_LINE_BYTES // 4
_ZSH_META = 0x83


@dataclass(frozen=True)
class Lines:
    """Decoded lines of one buffer; ``None`` marks a line that was skipped."""

    items: list[str | None]
    skipped: list[Skipped]
    consumed: int  # offset just after the last newline


def read_lines(data: bytes, *, final: bool, zsh_meta: bool = False) -> Lines:
    """Split ``data`` into decoded lines, skipping binary and over-long ones.

    With ``final=False`` the trailing partial line (no newline yet) is left
    out, because its writer may still be appending to it.
    """
    consumed = data.rfind(b"\n") + 1
    body = data if final else data[:consumed]
    if b"\r\n" in body:  # a history edited on Windows: CR is not part of the command
        body = body.replace(b"\r\n", b"\n")
    text = _decode(body, zsh_meta)
    raw = text.split("\n")
    if not body or body.endswith(b"\n"):
        raw.pop()  # the empty string after the final newline is not a line
    items = cast("list[str | None]", raw)  # junk lines become None in place
    skipped: list[Skipped] = []
    if _JUNK.search(text) is None:
        if max(map(len, raw), default=0) > _SHORT_ENOUGH:
            _check_lines(items, skipped, long_only=True)
    else:
        _check_lines(items, skipped, long_only=False)
    return Lines(items, skipped, consumed)


def _decode(body: bytes, zsh_meta: bool) -> str:
    """Decode UTF-8, keeping undecodable bytes as lone surrogates (they round-trip)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        if zsh_meta and _ZSH_META in body:
            fixed = unmetafy(body)
            # Only trust the unmetafied bytes when they really are UTF-8: a file
            # zsh did not write may hold 0x83 as an ordinary continuation byte.
            if _is_utf8(fixed):
                return fixed.decode("utf-8")
        return body.decode("utf-8", "surrogateescape")


def _is_utf8(data: bytes) -> bool:
    """Return whether ``data`` is valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def unmetafy(data: bytes) -> bytes:
    """Undo zsh's history "metafication": ``0x83 b`` stands for ``b ^ 0x20``."""
    parts = data.split(bytes([_ZSH_META]))
    out = [parts[0]]
    out.extend(bytes([p[0] ^ 0x20]) + p[1:] for p in parts[1:] if p)
    return b"".join(out)


def _check_lines(items: list[str | None], skipped: list[Skipped], *, long_only: bool) -> None:
    """Replace junk lines by ``None`` in place and record why (never their content)."""
    for idx, line in enumerate(items):
        if line is None:
            continue
        reason = line_problem(line, long_only=long_only)
        if reason is not None:
            items[idx] = None
            skipped.append(Skipped(line=idx + 1, reason=reason))


def line_problem(line: str, *, long_only: bool = False) -> str | None:
    """Return why a decoded line cannot be used, or ``None`` when it is fine."""
    if len(line) > _SHORT_ENOUGH:
        size = len(line.encode("utf-8", "surrogateescape"))
        if size > MAX_LINE_BYTES:
            return f"line too long ({size} bytes)"
    if long_only:
        return None
    if "\x00" in line:
        return "binary data"
    junk = len(_JUNK.findall(line))
    if junk and junk > BINARY_SHARE * len(line):
        return "binary data"
    return None


def parse_epoch(digits: str) -> float | None:
    """Return the epoch ``digits`` spell, or ``None`` when they are not a sane time."""
    if digits.isascii() and digits.isdigit():
        value = float(digits)  # a huge digit string gives inf, refused below
        if value <= MAX_EPOCH:
            return value
    return None


def line_offset(data: bytes, end: int, lines_back: int) -> int:
    """Return the offset of the line ``lines_back`` lines before offset ``end``."""
    off = end
    for _ in range(lines_back):
        off = data.rfind(b"\n", 0, max(off - 1, 0)) + 1
    return off


def sample_lines(data: bytes, limit: int = 200) -> list[bytes]:
    """Return up to ``limit`` lines from the start of ``data``, for sniffing."""
    return data[:65536].split(b"\n", limit)[:limit]


#: Builds one event from (command, started, duration, seq).
MakeEvent = Callable[[str, float | None, float | None, int], CommandEvent]


def event_maker(*, shell_session: str, host: str, user: str, source: str) -> MakeEvent:
    """Return a fast builder of events that share their session fields.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, which dominates parsing a million lines. Copying a
    template's instance dict is ~5x faster and gives an equal event; the copy
    keeps CPython's key-sharing layout, so an event costs ~30% more memory, not
    ~150% as a fresh dict would. A model with ``__post_init__`` or ``__slots__``
    gets the plain constructor.
    """
    template = CommandEvent(
        command="", started=None, shell_session=shell_session, host=host, user=user, source=source
    )
    if hasattr(CommandEvent, "__post_init__") or not hasattr(template, "__dict__"):

        def slow(
            command: str, started: float | None, duration: float | None, seq: int
        ) -> CommandEvent:
            return template.with_(command=command, started=started, duration=duration, seq=seq)

        return slow

    shared = template.__dict__
    new = object.__new__
    set_dict = object.__setattr__

    def fast(command: str, started: float | None, duration: float | None, seq: int) -> CommandEvent:
        event: CommandEvent = new(CommandEvent)
        values = shared.copy()
        values["command"] = command
        values["started"] = started
        values["duration"] = duration
        values["seq"] = seq
        set_dict(event, "__dict__", values)
        return event

    return fast


#: how far ahead of the importing machine's clock a timestamp may be (clock skew)
FUTURE_SLACK_S = 300.0


def drop_future(events: list[CommandEvent], now: float,
                slack: float = FUTURE_SLACK_S) -> tuple[list[CommandEvent], list[Skipped]]:
    """Split off events stamped in the future: they would keep a session open for years.

    Rejected with a count, as bad lines are (the reason, never the command).
    """
    kept: list[CommandEvent] = []
    skipped: list[Skipped] = []
    for ev in events:
        if ev.started is not None and ev.started > now + slack:
            skipped.append(Skipped(line=ev.seq + 1, reason="timestamp in the future"))
        else:
            kept.append(ev)
    return kept, skipped
