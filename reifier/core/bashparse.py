"""Parse a bash command line into simple commands, words and redirections.

tree-sitter-bash is the parser, not bashlex: it never raises (broken parts become
``ERROR`` nodes, the commands around them are kept) and it handles ``time``,
``case``, ``[[ ]]``, ``$(( ))``, here-documents and functions, all of which make
bashlex raise. A line of plain words skips the parser (bash's own word split);
a broken line with no command found falls back to a whitespace split.

The API is tiny, shared by the classifier and the safety guard:

- :func:`parse` → :class:`Parsed` (``commands``, ``errors``, ``heredocs``);
- :class:`SimpleCommand`: ``words`` (argv), ``redirects`` (operator, target),
  ``assigns`` (``NAME=value`` prefixes), ``span``, and ``context``, the innermost
  construct holding it: ``top``, ``pipeline``, ``subshell``, ``substitution``
  (``$(…)``, backticks, ``<(…)``), ``group`` (``{ …; }``), ``function``,
  ``compound`` (if/for/while/case), or ``heredoc-fed`` when the command itself
  reads a here-document or here-string;
- :class:`Word`: ``text`` is the value after quote removal (``'r''m'`` and
  ``$'\\x72\\x6d'`` are ``rm``); ``dynamic`` means not statically known: ``$var``,
  ``$(…)``, backticks, globs, brace expansion, or a ``<REDACTED:…>`` placeholder
  (:mod:`reifier.core.redact`). A leading ``~`` is kept as typed, not dynamic;
- :func:`parser_input`: the bytes to hand tree-sitter yourself (placeholders
  masked, code points that crash tree-sitter-bash 0.25 replaced, offsets kept);
- :func:`unwrap`: the words of the command a wrapper (``sudo``, ``env``, ``time``,
  ``nohup``, ``nice``, ``timeout``, ``xargs``, ``watch``…) runs.

Redirections of a compound command (``{ a; b; } > f``) go to every simple command
inside it, except inside substitutions. Spans are character offsets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from reifier.core.redact import PLACEHOLDER_RE

_PARSER = Parser(Language(tree_sitter_bash.language()))
_LOCK = threading.Lock()  # one Parser object must not parse in two threads at once


@dataclass(frozen=True)
class Word:
    """One shell word: its literal value, its source text and whether it expands."""

    text: str
    raw: str
    dynamic: bool
    span: tuple[int, int]


@dataclass(frozen=True)
class SimpleCommand:
    """A simple command: argv words, redirections and ``NAME=value`` prefixes."""

    words: tuple[Word, ...]
    redirects: tuple[tuple[str, Word], ...]
    span: tuple[int, int]
    context: str
    assigns: tuple[Word, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        """Return the literal text of every word."""
        return tuple(w.text for w in self.words)


@dataclass(frozen=True)
class Parsed:
    """Every simple command of a line, in source order (outer before nested)."""

    commands: tuple[SimpleCommand, ...]
    errors: bool
    heredocs: tuple[str, ...]


# Node type → the context its children are in.
_CONTEXTS = {
    "subshell": "subshell", "command_substitution": "substitution",
    "process_substitution": "substitution", "compound_statement": "group",
    "function_definition": "function",
    **dict.fromkeys(("if_statement", "for_statement", "c_style_for_statement",
                     "while_statement", "case_statement"), "compound"),
}  # fmt: skip
_REDIRECTS = {"file_redirect", "heredoc_redirect", "herestring_redirect"}
_SKIP_ARGS = _REDIRECTS | {"comment", "command_name", "variable_assignment"}
_ANSI_ESCAPES = dict(zip("ntrabeEfv\\'\"?", "\n\t\r\a\b\x1b\x1b\f\v\\'\"?", strict=True))
_ANSI_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)")
_GLOB_RE = re.compile(r"(?<!\\)(?:[*?]|\[[^\]]+\])")
_BRACE_RE = re.compile(r"(?<![\\$])\{[^{}\s]*(?:,|\.\.)[^{}\s]*\}")
_UNQUOTED_ESCAPE = re.compile(r"\\(\n|.)", re.S)
_DQ_ESCAPE = re.compile(r"\\([$`\"\\\n])")
# tree-sitter-bash 0.25 can crash reading `{` before a code point beyond plane 0
# (an out-of-bounds table read), and lone surrogates are not UTF-8: the parser
# sees same-length stand-ins, the words keep the real text.
_UNSAFE_RE = re.compile("[\U00010000-\U0010ffff]|[\ud800-\udfff]")


def _unescape(m: re.Match[str]) -> str:
    """Drop the backslash of an escape; a backslash-newline is a line continuation."""
    return "" if m.group(1) == "\n" else m.group(1)


def _ansi_char(m: re.Match[str]) -> str:
    esc = m.group(1)
    head, rest = esc[0], esc[1:]
    if head in "xuU" and rest:
        return chr(min(int(rest, 16), 0x10FFFF))
    if head.isdigit():
        return chr(int(esc, 8) & 0xFF)
    if head == "c" and rest:
        return chr(ord(rest.upper()) & 0x1F)
    return _ANSI_ESCAPES.get(esc, "\\" + esc)


class _Walker:
    """Collect simple commands from one tree; ``pos`` maps byte to char offsets."""

    def __init__(self, source: str, size: int) -> None:
        self.source = source
        self.ascii = size == len(source)  # then byte offsets are char offsets
        self.commands: list[SimpleCommand] = []
        self.heredocs: list[str] = []
        self._chars: list[int] = []

    def pos(self, byte: int) -> int:
        if self.ascii:
            return byte
        if not self._chars:  # byte offset → char offset, built once per non-ASCII line
            for i, ch in enumerate(self.source):
                self._chars.extend([i] * len(ch.encode("utf-8", errors="surrogatepass")))
            self._chars.append(len(self.source))
        return self._chars[min(byte, len(self._chars) - 1)]

    def span(self, node: Node) -> tuple[int, int]:
        if self.ascii:
            return (node.start_byte, node.end_byte)
        return (self.pos(node.start_byte), self.pos(node.end_byte))

    def raw(self, node: Node) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def value(self, node: Node, text: str | None = None) -> tuple[str, bool]:
        """Return the literal value of a word node and whether it is dynamic."""
        kind = node.type
        text = self.raw(node) if text is None else text
        if kind == "word":
            dynamic = bool(_GLOB_RE.search(text) or _BRACE_RE.search(text))
            return _UNQUOTED_ESCAPE.sub(_unescape, text), dynamic
        if kind in {"number", "variable_name", "heredoc_start", "file_descriptor", "test_operator"}:
            return text.strip("'\""), False
        if kind == "raw_string":
            return text[1:-1], False
        if kind == "ansi_c_string":
            return _ANSI_RE.sub(_ansi_char, text[2:-1]), False
        if kind == "string_content":
            return _DQ_ESCAPE.sub(_unescape, text), False
        if kind in {"string", "concatenation", "translated_string"}:
            parts = [self.value(c) for c in node.named_children]
            dynamic = any(d for _, d in parts) or (
                kind == "concatenation" and bool(_BRACE_RE.search(text))
            )
            return "".join(p for p, _ in parts), dynamic
        if kind == "variable_assignment":
            name = node.child_by_field_name("name")
            val = node.child_by_field_name("value")
            value, dynamic = self.value(val) if val is not None else ("", False)
            return f"{self.raw(name) if name else ''}={value}", dynamic
        return text, True  # expansions, substitutions, globs, arrays: not statically known

    def word(self, node: Node) -> Word:
        span = self.span(node)
        raw = self.source[span[0] : span[1]]
        text, dynamic = self.value(node, raw)
        dynamic = dynamic or ("<REDACTED:" in text and bool(PLACEHOLDER_RE.search(text)))
        return Word(text, raw, dynamic, span)

    def redirects(self, node: Node) -> Iterator[tuple[str, Word]]:
        """Yield (operator, target) for a redirect node, with nested file redirects."""
        if node.type == "heredoc_redirect":
            op = next((c.type for c in node.children if c.type in {"<<", "<<-"}), "<<")
            for child in node.named_children:
                if child.type == "heredoc_start":
                    yield op, self.word(child)
                elif child.type == "file_redirect":
                    yield from self.redirects(child)
            return
        dest = node.child_by_field_name("destination")
        targets = [c for c in node.named_children if c.type != "file_descriptor"]
        target = dest if dest is not None else (targets[-1] if targets else None)
        if target is None:
            return
        fd = next((self.raw(c) for c in node.named_children if c.type == "file_descriptor"), "")
        ops = "".join(c.type for c in node.children if not c.is_named)
        yield fd + ops, self.word(target)

    def simple(self, node: Node, ctx: str, inherited: tuple[tuple[str, Word], ...]) -> None:
        """Record a command / declaration / bare assignment / bare redirect node."""
        words: list[Word] = []
        assigns: list[Word] = []
        reds = list(inherited)
        if node.type == "variable_assignment":
            assigns.append(self.word(node))
        elif node.type in {"declaration_command", "unset_command"}:
            first = node.children[0]  # the keyword: export, declare, local, unset…
            words.append(Word(first.type, self.raw(first), False, self.span(first)))
        for child in node.named_children if node.type != "variable_assignment" else ():
            if child.type == "variable_assignment" and node.type != "declaration_command":
                assigns.append(self.word(child))
            elif child.type in _REDIRECTS:
                reds.extend(self.redirects(child))
            elif child.type == "command_name":
                words.extend(self.word(c) for c in child.named_children[:1])
            elif child.type not in _SKIP_ARGS or node.type == "declaration_command":
                words.append(self.word(child))
        if any(op.startswith("<<") for op, _ in reds):
            ctx = "heredoc-fed"
        self.commands.append(SimpleCommand(tuple(words), tuple(reds), self.span(node), ctx,
                                           tuple(assigns)))  # fmt: skip

    def walk(self, root: Node) -> None:
        """Visit the tree depth-first without recursion (deep nesting must not raise)."""
        stack: list[tuple[Node, str, tuple[tuple[str, Word], ...]]] = [(root, "top", ())]
        while stack:
            node, ctx, inherited = stack.pop()
            kind = node.type
            children = node.named_children
            body_reds = inherited  # what the body of a redirected statement inherits
            if kind in _SIMPLE or (kind == "variable_assignment" and _parent(node) in _STATEMENTS):
                self.simple(node, ctx, inherited)
                inherited, ctx = (), "substitution"  # substitutions in words write elsewhere
            elif kind == "redirected_statement":
                body = node.child_by_field_name("body")
                own = tuple(r for c in children if c.type in _REDIRECTS for r in self.redirects(c))
                body_reds = inherited + own
                if body is None:
                    self.commands.append(SimpleCommand((), body_reds, self.span(node), ctx))
            elif kind == "heredoc_body":
                self.heredocs.append(self.raw(node))
            elif kind == "pipeline" and (len(children) > 1 or _parent(node) == "heredoc_redirect"):
                ctx = "pipeline"
            elif kind in _CONTEXTS and not (kind == "compound_statement" and ctx == "function"):
                ctx = _CONTEXTS[kind]
                if kind in {"command_substitution", "process_substitution"}:
                    inherited = ()
            body_id = node.child_by_field_name("body") if kind == "redirected_statement" else None
            for child in reversed(children):
                if child.type in _LEAVES:
                    continue  # no command can hide in them; skipping keeps the walk cheap
                reds = body_reds if body_id is not None and child.id == body_id.id else inherited
                stack.append((child, ctx, reds))


_LEAVES = frozenset({
    "word", "number", "raw_string", "ansi_c_string", "variable_name", "special_variable_name",
    "file_descriptor", "heredoc_start", "heredoc_end", "string_content", "comment",
    "test_operator", "extglob_pattern", "regex",
})  # fmt: skip
_SIMPLE = {"command", "declaration_command", "unset_command", "variable_assignments"}
# Containers of statements: a variable_assignment directly inside one is a bare `X=1`.
_STATEMENTS = {
    "program", "list", "compound_statement", "do_group", "if_statement", "elif_clause",
    "else_clause", "case_item", "subshell", "pipeline", "negated_command",
    "redirected_statement", "command_substitution", "process_substitution",
}  # fmt: skip


def _parent(node: Node) -> str:
    return node.parent.type if node.parent is not None else ""


def _fallback(command: str) -> tuple[SimpleCommand, ...]:
    """Split a line tree-sitter found no command in on whitespace."""
    words = tuple(Word(m.group().strip("'\""), m.group(), bool(re.search(r"[$`*?]", m.group())),
                       m.span()) for m in re.finditer(r"\S+", command))  # fmt: skip
    return (SimpleCommand(words, (), (0, len(command)), "top"),) if words else ()


def parser_input(command: str) -> bytes:
    """Return the bytes to give tree-sitter: same offsets as the UTF-8 of ``command``."""
    # Placeholders look like redirections to bash: hide their angle brackets.
    safe = PLACEHOLDER_RE.sub(lambda m: "_" + m.group()[1:-1] + "_", command)
    safe = _UNSAFE_RE.sub(lambda m: "\U00010000" if ord(m.group()) > 0xFFFF else "\ufffd", safe)
    return safe.encode("utf-8", "surrogatepass")


# A line of plain words (no quotes, expansions, operators, globs, comments or
# reserved words) needs no parser: most history lines are like this.
_PLAIN_RE = re.compile(r"[ \t]*[\w./~][\w./:+,~-]*(?:[ \t]+[\w./:=@%+,~-]+)*[ \t]*", re.A)
_KEYWORD_TEXT = "if then else elif fi for while until do done case esac select function in time"
_KEYWORDS = frozenset((*_KEYWORD_TEXT.split(), "coproc"))


@lru_cache(maxsize=32768)
def parse(command: str) -> Parsed:
    """Parse one command line (never raises; ``errors`` tells of broken syntax)."""
    if _PLAIN_RE.fullmatch(command) and command.split(None, 1)[0] not in _KEYWORDS:
        words = tuple(Word(m.group(), m.group(), False, m.span())
                      for m in re.finditer(r"[^ \t]+", command))  # fmt: skip
        return Parsed((SimpleCommand(words, (), (words[0].span[0], words[-1].span[1]), "top"),),
                      False, ())  # fmt: skip
    return _parse_tree(command)


def syntax_tree(command: str) -> tuple[bytes, Node]:
    """Return the parser input bytes and the tree-sitter root node of ``command``.

    For passes that need the raw tree (parameter binding, shapes); one shared,
    locked parser, so a line is never parsed by an unlocked second one.
    """
    data = parser_input(command)
    with _LOCK:
        tree = _PARSER.parse(data)
    return data, tree.root_node


def _parse_tree(command: str) -> Parsed:
    """Parse with tree-sitter (the general path of :func:`parse`)."""
    data = parser_input(command)
    with _LOCK:
        tree = _PARSER.parse(data)
    walker = _Walker(command, len(data))
    walker.walk(tree.root_node)
    commands = tuple(walker.commands)
    errors = tree.root_node.has_error
    if errors and not any(c.words for c in commands):
        commands = _fallback(command)
    return Parsed(commands, errors, tuple(walker.heredocs))


@dataclass(frozen=True)
class Wrapper:
    """A command that runs another one given after its options.

    ``example`` is a real use and ``runs`` the command word it runs (checked by
    tests/unit/test_guard_wrappers.py), so every row documents itself.
    """

    name: str
    takes_value: frozenset[str]  # options whose value is the next word
    positionals: int = 0  # words between the options and the command (timeout's duration)
    stops: frozenset[str] = frozenset()  # options meaning "no command runs" (command -v)
    example: str = ""
    runs: str = ""  # the command word ``example`` runs


def _w(name: str, takes: str = "", positionals: int = 0, stops: str = "", ex: str = "",
       runs: str = "") -> Wrapper:
    return Wrapper(name, frozenset(takes.split()), positionals, frozenset(stops.split()), ex,
                   runs or ex.rsplit(maxsplit=1)[-1])


#: every command that runs its arguments as a command (``parallel … :::`` and the
#: container runners that mount the host are handled in reifier.core.guard_parse)
WRAPPERS: tuple[Wrapper, ...] = (
    _w("sudo", "-u -g -h -p -C -U -r -t -D -R -T --user --group --host --prompt --chdir",
       stops="-l -v -k -K -V -e --list --validate --edit", ex="sudo -u postgres -E psql"),
    _w("doas", "-u -C", ex="doas -u root rm x", runs="rm"),
    _w("pkexec", "--user", ex="pkexec --user root rm x", runs="rm"),
    _w("run0", "-u --user -D --chdir --unit --description --property", ex="run0 -u root rm x",
       runs="rm"),
    _w("env", "-u -C -S --unset --chdir", ex="env -u HOME X=1 make"),
    _w("time", "-f -o --format --output", ex="time -p make"),
    _w("nohup", ex="nohup ./run.sh"),
    _w("nice", "-n --adjustment", ex="nice -n 10 make"),
    _w("ionice", "-c -n -t --class --classdata", stops="-p --pid -P --pgid -u --uid",
       ex="ionice -c 3 du"),
    _w("chrt", "-p -T -P -D --sched-runtime --sched-period --sched-deadline", positionals=1,
       stops="-m --max", ex="chrt -f 10 make"),
    _w("taskset", "", positionals=1, ex="taskset -c 0 make"),
    _w("timeout", "-s -k --signal --kill-after", positionals=1, ex="timeout -s KILL 5 curl x",
       runs="curl"),
    _w("xargs", "-I -n -P -L -s -d -E -a --max-args --max-procs --delimiter --arg-file",
       ex="xargs -n 1 rm"),
    _w("stdbuf", "-i -o -e", ex="stdbuf -o L tail f", runs="tail"),
    _w("command", stops="-v -V", ex="command ls"),
    _w("builtin", ex="builtin cd /", runs="cd"),
    _w("exec", "-a", ex="exec -a x bash"),
    _w("watch", "-n -d --interval", ex="watch -n 1 df -h", runs="df"),
    _w("flock", "-w -E --timeout --conflict-exit-code", positionals=1, ex="flock /l make"),
    _w("unbuffer", ex="unbuffer make"),
    _w("sshpass", "-p -f -d -P", ex="sshpass -p pw ssh web1 uptime", runs="ssh"),
    _w("chroot", "--userspec --groups", positionals=1, ex="chroot /mnt rm -rf /", runs="rm"),
    _w("setsid", ex="setsid -f rm -rf /", runs="rm"),
    _w("unshare", "-S -G -R -w --setuid --setgid --root --wd --propagation", ex="unshare -m rm x",
       runs="rm"),
    _w("nsenter", "-t -S -G -r -w --target --setuid --setgid --root --wd",
       ex="nsenter -t 1 -m rm x", runs="rm"),
    _w("runuser", "-u -g -G --user --group --supp-group", stops="-c --command -l --login -",
       ex="runuser -u app -- rm x",
       runs="rm"),
    _w("setpriv", "--reuid --regid --groups --inh-caps --bounding-set", ex="setpriv --reuid 0 rm x",
       runs="rm"),
    _w("strace", "-o -e -p -s -u -E -a -b -I -O -P -S -X", ex="strace -f -o t.log rm x",
       runs="rm"),
    _w("ltrace", "-o -e -p -s -u -a -n -l -L -E -A -D", ex="ltrace -o t.log rm x", runs="rm"),
    _w("valgrind", "--tool --log-file", ex="valgrind --tool=memcheck ./a.out"),
    _w("fakeroot", "-l -s -i -b --lib --faked", ex="fakeroot -- rm -rf /", runs="rm"),
    _w("eatmydata", ex="eatmydata rm x", runs="rm"),
    _w("nocache", ex="nocache rm x", runs="rm"),
    _w("caffeinate", "-w -t", ex="caffeinate -i rm -rf /", runs="rm"),
    _w("systemd-inhibit", "--what --who --why --mode", ex="systemd-inhibit --why=x rm x",
       runs="rm"),
    _w("firejail", "--profile --private", ex="firejail --noprofile rm x", runs="rm"),
    _w("proxychains", "-f", ex="proxychains -q curl x", runs="curl"),
    _w("proxychains4", "-f", ex="proxychains4 curl x", runs="curl"),
    _w("torsocks", "-u -p -a -P", ex="torsocks curl x", runs="curl"),
    _w("chpst", "-u -U -e -n -l -L -m -d -o -p -f -c", ex="chpst -u app rm x", runs="rm"),
    _w("chronic", ex="chronic rm x", runs="rm"),
    _w("ifne", ex="ifne rm x", runs="rm"),
    _w("xvfb-run", "-n -s -f -e --server-num --server-args --auth-file --error-file",
       ex="xvfb-run -a make"),
    _w("dbus-launch", ex="dbus-launch --exit-with-session make", runs="make"),
    _w("catchsegv", ex="catchsegv ./a.out"),
    _w("busybox", stops="--list --list-full --help", ex="busybox rm -rf /", runs="rm"),
    _w("toybox", stops="--long --help", ex="toybox rm -rf /", runs="rm"),
    _w("coproc", ex="coproc rm -rf /", runs="rm"),
    _w("parallel", "-j -S -P -N -n -L -l -a -d -E -I --jobs --sshlogin --arg-file --delimiter "
       "--joblog --results --tmpdir --timeout --retries --colsep", stops="--version --help",
       ex="parallel -j4 gzip ::: a b", runs="gzip"),
)  # fmt: skip
_BY_NAME = {w.name: w for w in WRAPPERS}
_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def unwrap(words: tuple[Word, ...]) -> tuple[Word, ...]:
    """Return the words of the command a wrapper runs (the words unchanged otherwise)."""
    for _ in range(16):  # wrappers nest (sudo env X=1 nice cmd); bound the loop anyway
        wrapper = _BY_NAME.get(words[0].text.rsplit("/", 1)[-1]) if words else None
        if wrapper is None:
            return words
        i, positionals = 1, wrapper.positionals
        while i < len(words):
            text = words[i].text
            if text in wrapper.stops:
                return words
            if text == "--":
                i += 1
                break
            if text.startswith("-") and len(text) > 1 and positionals == wrapper.positionals:
                i += 2 if text in wrapper.takes_value else 1
            elif _ASSIGN_RE.match(text) and wrapper.name in {"sudo", "env", "doas"}:
                i += 1
            elif positionals:
                positionals -= 1
                i += 1
            else:
                break
        if i >= len(words):
            return words
        words = words[i:]
    return words
