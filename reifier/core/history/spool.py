"""Parse the spool the shell hooks append to (``reifier/shell/reifier.{bash,zsh}``).

Each interactive shell appends to its own file, ``$REIFIER_HOME/spool/<session>.spool``,
so concurrent shells never interleave. A file is a sequence of records::

    record = MAGIC field{11} TERM
    MAGIC  = b"RFR1" NUL        # "reifier record", format version 1
    field  = bytes NUL          # a field never contains NUL (shell strings cannot)
    TERM   = b"." LF            # explicit terminator: a record without it is incomplete

The eleven fields, in order:

==  ==========  ===============================================================
 1  shell       ``bash`` or ``zsh``
 2  session     shell-session id, made once per shell (``<epoch µs>-<pid>-<random>``)
 3  histnum     the shell's history number of the command (decimal), or empty
 4  started     start, integer microseconds since the epoch, or empty if unknown
 5  ended       end (when the next prompt was prepared), integer microseconds
 6  exit        exit status, decimal
 7  host        ``$HOSTNAME`` (bash) / ``$HOST`` (zsh)
 8  user        ``$USER``, or the numeric uid when unset
 9  cwd         ``$PWD`` when the command finished
10  snapshot    path of a copy of the file an editor was about to change, or empty
11  command     the command line exactly as the shell's history holds it
==  ==========  ===============================================================

Decoding: every field is decoded as UTF-8 with ``errors="surrogateescape"``, so
valid UTF-8 reads normally and any other byte becomes a lone surrogate;
``event.command.encode("utf-8", "surrogateescape")`` gives back the exact bytes
typed. (Bytes survive; writers of the store must use the same error handler.)

Robustness: a record that is cut short at the end of the data (the shell was
killed mid-write) is left unconsumed, so :attr:`ParseResult.consumed` is a
crash-safe offset to resume from. Bytes that do not form a valid record are
skipped up to the next ``MAGIC`` and reported in :attr:`ParseResult.skipped`
(with the record's byte offset as ``line``). Commands starting with a space are
dropped as a last line of defence for the leading-space convention and counted
in ``extra["leading_space"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reifier.core.models import CommandEvent, ParseResult, Skipped

MAGIC = b"RFR1\0"
TERM = b".\n"
FIELDS = (
    "shell",
    "session",
    "histnum",
    "started",
    "ended",
    "exit",
    "host",
    "user",
    "cwd",
    "snapshot",
    "command",
)
FORMAT = "spool"


def encode_record(fields: dict[str, bytes]) -> bytes:
    """Build one spool record from raw field bytes (the format the hooks write)."""
    return MAGIC + b"".join(fields.get(name, b"") + b"\0" for name in FIELDS) + TERM


@dataclass(frozen=True)
class _Record:
    """A record's raw fields and where it ends."""

    fields: tuple[bytes, ...]
    end: int


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _int_or_none(raw: bytes, name: str) -> int | None:
    """Return the decimal in ``raw``, ``None`` if empty; raise ValueError naming ``name``."""
    if raw == b"":
        return None
    if not raw.isdigit():
        raise ValueError(f"bad {name}")
    return int(raw)


def _read_record(data: bytes, pos: int) -> _Record | str | None:
    """Read the record at ``pos``: a record, ``None`` if it runs off the end, or a reason."""
    p = pos + len(MAGIC)
    fields = []
    for _ in FIELDS:
        end = data.find(b"\0", p)
        if end < 0:
            return None
        fields.append(data[p:end])
        p = end + 1
    tail = data[p : p + len(TERM)]
    if tail == TERM:
        return _Record(tuple(fields), p + len(TERM))
    if TERM.startswith(tail):  # only a prefix of the terminator has been written so far
        return None
    return "missing record terminator"


def _event(rec: _Record, source: str, seq: int) -> CommandEvent:
    """Turn raw fields into a :class:`CommandEvent`; raise ValueError if unusable."""
    raw = dict(zip(FIELDS, rec.fields, strict=True))
    if not raw["session"]:
        raise ValueError("empty session id")
    if not raw["command"]:
        raise ValueError("empty command")
    started = _int_or_none(raw["started"], "start time")
    ended = _int_or_none(raw["ended"], "end time")
    exit_code = _int_or_none(raw["exit"], "exit status")
    _int_or_none(raw["histnum"], "history number")
    if ended is None:
        raise ValueError("missing end time")
    duration = None
    if started is not None:
        if started > ended:
            raise ValueError("start after end")
        duration = (ended - started) / 1_000_000
    return CommandEvent(
        command=_decode(raw["command"]),
        started=(ended if started is None else started) / 1_000_000,
        shell_session=_decode(raw["session"]),
        host=_decode(raw["host"]),
        user=_decode(raw["user"]),
        cwd=_decode(raw["cwd"]) or None,
        duration=duration,
        exit_code=exit_code,
        source=source,
        seq=seq,
        snapshot=_decode(raw["snapshot"]) or None,
    )


def parse_spool(data: bytes, *, source: str = "", start_seq: int = 0) -> ParseResult:
    """Parse spool bytes into events; leave a truncated last record unconsumed."""
    events: list[CommandEvent] = []
    skipped: list[Skipped] = []
    leading_space = 0
    pos = consumed = 0
    size = len(data)
    while pos < size:
        if not data.startswith(MAGIC, pos):
            nxt = data.find(MAGIC, pos)
            if nxt < 0 and MAGIC.startswith(data[pos:]):
                break  # the start of a record still being written
            skipped.append(Skipped(pos, "bytes outside any record"))
            pos = consumed = size if nxt < 0 else nxt
            continue
        rec = _read_record(data, pos)
        if isinstance(rec, _Record):
            try:
                event = _event(rec, source, start_seq + len(events))
            except ValueError as exc:
                skipped.append(Skipped(pos, str(exc)))
            else:
                if event.command.startswith(" "):
                    leading_space += 1
                else:
                    events.append(event)
            pos = consumed = rec.end
            continue
        nxt = data.find(MAGIC, pos + 1)
        if rec is None and nxt < 0:
            break  # truncated last record: leave it for a later read
        # A record cut short (or otherwise broken) with more records after it.
        skipped.append(Skipped(pos, rec or "truncated record"))
        pos = consumed = size if nxt < 0 else nxt
    return ParseResult(
        events=tuple(events),
        skipped=tuple(skipped),
        consumed=consumed,
        fmt=FORMAT,
        extra={"records": len(events) + leading_space, "leading_space": leading_space},
    )
