"""Bad input never crashes a parser and never costs a good line."""

from __future__ import annotations

import random

import pytest

from reifier.core.history.common import MAX_LINE_BYTES, unmetafy
from reifier.core.history.registry import formats
from reifier.core.models import ParseResult

LINE_FORMATS = ["bash", "bash-timestamps", "zsh-extended"]
SECRET = "hunter2-s3cr3t"


def parse(name: str, data: bytes, **kw: object) -> ParseResult:
    return formats.get(name).parse(data, source="test", shell_session="sh", **kw)  # type: ignore[arg-type]


def commands(result: ParseResult) -> list[str]:
    return [e.command for e in result.events]


def reasons(result: ParseResult) -> list[tuple[int, str]]:
    return [(s.line, s.reason) for s in result.skipped]


def junk(n: int, seed: int = 0) -> bytes:
    """Return ``n`` random bytes with no newline (so they stay one line)."""
    return random.Random(seed).randbytes(n).replace(b"\n", b"\x00")


def test_binary_lines_skipped_good_lines_kept() -> None:
    data = b"ls\n" + junk(300) + b"\npwd\n" + junk(50, seed=1) + b"\nwhoami\n"
    result = parse("bash", data)
    assert commands(result) == ["ls", "pwd", "whoami"]
    assert reasons(result) == [(2, "binary data"), (4, "binary data")]
    assert result.consumed == len(data)


def test_nul_byte_makes_a_line_binary() -> None:
    result = parse("bash", b"ls\nrm -rf /tmp/x\x00\npwd\n")
    assert commands(result) == ["ls", "pwd"] and reasons(result) == [(2, "binary data")]


def test_whole_file_of_junk() -> None:
    data = b"\n".join(junk(200, seed=s) for s in range(20))
    for name in LINE_FORMATS:
        result = parse(name, data)
        assert not result.events
        assert {r for _, r in reasons(result)} == {"binary data"} and len(result.skipped) == 20
    assert formats.detect(data).name == "bash"  # the fallback, which reports every line


def test_binary_lines_in_stamped_history_keep_entries() -> None:
    data = b"#100\nls\n" + junk(120) + b"\n#200\npwd\n"
    result = parse("bash-timestamps", data)
    assert [(e.started, e.command) for e in result.events] == [(100.0, "ls"), (200.0, "pwd")]
    assert reasons(result) == [(3, "binary data")]


def test_invalid_utf8_round_trips() -> None:
    latin1 = "grep -r 'café' /etc".encode("latin-1")
    result = parse("bash", b"ls\n" + latin1 + b"\n")
    assert len(result.events) == 2 and not result.skipped
    assert result.events[1].command.encode("utf-8", "surrogateescape") == latin1


def test_utf8_commands_are_text() -> None:
    data = "echo 'déjà vu ✓'\nls ~/Документы\n".encode()
    assert commands(parse("bash", data)) == ["echo 'déjà vu ✓'", "ls ~/Документы"]


def test_overlong_line_skipped_with_its_size() -> None:
    big = b"x" * (MAX_LINE_BYTES + 1)
    edge = b"y" * MAX_LINE_BYTES
    for name, good in (("bash", b"ls\n"), ("zsh-extended", b": 1:0;ls\n")):
        result = parse(name, good + big + b"\n" + edge + b"\n" + good)
        assert reasons(result) == [(2, f"line too long ({MAX_LINE_BYTES + 1} bytes)")]
        assert commands(result) == ["ls", edge.decode(), "ls"]


def test_overlong_multibyte_line_counts_bytes() -> None:
    line = "é" * (MAX_LINE_BYTES // 2 + 1)  # few characters, too many bytes
    result = parse("bash", b"ls\n" + line.encode() + b"\n")
    assert reasons(result) == [(2, f"line too long ({MAX_LINE_BYTES + 2} bytes)")]


@pytest.mark.parametrize("stamp", [b"#12abc", b"#99999999999999", b"#-1763978400", b"#1.5"])
def test_bad_stamp_skipped_command_kept_without_time(stamp: bytes) -> None:
    data = b"#100\nls\n" + stamp + b"\nsystemctl restart app\n#300\npwd\n"
    result = parse("bash-timestamps", data)
    assert [(e.started, e.command) for e in result.events] == [
        (100.0, "ls"),
        (None, "systemctl restart app"),
        (300.0, "pwd"),
    ]
    assert reasons(result) == [(3, "bad timestamp")]
    assert result.extra["bad_timestamp"] == 1


def test_comment_lines_are_commands_not_stamps() -> None:
    # bash only takes '#' + digit for a stamp: '#abc' is a typed comment
    data = b"#100\n# restart the app\n#200\n#abc\n"
    result = parse("bash-timestamps", data)
    assert commands(result) == ["# restart the app", "#abc"] and not result.skipped


def test_zsh_bad_stamp_keeps_command() -> None:
    data = b": 100:0;ls\n: abc:0;df -h\n: 99999999999999:0;pwd\n: 300:x;whoami\n"
    result = parse("zsh-extended", data)
    assert [(e.started, e.duration, e.command) for e in result.events] == [
        (100.0, 0.0, "ls"),
        (None, 0.0, "df -h"),
        (None, 0.0, "pwd"),
        (300.0, None, "whoami"),
    ]
    assert result.extra["bad_timestamp"] == 2


def test_zsh_lines_without_header_are_commands() -> None:
    result = parse("zsh-extended", b"ls -la\n: 100:0;pwd\n: just a colon command\n")
    assert [(e.started, e.command) for e in result.events] == [
        (None, "ls -la"),
        (100.0, "pwd"),
        (None, ": just a colon command"),
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bash-timestamps", b"#300\na\n#100\nb\n#200\nc\n#400\nd\n"),
        ("zsh-extended", b": 300:0;a\n: 100:0;b\n: 200:0;c\n: 400:0;d\n"),
    ],
)
def test_out_of_order_kept_and_counted(name: str, data: bytes) -> None:
    result = parse(name, data)
    assert [e.started for e in result.events] == [300.0, 100.0, 200.0, 400.0]
    assert result.extra["out_of_order"] == 2


@pytest.mark.parametrize(
    ("name", "data", "last"),
    [
        ("bash", b"ls\npwd", "pwd"),
        ("bash-timestamps", b"#1\nls\n#2\npwd", "pwd"),
        ("zsh-extended", b": 1:0;ls\n: 2:0;pwd", "pwd"),
    ],
)
def test_truncated_last_line(name: str, data: bytes, last: str) -> None:
    final = parse(name, data)
    assert commands(final)[-1] == last
    assert final.consumed == data.rfind(b"\n") + 1
    live = parse(name, data, final=False)
    assert last not in commands(live)
    assert live.consumed <= final.consumed


def test_crlf_history() -> None:
    result = parse("bash-timestamps", b"#100\r\nls\r\n#200\r\nfor x in 1\r\ndo :; done\r\n")
    assert [(e.started, e.command) for e in result.events] == [
        (100.0, "ls"),
        (200.0, "for x in 1\ndo :; done"),
    ]
    assert not result.skipped


def test_blank_lines_and_empty_entries() -> None:
    plain = parse("bash", b"\nls\n   \n\npwd\n")
    assert commands(plain) == ["ls", "pwd"] and plain.extra["empty"] == 3 and not plain.skipped
    stamped = parse("bash-timestamps", b"#1\n#2\nls\n\n#3\n   \n")
    assert commands(stamped) == ["ls"] and stamped.extra["empty"] == 2


@pytest.mark.parametrize("name", [*LINE_FORMATS, "spool"])
def test_empty_input(name: str) -> None:
    result = parse(name, b"")
    assert result.events == () and result.skipped == () and result.consumed == 0


def test_zsh_metafied_history_is_unmetafied() -> None:
    # zsh stores 0x83..0xa2 bytes as 0x83, byte ^ 0x20: Cyrillic у (d1 83) becomes d1 83 a3
    text = "echo у\n"
    metafied = text.encode().replace(b"\xd1\x83", b"\xd1\x83\xa3")
    assert unmetafy(metafied) == text.encode()
    assert commands(parse("zsh-extended", b": 1:0;" + metafied)) == ["echo у"]
    # a file zsh did not metafy is already valid UTF-8 and stays as it is
    assert commands(parse("zsh-extended", b": 1:0;" + text.encode())) == ["echo у"]


def test_reasons_never_hold_content() -> None:
    bad = [
        SECRET.encode() + b"\x00" * 20,
        b"export TOKEN=" + SECRET.encode() + b"x" * MAX_LINE_BYTES,
        b"#12" + SECRET.encode(),
    ]
    data = b"ls\n" + b"\n".join(bad) + b"\n"
    for name in LINE_FORMATS:
        result = parse(name, data)
        assert result.skipped
        assert all(SECRET not in s.reason for s in result.skipped)
        assert all(len(s.reason) < 80 for s in result.skipped)


def test_never_lose_a_good_line_among_junk() -> None:
    rng = random.Random(7)
    good = [f"echo step {i}" for i in range(200)]
    lines: list[bytes] = []
    for cmd in good:
        if rng.random() < 0.3:
            lines.append(junk(rng.randrange(40, 400), seed=rng.randrange(1 << 30)))
        lines.append(cmd.encode())
    result = parse("bash", b"\n".join(lines) + b"\n")
    assert commands(result) == good
    assert len(result.skipped) == len(lines) - len(good)
