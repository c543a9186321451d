"""The spool parser: exact round trip, truncation, garbage, bad fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reifier.core.history.spool import FIELDS, MAGIC, TERM, encode_record, parse_spool


def record(command: bytes = b"echo hi", **fields: bytes) -> bytes:
    """Return one spool record with sensible defaults for every field."""
    base = {
        "shell": b"bash",
        "session": b"1700000000000000-42-7",
        "histnum": b"12",
        "started": b"1700000000123456",
        "ended": b"1700000000623456",
        "exit": b"0",
        "host": b"db1",
        "user": b"alice",
        "cwd": b"/srv/app",
        "snapshot": b"",
        "command": command,
    }
    return encode_record(base | fields)


def test_empty_input() -> None:
    result = parse_spool(b"")
    assert result.events == () and result.skipped == () and result.consumed == 0
    assert result.fmt == "spool"


def test_one_record_all_fields() -> None:
    data = record(b"systemctl restart app", snapshot=b"/h/snapshots/s/12-app.conf")
    result = parse_spool(data, source="s.spool", start_seq=7)
    assert result.consumed == len(data)
    (event,) = result.events
    assert event.command == "systemctl restart app"
    assert event.started == pytest.approx(1700000000.123456, abs=1e-6)
    assert event.duration == pytest.approx(0.5)
    assert event.exit_code == 0
    assert (event.host, event.user, event.cwd) == ("db1", "alice", "/srv/app")
    assert event.shell_session == "1700000000000000-42-7"
    assert event.snapshot == "/h/snapshots/s/12-app.conf"
    assert (event.source, event.seq) == ("s.spool", 7)


def test_layout_is_magic_fields_terminator() -> None:
    data = record()
    assert data.startswith(MAGIC) and data.endswith(b"\0" + TERM)
    assert data.count(b"\0") == len(FIELDS) + 1


def test_unknown_start_uses_end_and_no_duration() -> None:
    (event,) = parse_spool(record(started=b"")).events
    assert event.started == pytest.approx(1700000000.623456, abs=1e-6)
    assert event.duration is None


def test_special_bytes_round_trip() -> None:
    cmd = b"for f in *; do\n\techo \"$f\" 'it'\\''s' \\\\x\ndone # caf\xe9 \xff\xfe"
    (event,) = parse_spool(record(cmd)).events
    assert event.command.encode("utf-8", "surrogateescape") == cmd
    assert "\udcff" in event.command


@given(st.binary(min_size=1).filter(lambda b: b"\0" not in b and not b.startswith(b" ")))
def test_any_command_without_nul_round_trips(cmd: bytes) -> None:
    (event,) = parse_spool(record(cmd)).events
    assert event.command.encode("utf-8", "surrogateescape") == cmd


def test_every_truncation_of_the_last_record_is_left_for_later() -> None:
    first, second = record(b"echo 1"), record(b"echo 2")
    for cut in range(1, len(second)):
        result = parse_spool(first + second[:cut])
        assert [e.command for e in result.events] == ["echo 1"], cut
        assert result.consumed == len(first), cut
        assert result.skipped == (), cut
    # ...and once the rest arrives, the record parses from the stored offset.
    rest = parse_spool((first + second)[len(first) :], start_seq=1)
    assert [(e.command, e.seq) for e in rest.events] == [("echo 2", 1)]


def test_garbage_between_records_is_skipped() -> None:
    first, second = record(b"echo 1"), record(b"echo 2")
    data = first + b"\x00garbage\nnot a record\x00" + second
    result = parse_spool(data)
    assert [e.command for e in result.events] == ["echo 1", "echo 2"]
    assert len(result.skipped) == 1
    assert result.skipped[0].line == len(first)
    assert result.consumed == len(data)


def test_trailing_garbage_is_consumed_but_partial_magic_is_not() -> None:
    first = record()
    result = parse_spool(first + b"zzz")
    assert len(result.events) == 1 and len(result.skipped) == 1
    assert result.consumed == len(first) + 3
    result = parse_spool(first + MAGIC[:3])
    assert result.skipped == () and result.consumed == len(first)


def test_record_cut_short_then_more_records() -> None:
    # A write that failed half-way (disk full) and a later complete record.
    first, broken, last = record(b"echo 1"), record(b"echo 2")[:30], record(b"echo 3")
    result = parse_spool(first + broken + last)
    assert [e.command for e in result.events] == ["echo 1", "echo 3"]
    assert len(result.skipped) == 1
    assert result.consumed == len(first + broken + last)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"exit": b"x"}, "bad exit status"),
        ({"started": b"2000000000000000"}, "start after end"),
        ({"ended": b""}, "missing end time"),
        ({"histnum": b"-1"}, "bad history number"),
        ({"session": b""}, "empty session id"),
        ({"command": b""}, "empty command"),
    ],
)
def test_bad_fields_are_skipped_with_a_reason(fields: dict[str, bytes], reason: str) -> None:
    data = record(**fields) + record(b"echo ok")
    result = parse_spool(data)
    assert [e.command for e in result.events] == ["echo ok"]
    assert [s.reason for s in result.skipped] == [reason]
    assert result.consumed == len(data)


def test_missing_terminator_is_skipped() -> None:
    bad = record()[: -len(TERM)] + b"X\n"
    result = parse_spool(bad + record(b"echo ok"))
    assert [e.command for e in result.events] == ["echo ok"]
    assert [s.reason for s in result.skipped] == ["missing record terminator"]


def test_leading_space_commands_are_dropped_and_counted() -> None:
    result = parse_spool(record(b" echo secret") + record(b"echo fine"))
    assert [e.command for e in result.events] == ["echo fine"]
    assert result.extra == {"records": 2, "leading_space": 1}
    assert result.events[0].seq == 0
