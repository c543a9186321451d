"""Turn a command line into the :class:`Invocation` values the guard's rules judge.

Simple commands come from :mod:`reifier.core.bashparse`. On top of it this module
sees through wrappers (``sudo``, ``env``, ``xargs``…), follows code given as a
string to a shell (``bash -c``, ``eval``, ``su -c``, ``ssh host CMD``, a
here-string or here-document fed to ``sh``, ``find -exec``, ``alias`` bodies) and
marks what cannot be read statically (a dynamic command name, ``python -c``,
code piped into a shell) with :attr:`Invocation.unknown`.

bashparse tells each command's innermost context but not which pipeline stage
feeds it, which function holds it, whether it runs in the background or which
here-document it reads, so a second small pass over the tree-sitter tree
(:func:`_shapes`) recovers those, only for lines where they can occur.
"""

from __future__ import annotations

import posixpath
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from reifier.core import bashparse
from reifier.core.bashparse import SimpleCommand, Word
from reifier.core.guard_args import (
    FETCHERS,
    INTERPRETERS,
    SHELLS,
    Arg,
    Invocation,
    flags,
    runs_stdin,
)

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_VERSIONED_PYTHON = re.compile(r"(python|pypy)[\d.]+")
MAX_DEPTH = 4  # code inside code inside code…: beyond this it is unresolvable
_PARSER = Parser(Language(tree_sitter_bash.language()))
#: interpreter -> options whose value is program text
_INLINE_CODE = {"perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "-p", "--eval", "--print"),
                "nodejs": ("-e", "-p", "--eval", "--print"), "php": ("-r",), "lua": ("-e",),
                "Rscript": ("-e",), "pwsh": ("-c", "-Command"), "osascript": ("-e",),
                "tclsh": ()}
_SHELL_OPTS_WITH_ARG = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_SSH_OPTS_WITH_ARG = frozenset(
    {"-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q",
     "-R", "-S", "-W", "-w"})


@dataclass(frozen=True)
class _Shape:
    """What bashparse does not say about one simple command."""

    upstream: tuple[int, int] | None = None  # span of the pipeline stage feeding it
    function: str = ""
    forked: bool = False
    heredoc: str | None = None


_NO_SHAPE = _Shape()


def collect(command: str, depth: int = 0, cwd: str = "") -> list[Invocation]:
    """Return every invocation in ``command``, code strings followed recursively.

    ``cwd`` is the working directory when known (absolute or ``~``), else "".
    """
    # tree-sitter-bash segfaults on some astral code points (e.g. "{\U0007e97e"); one BMP
    # character for one astral character keeps every character offset unchanged.
    if not command.isascii():
        command = _ASTRAL.sub("\ufffd", command)
    parsed = bashparse.parse(command)
    out: list[Invocation] = []
    if parsed.errors:
        out.append(Invocation("", unknown="the command does not parse as bash",
                              span=(0, len(command))))
    shapes = _shapes(command) if re.search(r"[|&(<]|function", command) else {}
    aliases: set[str] = set()
    # Pipeline feeders are looked up by start offset: sorted once, bisected per command.
    feeders = sorted((c.span, _name(bashparse.unwrap(c.words))) for c in parsed.commands
                     if c.context != "substitution")
    starts = [span[0] for span, _ in feeders]
    for cmd in parsed.commands:
        shape = shapes.get(cmd.span[0], _NO_SHAPE)
        upstream = ""
        if shape.upstream is not None:
            lo, hi = shape.upstream
            names = [name for (_, end), name in feeders[bisect_left(starts, lo):
                                                        bisect_right(starts, hi)] if end <= hi]
            upstream = next((n for n in names if n in FETCHERS), names[-1] if names else "")
        here = next((w for op, w in cmd.redirects if op == "<<<"), None)
        base = Invocation(
            "", redirects=tuple((op, _arg(w)) for op, w in cmd.redirects if op != "<<<"),
            stdin_from=upstream, function=shape.function, forked=shape.forked,
            stdin_text=here.text if here is not None else shape.heredoc, span=cmd.span, cwd=cwd)
        stdin_dynamic = here is not None and here.dynamic
        resolved = _resolve(cmd, base, depth, aliases, stdin_dynamic)
        if resolved and resolved[0].name in ("cd", "pushd"):
            cwd = _chdir(cwd, resolved[0])
        out.extend(resolved)
    return out


def _chdir(cwd: str, inv: Invocation) -> str:
    """Follow a literal ``cd`` so that ``cd / && rm -rf etc`` is judged as ``/etc``."""
    targets = [a for a in inv.args if not a.text.startswith("-")]
    if not targets:
        return "~" if not inv.args else ""
    target = targets[0]
    if target.dynamic:
        return ""
    if target.text.startswith(("/", "~")):
        return target.text
    return posixpath.join(cwd, target.text) if cwd else ""


def _resolve(cmd: SimpleCommand, base: Invocation, depth: int, aliases: set[str],
             stdin_dynamic: bool) -> list[Invocation]:
    if not cmd.words:
        return [base] if base.redirects else []
    out = _from_words(cmd.words, base, depth, stdin_dynamic)
    first = out[0] if out else None
    if first is not None and first.name in aliases:
        out[0] = replace(first, unknown=f"uses the alias {first.name!r} defined in this command")
    if first is not None and first.name == "alias":
        for arg in first.args:
            name, sep, body = arg.text.partition("=")
            if sep:
                aliases.add(name)
                out.extend(_code(body, arg.dynamic, f"alias {name}", base, depth))
    return out


def _from_words(words: tuple[Word, ...], base: Invocation, depth: int,
                stdin_dynamic: bool = False) -> list[Invocation]:
    """Build the invocation(s) a word list runs, following code strings."""
    inner = bashparse.unwrap(words)
    if not inner:
        return []
    wrappers = {_name(words[i:i + 1]) for i in range(len(words) - len(inner))}
    head, rest = inner[0], inner[1:]
    inv = replace(base, name=_name(inner), args=tuple(_arg(w) for w in rest),
                  more_args=base.more_args or "xargs" in wrappers)
    if head.dynamic:
        return [replace(inv, unknown=f"the command name {head.raw} is only known at run time")]
    if "env" in wrappers and any(w.text in ("-S", "--split-string") for w in words):
        return [replace(inv, unknown="env -S splits a string into a command at run time")]
    base = replace(base, more_args=inv.more_args)  # `xargs sh -c 'rm -rf {}'` stays unknown
    if re.search(r"\s", head.text):  # `watch 'rm -rf /'` runs its argument through sh -c
        return [inv, *_code(head.text, False, head.text, base, depth)]
    out = [inv]
    code = _code_word(inv)
    if code is not None:
        text, dynamic, what = code
        out.extend(_code(text, dynamic, what, base, depth))
    elif inv.name == "ssh" and (inv.stdin_text is not None or inv.stdin_from or stdin_dynamic):
        out[0:1] = _stdin_code(inv, base, depth, stdin_dynamic)  # a remote shell reads stdin
    elif inv.name in INTERPRETERS and _interpreter_inline(inv):
        out[0] = replace(inv, unknown=f"{inv.name} runs inline code the guard cannot read")
    elif inv.name in ("awk", "gawk", "mawk") and any("system(" in a.text for a in inv.args):
        out[0] = replace(inv, unknown=f"{inv.name} program calls system()")
    elif runs_stdin(inv):
        out[0:1] = _stdin_code(inv, base, depth, stdin_dynamic)
    elif inv.name in SHELLS | {"source", "."} and any(
            a.raw.startswith("<(") for a in inv.args) and not re.search(
            r"\b(curl|wget)\b", " ".join(a.raw for a in inv.args)):
        out[0] = replace(inv, unknown=f"{inv.name} runs the output of a process substitution")
    if inv.name == "find":
        out.extend(_find_exec(rest, base, depth))
    return out


def _code_word(inv: Invocation) -> tuple[str, bool, str] | None:
    """Return (code, dynamic, label) when the invocation runs a string as shell code."""
    args = inv.args
    if inv.name == "eval":
        return " ".join(a.text for a in args), any(a.dynamic for a in args), "eval"
    if inv.name in SHELLS | {"su", "runuser"}:
        short, _ = flags(inv)
        if "c" not in short and "--command" not in inv.words:
            return None
        i = 0
        while i < len(args) and args[i].text[:1] in "-+" and inv.name in SHELLS:
            i += 2 if args[i].text in _SHELL_OPTS_WITH_ARG else 1
        if inv.name not in SHELLS:  # su [user] -c CODE: the code follows -c
            i = next((k + 1 for k, a in enumerate(args) if a.text in ("-c", "--command")), i)
        if i < len(args):
            return args[i].text, args[i].dynamic, f"{inv.name} -c"
        return None
    if inv.name == "ssh":
        i = 0
        while i < len(args) and args[i].text.startswith("-"):
            i += 2 if args[i].text in _SSH_OPTS_WITH_ARG else 1
        remote = args[i + 1:]
        if remote:
            return " ".join(a.text for a in remote), any(a.dynamic for a in remote), "ssh"
    return None


def _code(text: str, dynamic: bool, what: str, base: Invocation, depth: int) -> list[Invocation]:
    """Judge a string that a shell will run; dynamic strings are unresolvable."""
    if dynamic:
        return [replace(base, name=what, unknown=f"{what} runs code only known at run time")]
    if depth >= MAX_DEPTH:
        return [replace(base, name=what, unknown=f"{what}: code nested too deeply")]
    nested = collect(text, depth + 1, base.cwd)
    return [replace(n, span=base.span, function=n.function or base.function,
                    more_args=n.more_args or base.more_args) for n in nested]


def _interpreter_inline(inv: Invocation) -> bool:
    if inv.name.startswith("python"):
        return any(w.startswith("-") and not w.startswith("--") and "c" in w.lstrip("-")
                   for w in inv.words[:1]) or "-c" in inv.words
    opts = _INLINE_CODE.get(inv.name, ())
    return any(w in opts or (w[:2] in opts and len(w) > 2) for w in inv.words)


def _stdin_code(inv: Invocation, base: Invocation, depth: int,
                dynamic: bool) -> list[Invocation]:
    """Judge code that a shell or interpreter reads from its standard input."""
    if inv.stdin_text is not None or dynamic:
        if inv.name in SHELLS | {"ssh"}:
            return [inv, *_code(inv.stdin_text or "", dynamic, f"{inv.name} <<", base, depth)]
        return [replace(inv, unknown=f"{inv.name} reads a program from a here-document")]
    if inv.stdin_from and inv.stdin_from not in FETCHERS:
        return [replace(inv, unknown=f"code piped from {inv.stdin_from} into {inv.name}")]
    return [inv]


def _find_exec(rest: tuple[Word, ...], base: Invocation, depth: int) -> list[Invocation]:
    out: list[Invocation] = []
    i = 0
    while i < len(rest):
        if rest[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((k for k in range(i + 1, len(rest)) if rest[k].text in (";", "+")),
                       len(rest))
            out.extend(_from_words(rest[i + 1:end], base, depth))
            i = end
        i += 1
    return out


def _name(words: tuple[Word, ...]) -> str:
    name = posixpath.basename(words[0].text) if words else ""
    return "python" if _VERSIONED_PYTHON.fullmatch(name) else name  # python3.11, pypy3


def _arg(word: Word) -> Arg:
    return Arg(word.text, word.raw, word.dynamic)


# --- the shape pass ---------------------------------------------------------------

_COMMANDS = frozenset({"command", "declaration_command", "unset_command", "redirected_statement"})


def _shapes(command: str) -> dict[int, _Shape]:
    """Map each command's start offset to its pipeline feeder, function and fork state."""
    data = bashparse.parser_input(command)  # masks placeholders and crash-prone characters
    chars = _Chars(command, data)
    root = _PARSER.parse(data).root_node
    shapes: dict[int, _Shape] = {}
    stack: list[tuple[Node, _Shape]] = [(root, _NO_SHAPE)]
    while stack:
        node, shape = stack.pop()
        kind = node.type
        if kind in _COMMANDS:  # the innermost node at an offset is visited last and wins
            shapes[chars(node.start_byte)] = shape
        if kind == "function_definition":
            name = node.child_by_field_name("name")
            text = data[name.start_byte:name.end_byte] if name is not None else b""
            shape = replace(shape, function=text.decode("utf-8", errors="replace"))
        elif kind in ("command_substitution", "process_substitution"):
            shape = replace(shape, upstream=None, heredoc=None)
        shaped: list[tuple[Node, _Shape]] = []
        prev: Node | None = None  # the previous stage, when node is a pipeline
        for child in node.named_children:
            shaped.append((child, _child_shape(node, child, prev, shape, data=data, chars=chars)))
            prev = child if child.type != "comment" else prev
        stack.extend(reversed(shaped))
    return shapes


def _child_shape(node: Node, child: Node, prev: Node | None, shape: _Shape, *, data: bytes,
                 chars: _Chars) -> _Shape:
    nxt = child.next_sibling
    if nxt is not None and nxt.type == "&":
        shape = replace(shape, forked=True)
    if node.type == "pipeline":
        feeder = prev
        if feeder is None and node.parent is not None and node.parent.type == "heredoc_redirect":
            statement = node.parent.parent
            feeder = statement.child_by_field_name("body") if statement is not None else None
        if feeder is not None:
            span = (chars(feeder.start_byte), chars(feeder.end_byte))
            shape = replace(shape, upstream=span, heredoc=None)
        shape = replace(shape, forked=True)
    elif node.type == "redirected_statement" and child.type not in (
            "heredoc_redirect", "herestring_redirect", "file_redirect"):
        body = next((b for r in node.named_children if r.type == "heredoc_redirect"
                     for b in r.named_children if b.type == "heredoc_body"), None)
        if body is not None:
            shape = replace(shape, heredoc=data[body.start_byte:body.end_byte].decode(
                "utf-8", errors="replace"))
    elif node.type == "heredoc_redirect":
        shape = replace(shape, heredoc=None)
    return shape


class _Chars:
    """Byte offset to character offset (identity for ASCII lines)."""

    def __init__(self, command: str, data: bytes) -> None:
        self.table: list[int] | None = None
        if len(data) != len(command):
            self.table = [i for i, ch in enumerate(command)
                          for _ in range(len(ch.encode("utf-8", errors="surrogatepass")))]
            self.table.append(len(command))

    def __call__(self, byte: int) -> int:
        if self.table is None:
            return byte
        return self.table[min(byte, len(self.table) - 1)]
