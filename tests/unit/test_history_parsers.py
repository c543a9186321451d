"""History parsers and their registry: fixtures, examples, detection, properties."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reifier.core.history import bash, zsh
from reifier.core.history.common import MAX_EPOCH, event_maker
from reifier.core.history.registry import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    FormatRegistry,
    HistoryFormat,
    formats,
)
from reifier.core.models import CommandEvent, ParseResult
from reifier.errors import BadInput, ReifierWarning

FIXTURE_FORMATS = {
    "db_lockup_bash_history": "bash-timestamps",
    "disk_full_zsh_history": "zsh-extended",
    "plain_bash_history": "bash",
}


def parse(name: str, data: bytes, **kw: object) -> ParseResult:
    return formats.get(name).parse(data, source="test", shell_session="sh", **kw)  # type: ignore[arg-type]


def commands(result: ParseResult) -> list[str]:
    return [e.command for e in result.events]


# --- the shared fixtures ----------------------------------------------------


def test_db_lockup_two_sessions_and_multiline_loop(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "histories" / "db_lockup_bash_history").read_bytes()
    result = parse("bash-timestamps", data)
    evs = result.events
    assert len(evs) == 20 and not result.skipped and result.consumed == len(data)
    first, second = evs[:15], evs[15:]
    assert first[0].command == "cd /var/log/app" and first[0].started == 1763978400.0
    keys = [e.command for e in first]
    i = keys.index("systemctl stop app")
    assert keys[i : i + 3] == [
        "systemctl stop app",
        "rm /var/cache/app.lock",
        "systemctl start app",
    ]
    # every gap inside the first session is short; the second starts an hour in
    times = [e.started for e in evs if e.started is not None]
    assert len(times) == 20 and times == sorted(times)
    assert all(b - a < 300 for a, b in itertools.pairwise(times[:15]))
    assert times[15] - times[0] == 3600 and times[15] - times[14] > 300
    loop = [e for e in second if e.command.startswith("for ")]
    assert [e.command for e in loop] == ["for h in web1 web2; do\n  ssh $h uptime\ndone"]
    assert loop[0].started == 1763982044.0
    assert [e.seq for e in evs] == list(range(20))
    assert result.extra == {"out_of_order": 0, "bad_timestamp": 0, "empty": 0}


def test_zsh_heredoc_joined_and_durations(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "histories" / "disk_full_zsh_history").read_bytes()
    result = parse("zsh-extended", data)
    assert len(result.events) == 7 and not result.skipped
    assert result.events[-1].command == textwrap.dedent(
        """\
        cat <<'EOF' > /etc/logrotate.d/nginx-extra
        /var/log/nginx/*.log {
          daily
          rotate 7
        }
        EOF"""
    )
    assert "\\" not in result.events[-1].command  # zsh's escaping backslashes are gone
    assert [e.duration for e in result.events] == [0.0, 3.0, 0.0, 1.0, 2.0, 0.0, 0.0]
    assert result.events[1].command == "du -sh /var/log/* | sort -h | tail -n 5"
    assert result.events[0].started == 1763985600.0


def test_plain_has_no_times_and_keeps_order(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "histories" / "plain_bash_history").read_bytes()
    result = parse("bash", data, start_seq=10)
    assert commands(result) == [
        "ls",
        "cd /srv/app",
        "sudo systemctl restart nginx",
        "curl -sI http://localhost/health",
    ]
    assert all(e.started is None for e in result.events)
    assert [e.seq for e in result.events] == [10, 11, 12, 13]


@pytest.mark.parametrize(("fixture", "expected"), sorted(FIXTURE_FORMATS.items()))
def test_detect_fixture(fixtures_dir: Path, fixture: str, expected: str) -> None:
    assert formats.detect((fixtures_dir / "histories" / fixture).read_bytes()).name == expected


def test_session_fields_are_filled(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "histories" / "disk_full_zsh_history").read_bytes()
    ev = zsh.parse(
        data, source="import:x", shell_session="zsh:alice@db1", host="db1", user="alice"
    ).events[0]
    assert (ev.source, ev.shell_session, ev.host, ev.user) == (
        "import:x",
        "zsh:alice@db1",
        "db1",
        "alice",
    )
    assert ev.cwd is None and ev.exit_code is None and ev.role == ""


# --- the format table -------------------------------------------------------


@pytest.mark.parametrize("fmt", BUILTINS, ids=lambda f: f.name)
def test_example_parses_to_its_commands(fmt: HistoryFormat) -> None:
    result = fmt.parse(fmt.example, source="example", shell_session="sh")
    assert fmt.example_commands and commands(result) == list(fmt.example_commands)
    assert result.fmt == fmt.name and not result.skipped and result.consumed == len(fmt.example)


@pytest.mark.parametrize("fmt", BUILTINS, ids=lambda f: f.name)
def test_example_is_detected_as_its_format(fmt: HistoryFormat) -> None:
    assert formats.detect(fmt.example) is formats.get(fmt.name)
    assert fmt.description and 0.0 < fmt.sniff(fmt.example) <= 1.0


def test_registry_names() -> None:
    assert formats.names()[:4] == ["bash", "bash-timestamps", "zsh-extended", "spool"]
    assert "zsh-extended" in formats and len(formats) >= 4


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(BadInput) as err:
        formats.get("fish")
    assert "'fish'" in str(err.value)
    for name in ("bash", "bash-timestamps", "zsh-extended", "spool"):
        assert name in str(err.value)


def test_duplicate_registration_is_refused() -> None:
    reg = FormatRegistry(BUILTINS)
    with pytest.raises(BadInput, match="already registered"):
        reg.register(BUILTINS[0])
    reg.register(BUILTINS[0], replace=True)
    assert reg.names() == [f.name for f in BUILTINS]


def test_empty_registry_cannot_detect() -> None:
    with pytest.raises(BadInput, match="cannot tell"):
        FormatRegistry().detect(b"ls\n")


def _install_plugin(root: Path, body: str, entry: str) -> None:
    """Write a real distribution (dist-info + module) that importlib.metadata finds."""
    dist = root / "reifier_fishplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reifier-fishplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry}\n")
    (root / "reifier_fishplug.py").write_text(textwrap.dedent(body))


PLUGIN = """
    from reifier.core.history.bash import parse_plain
    from reifier.core.history.registry import HistoryFormat

    FISH = HistoryFormat("fish", "fish history", lambda d: 0.99 if d.startswith(b"- cmd:") else 0.0,
                         parse_plain, b"- cmd: ls\\n", ("- cmd: ls",))
    CLASH = HistoryFormat("bash", "an impostor", lambda d: 1.0, parse_plain, b"", ())
    NOT_A_FORMAT = 42
    def boom(d):
        raise RuntimeError("plugin bug")
    BROKEN = HistoryFormat("broken", "sniff raises", boom, parse_plain, b"", ())
"""


def test_entry_point_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = "\n".join(
        [
            "fish = reifier_fishplug:FISH",
            "clash = reifier_fishplug:CLASH",
            "junk = reifier_fishplug:NOT_A_FORMAT",
            "missing = reifier_fishplug:NOPE",
            "broken = reifier_fishplug:BROKEN",
        ]
    )
    _install_plugin(tmp_path, PLUGIN, entries)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "reifier_fishplug", raising=False)
    reg = FormatRegistry(BUILTINS, group=ENTRY_POINT_GROUP)
    with pytest.warns(ReifierWarning) as caught:
        names = reg.names()
    assert "fish" in names and "broken" in names
    assert reg.get("bash") is BUILTINS[0]  # a plugin cannot take over a built-in name
    messages = " | ".join(str(w.message) for w in caught)
    assert "reuses the name 'bash'" in messages
    assert "is not a HistoryFormat" in messages and "failed to load" in messages
    with pytest.warns(ReifierWarning, match="sniff failed"):
        assert reg.detect(b"- cmd: ls\n").name == "fish"


def test_no_entry_points_is_fine() -> None:
    reg = FormatRegistry(BUILTINS, group="reifier.no_such_group")
    assert reg.names() == [f.name for f in BUILTINS]


def test_event_maker_equals_constructor() -> None:
    make = event_maker(shell_session="s", host="h", user="u", source="src")
    fast = make("ls -la", 12.5, 3.0, 7)
    slow = CommandEvent(
        command="ls -la",
        started=12.5,
        shell_session="s",
        host="h",
        user="u",
        duration=3.0,
        source="src",
        seq=7,
    )
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    with pytest.raises(AttributeError):
        fast.command = "rm"  # type: ignore[misc]  # still frozen


# --- a watcher reading a file that is still being written -------------------


def test_final_false_leaves_partial_line() -> None:
    data = b"ls\ncd /tmp\nsystemctl sta"
    done = parse("bash", data)
    assert commands(done) == ["ls", "cd /tmp", "systemctl sta"]
    assert done.consumed == len(b"ls\ncd /tmp\n")
    live = parse("bash", data, final=False)
    assert commands(live) == ["ls", "cd /tmp"] and live.consumed == done.consumed


def test_final_false_holds_back_last_stamped_entry() -> None:
    data = b"#100\nls\n#200\nfor x in 1; do\n  echo $x\n"
    live = parse("bash-timestamps", data, final=False)
    assert commands(live) == ["ls"] and data[live.consumed :].startswith(b"#200\n")
    rest = data[live.consumed :] + b"done\n#300\npwd\n"
    more = parse("bash-timestamps", rest, final=False, start_seq=1)
    assert commands(more) == ["for x in 1; do\n  echo $x\ndone"] and more.events[0].seq == 1
    assert rest[more.consumed :] == b"#300\npwd\n"


def test_final_false_holds_back_open_zsh_continuation() -> None:
    data = b": 100:0;ls\n: 200:1;cat <<EOF\\\nhello\\\n"
    live = parse("zsh-extended", data, final=False)
    assert commands(live) == ["ls"] and data[live.consumed :].startswith(b": 200:1;")
    assert commands(parse("zsh-extended", data)) == ["ls", "cat <<EOF\nhello"]


# --- properties -------------------------------------------------------------

TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
LINE = st.text(TEXT, min_size=1, max_size=30)
ONE_LINE_CMD = LINE.filter(lambda s: not s.isspace())
STAMP = st.integers(0, MAX_EPOCH)
JUNK_PIECES = st.sampled_from(
    [
        b"\n",
        b"#",
        b"#17",
        b"#-1",
        b"#9999999999999999",
        b": 1:2;",
        b": x:;",
        b"\\",
        b"\\\n",
        b"\x83",
        b"\x83\xa3",
        b"\xff",
        b"\x00",
        b"\r\n",
        b";",
        b":",
        b" ",
        b"ls",
        b"RFR1\x00",
        b".\n",
    ]
)
ANY_BYTES = st.one_of(
    st.binary(max_size=600),
    st.lists(st.one_of(JUNK_PIECES, st.binary(max_size=6)), max_size=60).map(b"".join),
)


@settings(deadline=None, max_examples=300)
@given(data=ANY_BYTES, final=st.booleans())
def test_any_bytes_never_crash(data: bytes, final: bool) -> None:
    for fmt in [*BUILTINS, formats.detect(data)]:
        result = fmt.parse(data, source="fuzz", shell_session="sh", final=final)
        assert 0 <= result.consumed <= len(data)
        for sk in result.skipped:
            assert sk.line >= 0 and "\n" not in sk.reason
        if fmt.name != "spool":  # line formats stop right after a newline
            assert result.consumed == 0 or data[result.consumed - 1 : result.consumed] == b"\n"
            assert all(e.command and not e.command.isspace() for e in result.events)


@settings(deadline=None)
@given(cmds=st.lists(ONE_LINE_CMD, max_size=20))
def test_plain_round_trip(cmds: list[str]) -> None:
    data = "".join(c + "\n" for c in cmds).encode()
    result = bash.parse_plain(data, source="t", shell_session="s")
    assert commands(result) == cmds and not result.skipped


def _multiline(stamp_like_ok: bool) -> st.SearchStrategy[str]:
    line = (
        LINE
        if stamp_like_ok
        else LINE.filter(lambda s: not (s[:1] == "#" and bash.is_stamp_like(s)))
    )
    return (
        st.lists(line, min_size=1, max_size=4)
        .map("\n".join)
        .filter(lambda s: not s.isspace() and not s.endswith("\n"))
    )


STAMPED_ENTRIES = st.lists(st.tuples(STAMP, _multiline(stamp_like_ok=False)), max_size=15)
ZSH_ENTRIES = st.lists(
    st.tuples(
        STAMP,
        st.integers(0, 10**6),
        _multiline(stamp_like_ok=True).filter(lambda s: not s.endswith("\\")),
    ),
    max_size=15,
)


def _write_stamped(entries: list[tuple[int, str]]) -> bytes:
    return "".join(f"#{t}\n{cmd}\n" for t, cmd in entries).encode()


def _write_zsh(entries: list[tuple[int, int, str]]) -> bytes:
    # zsh escapes each newline inside a command with a backslash
    return "".join(
        f": {t}:{e};" + cmd.replace("\n", "\\\n") + "\n" for t, e, cmd in entries
    ).encode()


@settings(deadline=None)
@given(entries=STAMPED_ENTRIES)
def test_stamped_round_trip(entries: list[tuple[int, str]]) -> None:
    result = bash.parse_timestamps(_write_stamped(entries), source="t", shell_session="s")
    assert [(e.started, e.command) for e in result.events] == [(float(t), c) for t, c in entries]
    assert not result.skipped
    ooo = sum(1 for i, (t, _) in enumerate(entries) if i and t < max(x for x, _ in entries[:i]))
    assert result.extra["out_of_order"] == ooo


@settings(deadline=None)
@given(entries=ZSH_ENTRIES)
def test_zsh_round_trip(entries: list[tuple[int, int, str]]) -> None:
    result = zsh.parse(_write_zsh(entries), source="t", shell_session="s")
    got = [(e.started, e.duration, e.command) for e in result.events]
    assert got == [(float(t), float(d), c) for t, d, c in entries]
    assert not result.skipped


def _read_in_chunks(name: str, data: bytes, cuts: list[int]) -> list[CommandEvent]:
    """Follow ``data`` as a watcher would: grow it to each cut, resume at ``consumed``."""
    events: list[CommandEvent] = []
    pos = 0
    for cut in sorted(cuts):
        if cut <= pos:
            continue
        r = parse(name, data[pos:cut], final=False, start_seq=len(events))
        events.extend(r.events)
        pos += r.consumed
    events.extend(parse(name, data[pos:], start_seq=len(events)).events)
    return events


@settings(deadline=None)
@given(entries=STAMPED_ENTRIES, cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_stamped_chunked_reads_equal_one_read(
    entries: list[tuple[int, str]], cuts: list[int]
) -> None:
    data = _write_stamped(entries)
    whole = parse("bash-timestamps", data).events
    assert _read_in_chunks("bash-timestamps", data, cuts) == list(whole)


@settings(deadline=None)
@given(entries=ZSH_ENTRIES, cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_zsh_chunked_reads_equal_one_read(
    entries: list[tuple[int, int, str]], cuts: list[int]
) -> None:
    data = _write_zsh(entries)
    whole = parse("zsh-extended", data).events
    assert _read_in_chunks("zsh-extended", data, cuts) == list(whole)
