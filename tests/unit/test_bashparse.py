"""The bash parser wrapper: simple commands, literal words, redirections, contexts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reifier.core.bashparse import WRAPPERS, parse, unwrap


def argvs(command: str) -> list[tuple[str, ...]]:
    return [c.argv for c in parse(command).commands]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("ls -la", [("ls", "-la")]),
        ("r''m -rf x", [("rm", "-rf", "x")]),
        (r"$'\x72\x6d' x", [("rm", "x")]),
        (r"\r\m a\ b", [("rm", "a b")]),
        ('echo "a\\"b" \'c d\'', [("echo", 'a"b', "c d")]),
        ("a | b && c; d || e", [("a",), ("b",), ("c",), ("d",), ("e",)]),
        ("(cd /x && make)", [("cd", "/x"), ("make",)]),
        ("{ a; b; }", [("a",), ("b",)]),
        ("echo $(whoami) `id`", [("echo", "$(whoami)", "`id`"), ("whoami",), ("id",)]),
        ("f() { rm x; }", [("rm", "x")]),
        ("for h in a b; do ssh $h uptime; done", [("ssh", "$h", "uptime")]),
        ("if true; then rm x; else ls; fi", [("true",), ("rm", "x"), ("ls",)]),
        ("while read l; do echo $l; done < f", [("read", "l"), ("echo", "$l")]),
        ("case $x in a) rm -f y;; *) ls;; esac", [("rm", "-f", "y"), ("ls",)]),
        ("[[ -f x ]] && echo $((1+2))", [("echo", "$((1+2))")]),
        ("time ls | grep x", [("time", "ls"), ("grep", "x")]),
        ("export A=1 B", [("export", "A=1", "B")]),
        ("diff <(ls a) <(ls b)", [("diff", "<(ls a)", "<(ls b)"), ("ls", "a"), ("ls", "b")]),
    ],
)
def test_simple_commands(command: str, expected: list[tuple[str, ...]]) -> None:
    assert argvs(command) == expected


def test_dynamic_words_and_spans() -> None:
    command = "rm -rf $DIR/* \"$(pwd)\" *.log {a,b} plain"
    words = parse(command).commands[0].words
    assert [w.dynamic for w in words] == [False, False, True, True, True, True, False]
    for w in words:
        assert command[w.span[0] : w.span[1]] == w.raw


def test_spans_are_characters_not_bytes() -> None:
    command = "echo héllo wörld > ü"
    cmd = parse(command).commands[0]
    assert [command[w.span[0] : w.span[1]] for w in cmd.words] == ["echo", "héllo", "wörld"]
    assert cmd.redirects[0][1].raw == "ü"


def test_redirections() -> None:
    cmd = parse("sudo cmd > /tmp/x 2>&1 >> log < in &> all").commands[0]
    assert [(op, w.text) for op, w in cmd.redirects] == [
        (">", "/tmp/x"), ("2>&", "1"), (">>", "log"), ("<", "in"), ("&>", "all"),
    ]  # fmt: skip


def test_compound_redirect_reaches_every_command_but_not_substitutions() -> None:
    parsed = parse("{ a; b $(c); } > out")
    reds = {c.argv[0]: [w.text for _, w in c.redirects] for c in parsed.commands}
    assert reds == {"a": ["out"], "b": ["out"], "c": []}


def test_heredoc() -> None:
    parsed = parse("cat <<'EOF' > /etc/app.conf\nkey=1\nEOF")
    (cmd,) = parsed.commands
    assert cmd.context == "heredoc-fed"
    assert ("<<", "EOF") in [(op, w.text) for op, w in cmd.redirects]
    assert (">", "/etc/app.conf") in [(op, w.text) for op, w in cmd.redirects]
    assert parsed.heredocs == ("key=1\n",)


def test_unquoted_heredoc_substitution_is_a_command() -> None:
    parsed = parse("cat <<EOF\n$(rm -rf /tmp/x)\nEOF")
    assert ("rm", "-rf", "/tmp/x") in [c.argv for c in parsed.commands]


@pytest.mark.parametrize(
    ("command", "context"),
    [
        ("ls", "top"),
        ("a | ls", "pipeline"),
        ("(ls)", "subshell"),
        ("echo $(ls)", "substitution"),
        ("{ ls; }", "group"),
        ("f() { ls; }", "function"),
        ("if x; then ls; fi", "compound"),
        ("ls <<< hi", "heredoc-fed"),
    ],
)
def test_context(command: str, context: str) -> None:
    assert [c.context for c in parse(command).commands if c.argv[:1] == ("ls",)] == [context]


def test_assignments_are_not_argv() -> None:
    cmd = parse("X=1 Y=$(id) make").commands[0]
    assert cmd.argv == ("make",)
    assert [w.text for w in cmd.assigns] == ["X=1", "Y=$(id)"]
    bare = parse("X=1").commands[0]
    assert bare.words == () and [w.text for w in bare.assigns] == ["X=1"]


def test_redaction_placeholders_are_dynamic_words_not_redirections() -> None:
    cmd = parse("mysql -p<REDACTED:mysql-password> -h db").commands[0]
    assert cmd.argv == ("mysql", "-p<REDACTED:mysql-password>", "-h", "db")
    assert cmd.redirects == ()
    assert cmd.words[1].dynamic


def test_bare_redirection_is_a_command() -> None:
    (cmd,) = parse("> /var/log/app.log").commands
    assert cmd.words == () and cmd.redirects[0][1].text == "/var/log/app.log"


def test_errors_flagged_and_words_still_found() -> None:
    parsed = parse("))) foo |||")
    assert parsed.errors and ("foo",) in argvs("))) foo |||")
    assert parse('"unterminated').commands[0].argv == ("unterminated",)
    assert not parse("ls -la").errors


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=lambda w: w.name)
def test_wrapper_examples_unwrap(wrapper: object) -> None:
    example = wrapper.example  # type: ignore[attr-defined]
    inner = unwrap(parse(example).commands[0].words)
    assert inner and inner[0].text != wrapper.name  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("sudo -u postgres -E psql -c x", ("psql", "-c", "x")),
        ("sudo env X=1 nice -n 5 timeout -s KILL 10 make", ("make",)),
        ("/usr/bin/sudo rm x", ("rm", "x")),
        ("command -v rm", ("command", "-v", "rm")),
        ("sudo -l", ("sudo", "-l")),
        ("sudo", ("sudo",)),
        ("xargs -0 -n1 rm -f", ("rm", "-f")),
    ],
)
def test_unwrap(command: str, argv: tuple[str, ...]) -> None:
    assert tuple(w.text for w in unwrap(parse(command).commands[0].words)) == argv


def test_deep_nesting_does_not_raise() -> None:
    command = "echo " + "$(echo " * 400 + "x" + ")" * 400
    assert len(parse(command).commands) == 401


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_never_raises(text: str) -> None:
    parsed = parse(text)
    for cmd in parsed.commands:
        for w in cmd.words:
            assert 0 <= w.span[0] <= w.span[1] <= len(text)


def test_code_points_beyond_the_bmp_do_not_crash_the_parser() -> None:
    # tree-sitter-bash 0.25 reads out of bounds on `{` + a high code point.
    raw_parse = parse.__wrapped__
    for cp in range(0xD0000, 0x110000, 0x100):
        assert raw_parse("{" + chr(cp)).commands[0].argv == ("{" + chr(cp),)
        assert raw_parse("echo {" + chr(cp)).commands[0].words[1].text == "{" + chr(cp)
    assert parse("echo 🎉 \ud800 done").commands[0].argv == ("echo", "🎉", "\ud800", "done")


# tree-sitter drops a lone `=~` (its [[ ]] operator) where bash sees a word: not compared.
PLAIN_WORD = st.text(alphabet="abz019_./:=@%+,~-", min_size=1, max_size=8).filter(
    lambda w: not w.startswith("=")
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PLAIN_WORD, min_size=1, max_size=6), st.sampled_from([" ", "  ", "\t"]))
def test_plain_line_shortcut_agrees_with_tree_sitter(words: list[str], sep: str) -> None:
    from reifier.core.bashparse import _PLAIN_RE, _parse_tree

    line = sep.join(words)
    tree = _parse_tree(line)
    if not tree.errors:  # where tree-sitter errs (`a ==`), bash sees plain words, as we do
        assert parse(line) == tree
    if _PLAIN_RE.fullmatch(line):  # the shortcut: bash's own word split
        assert parse(line).commands[0].argv == tuple(line.split())
