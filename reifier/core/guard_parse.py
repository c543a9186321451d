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
import shlex
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace

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
    find_roots,
    flags,
    runs_stdin,
)
from reifier.core.guard_sql import DIALECTS

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
_EXPANSION_BUDGET = 64  # function/alias expansions per evaluated command


@dataclass
class _Scope:
    """What one command line defines for the code after it (shared by nested code).

    Functions and aliases are expanded where they are called, ``set --`` binds the
    positional parameters, files written from a here-document or ``echo`` are read
    back when a shell, a SQL client or cron is given them, downloaded files are
    remembered, and ``hash -p``/``ln -s`` renames of a command are followed.
    """

    functions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # name -> the command it runs
    files: dict[str, str] = field(default_factory=dict)  # basename -> text written to it
    downloads: dict[str, str] = field(default_factory=dict)  # basename -> fetcher
    budget: int = _EXPANSION_BUDGET


def collect(command: str, depth: int = 0, cwd: str = "", *,
            params: tuple[Arg, ...] | None = None, scope: _Scope | None = None,
            function: str = "") -> list[Invocation]:
    """Return every invocation in ``command``, code strings followed recursively.

    ``cwd`` is the working directory when known (absolute or ``~``), else "".
    ``params`` are the positional parameters when known (a function's call
    arguments, ``set --``); ``scope`` carries definitions into nested code.
    """
    # tree-sitter-bash segfaults on some astral code points (e.g. "{\U0007e97e"); one BMP
    # character for one astral character keeps every character offset unchanged.
    if not command.isascii():
        command = _ASTRAL.sub("\ufffd", command)
    scope = scope if scope is not None else _Scope()
    parsed = bashparse.parse(command)
    out: list[Invocation] = []
    if parsed.errors:
        out.append(Invocation("", unknown="the command does not parse as bash",
                              span=(0, len(command))))
    shapes = _shapes(command, scope) if re.search(r"[|&(<]|function", command) else {}
    # Pipeline feeders are looked up by start offset: sorted once, bisected per command.
    feeders = sorted(((c.span, _name(bashparse.unwrap(c.words)), c) for c in parsed.commands
                      if c.context != "substitution"), key=lambda f: f[0])
    starts = [f[0][0] for f in feeders]
    for cmd in parsed.commands:
        shape = shapes.get(cmd.span[0], _NO_SHAPE)
        upstream = ""
        fed: str | None = None
        listed: tuple[Arg, ...] = ()
        filtered = False
        if shape.upstream is not None:
            lo, hi = shape.upstream
            stages = [(name, c) for (_, end), name, c in feeders[bisect_left(starts, lo):
                                                               bisect_right(starts, hi)]
                      if end <= hi]
            upstream = next((n for n, _ in stages if n in FETCHERS),
                            stages[-1][0] if stages else "")
            fed = _echoed(stages[-1][1]) if stages and upstream in ("echo", "printf") else None
            listed = _listed(stages[-1][1]) if stages else ()
            filtered = bool(stages) and _filtered(stages[-1][1])
        here = next((w for op, w in cmd.redirects if op == "<<<"), None)
        stdin = here.text if here is not None else shape.heredoc if shape.heredoc is not None \
            else fed
        redirects = tuple((op, _arg(w)) for op, w in cmd.redirects if op != "<<<")
        for op, target in redirects:
            if op == "<" and posixpath.basename(target.text) in scope.files:
                stdin = scope.files[posixpath.basename(target.text)]
        base = Invocation(
            "", redirects=redirects, stdin_from=upstream, function=shape.function or function,
            forked=shape.forked, stdin_text=stdin, span=cmd.span, cwd=cwd, listed=listed,
            filtered=filtered)
        stdin_dynamic = here is not None and here.dynamic
        own = params if not shape.function else None  # a body's $1 is its call's, not ours
        words = _positional(cmd.words, own) if own is not None else cmd.words
        assigns = _assignments(cmd.assigns, base, depth, scope)
        resolved = assigns + _resolve(replace(cmd, words=words), base, depth, scope,
                                      stdin_dynamic)
        first = resolved[len(assigns)] if len(resolved) > len(assigns) else None
        if first is not None and first.name in ("cd", "pushd"):
            cwd = _chdir(cwd, first)
        if first is not None and first.name == "set" and not shape.function:
            params = _set_params(first, params)
        if first is not None:
            _remember(first, scope)
        out.extend(resolved)
    return out


def _echoed(cmd: SimpleCommand) -> str | None:
    """Return what a literal ``echo``/``printf`` writes to a pipe, or None."""
    words = bashparse.unwrap(cmd.words)[1:]
    if any(w.dynamic for w in words):
        return None
    texts = [w.text for w in words]
    while texts and texts[0] in ("-n", "-e", "-E", "-ne", "-en", "--"):
        texts.pop(0)
    return " ".join(texts).replace("\\n", "\n") + "\n"


_LISTERS = frozenset({"find", "ls", "fd", "fdfind", "locate", "du", "tree"})


def _listed(cmd: SimpleCommand) -> tuple[Arg, ...]:
    """Return the roots a ``find``/``ls`` stage lists (``.`` when it names none)."""
    words = bashparse.unwrap(cmd.words)
    if not words or _name(words[:1]) not in _LISTERS:
        return ()
    if _name(words[:1]) == "find":
        roots = []
        for word in bashparse_find_roots(words[1:]):
            if word.text.startswith(("-", "(", "!")):
                break
            roots.append(_arg(word))
    else:
        roots = [_arg(w) for w in words[1:] if not w.text.startswith("-")]
    return tuple(roots) or (Arg("."),)


_NARROWING = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename",
                        "-regex", "-iregex", "-inum", "-samefile", "-newer", "-mtime", "-mmin",
                        "-atime", "-amin", "-ctime", "-cmin", "-size", "-empty", "-user",
                        "-links", "-perm", "-lname", "-ilname"})


def bashparse_find_roots(words: tuple[Word, ...]) -> tuple[Word, ...]:
    """Drop find's leading -H/-L/-P/-D x options (as :func:`find_roots`, on words)."""
    args = find_roots(tuple(_arg(w) for w in words))
    return words[len(words) - len(args):]


def _filtered(cmd: SimpleCommand) -> bool:
    """Say whether a ``find`` stage selects entries by a test (so never lists its roots)."""
    words = bashparse.unwrap(cmd.words)
    return _name(words[:1]) == "find" and any(w.text in _NARROWING for w in words)


_POSITIONAL = re.compile(r'^"?\$(?:([@*])|\{([@*])\}|([1-9])|\{([1-9])\})"?$')


def _positional(words: tuple[Word, ...], params: tuple[Arg, ...]) -> tuple[Word, ...]:
    """Replace ``"$@"``, ``$*``, ``$1``… by the known positional parameters."""
    out: list[Word] = []
    for word in words:
        match = _POSITIONAL.match(word.raw) if word.dynamic else None
        if match is None:
            out.append(word)
            continue
        digit = match.group(3) or match.group(4)
        chosen = params if digit is None else params[int(digit) - 1:int(digit)]
        out.extend(Word(a.text, a.raw or a.text, a.dynamic, word.span) for a in chosen)
    return tuple(out)


def _set_params(inv: Invocation, params: tuple[Arg, ...] | None) -> tuple[Arg, ...] | None:
    """Follow ``set -- a b`` (and ``set a b``): the new positional parameters."""
    words = inv.words
    if "--" in words:
        return inv.args[words.index("--") + 1:]
    if words and not words[0].startswith(("-", "+")):
        return inv.args
    return params


#: variables whose value bash runs as code later (prompts run command substitutions)
_CODE_VARIABLES = frozenset({"PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS4"})
#: variables naming a file that every non-interactive bash (or sh) sources
_SOURCED_VARIABLES = frozenset({"BASH_ENV", "ENV"})


def _assignments(assigns: tuple[Word, ...], base: Invocation, depth: int,
                 scope: _Scope) -> list[Invocation]:
    """Judge ``PROMPT_COMMAND=…`` as code and ``BASH_ENV=FILE`` as a sourced file."""
    out: list[Invocation] = []
    for word in assigns:
        out.extend(_assigned_code(word.text, word.dynamic, base, depth, scope))
    return out


def _assigned_code(text: str, dynamic: bool, base: Invocation, depth: int,
                   scope: _Scope) -> list[Invocation]:
    name, sep, value = text.partition("=")
    if not sep or not value:
        return []
    if name in _CODE_VARIABLES and (name == "PROMPT_COMMAND" or re.search(r"\$\(|`", value)):
        return _code(value, dynamic and name == "PROMPT_COMMAND", name, base, depth, scope)
    if name in _SOURCED_VARIABLES:
        written = scope.files.get(posixpath.basename(value))
        if written is not None:
            return _code(written, False, name, base, depth, scope)
        return [replace(base, name=name, unknown=f"{name} names a file every new shell sources")]
    return []


def _remember(inv: Invocation, scope: _Scope) -> None:
    """Record what ``inv`` defines for later commands: files, downloads, renames."""
    name, words = inv.name, inv.words
    if name == "hash" and "-p" in words:
        i = words.index("-p")
        if i + 2 < len(words):
            scope.renamed[words[i + 2]] = posixpath.basename(words[i + 1])
    elif name == "ln" and "s" in flags(inv)[0]:
        ops = [w for w in words if not w.startswith("-")]
        if len(ops) == 2:
            scope.renamed[posixpath.basename(ops[1])] = posixpath.basename(ops[0])
    if inv.stdin_text is not None and name in ("cat", "tee", ""):
        targets = [t.text for op, t in inv.redirects if op in (">", ">>", ">|")]
        targets += [w for w in words if not w.startswith("-")] if name == "tee" else []
        for written in targets:
            scope.files[posixpath.basename(written)] = inv.stdin_text
    if name in ("echo", "printf"):
        text = " ".join(w for w in words if w not in ("-n", "-e", "-E")) + "\n"
        for op, redirect in inv.redirects:
            if op in (">", ">>", ">|") and not any(a.dynamic for a in inv.args):
                scope.files[posixpath.basename(redirect.text)] = text.replace("\\n", "\n")
    if name in ("curl", "wget", "fetch"):
        for target in _download_targets(inv):
            scope.downloads[posixpath.basename(target)] = name
            scope.files.pop(posixpath.basename(target), None)


def _download_targets(inv: Invocation) -> list[str]:
    words = inv.words
    out = [words[i + 1] for i, w in enumerate(words[:-1])
           if w in ("-o", "--output", "-O", "--output-document")
           and not (inv.name == "curl" and w == "-O")]
    out += [w.split("=", 1)[1] for w in words if w.startswith(("--output=",
                                                              "--output-document="))]
    urls = [w for w in words if "://" in w]
    if urls and ((inv.name == "wget" and not out) or (inv.name == "curl" and (
            "O" in flags(inv)[0] or "--remote-name" in words))):
        out += [posixpath.basename(u.split("?", 1)[0].rstrip("/")) for u in urls]
    return [o for o in out if o and o != "-"]


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


def _resolve(cmd: SimpleCommand, base: Invocation, depth: int, scope: _Scope,
             stdin_dynamic: bool) -> list[Invocation]:
    if not cmd.words:
        return [base] if base.redirects else []
    out = _from_words(cmd.words, base, depth, scope, stdin_dynamic)
    first = out[0] if out else None
    if first is None:
        return out
    if first.name in scope.aliases and not first.unknown:
        out[1:1] = _expand_alias(first, cmd, base, depth, scope)
    elif first.name in scope.functions and not first.unknown and first.name != base.function:
        out[1:1] = _expand_function(first, base, depth, scope)
    if first.name == "alias":
        for arg in first.args:
            name, sep, body = arg.text.partition("=")
            if sep:
                if arg.dynamic:
                    scope.aliases[name] = ""
                else:
                    scope.aliases[name] = body
                out.extend(_code(body, arg.dynamic, f"alias {name}", base, depth, scope))
    elif first.name in ("export", "declare", "typeset", "local", "readonly"):
        for arg in first.args:
            out.extend(_assigned_code(arg.text, arg.dynamic, base, depth, scope))
    return out


def _expand_alias(inv: Invocation, cmd: SimpleCommand, base: Invocation, depth: int,
                  scope: _Scope) -> list[Invocation]:
    body = scope.aliases[inv.name]
    if not body or scope.budget <= 0:
        return [replace(inv, unknown=f"uses the alias {inv.name!r}, whose body is only known "
                        "at run time")]
    scope.budget -= 1
    head = next(i for i, w in enumerate(cmd.words) if posixpath.basename(w.text) == inv.name)
    text = " ".join([body, *(w.raw for w in cmd.words[head + 1:])])
    return _code(text, False, f"alias {inv.name}", base, depth, scope)


def _expand_function(inv: Invocation, base: Invocation, depth: int,
                     scope: _Scope) -> list[Invocation]:
    """Judge a function's body where it is called, with ``$@`` bound to the call's words."""
    if depth >= MAX_DEPTH or scope.budget <= 0:
        return []
    scope.budget -= 1
    nested = collect(scope.functions[inv.name], depth + 1, base.cwd, params=inv.args,
                     scope=scope, function=inv.name)
    return [replace(n, span=base.span, forked=n.forked or base.forked) for n in nested]


def _from_words(words: tuple[Word, ...], base: Invocation, depth: int, scope: _Scope,
                stdin_dynamic: bool = False) -> list[Invocation]:
    """Build the invocation(s) a word list runs, following code strings."""
    split = _env_split(words)
    if split is not None:
        text, dynamic = split
        return _code(text, dynamic, "env -S", base, depth, scope)
    inner = bashparse.unwrap(words)
    if not inner:
        return []
    wrappers = {_name(words[i:i + 1]) for i in range(len(words) - len(inner))}
    if "parallel" in wrappers:
        return _parallel(inner, base, depth, scope)
    if "coproc" in wrappers and len(inner) > 1 and inner[1].text in ("{", "("):
        inner = inner[2:]  # coproc NAME { cmd; }
        if not inner:
            return []
    head, rest = inner[0], inner[1:]
    name = _name(inner)
    name = scope.renamed.get(name, name)
    inv = replace(base, name=name, args=tuple(_arg(w) for w in rest),
                  more_args=base.more_args or "xargs" in wrappers)
    if head.dynamic:
        return [replace(inv, unknown=f"the command name {head.raw} is only known at run time")]
    base = replace(base, more_args=inv.more_args)  # `xargs sh -c 'rm -rf {}'` stays unknown
    if re.search(r"\s", head.text):  # `watch 'rm -rf /'` runs its argument through sh -c
        return [inv, *_code(head.text, False, head.text, base, depth, scope)]
    if inv.name in DIALECTS:
        inv = _sql_file(inv, scope)
    out = [inv]
    script = _script(inv, head)
    if script in scope.downloads:
        out[0] = inv = replace(inv, script_from=scope.downloads[script])
    code = _code_word(inv)
    if code is not None:
        text, dynamic, what = code
        out.extend(_code(text, dynamic, what, base, depth, scope))
    elif script in scope.files:
        out.extend(_code(scope.files[script], False, script, base, depth, scope))
    elif inv.name == "ssh" and (inv.stdin_text is not None or inv.stdin_from or stdin_dynamic):
        out[0:1] = _stdin_code(inv, base, depth, scope, stdin_dynamic)  # remote shell reads stdin
    elif inv.name in INTERPRETERS and _interpreter_inline(inv):
        out[0] = replace(inv, unknown=f"{inv.name} runs inline code the guard cannot read")
    elif inv.name in ("awk", "gawk", "mawk") and any("system(" in a.text for a in inv.args):
        out[0] = replace(inv, unknown=f"{inv.name} program calls system()")
    elif runs_stdin(inv):
        out[0:1] = _stdin_code(inv, base, depth, scope, stdin_dynamic)
    elif inv.name in SHELLS | {"source", "."} and any(
            a.raw.startswith("<(") for a in inv.args) and not re.search(
            r"\b(curl|wget)\b", " ".join(a.raw for a in inv.args)):
        out[0] = replace(inv, unknown=f"{inv.name} runs the output of a process substitution")
    elif inv.name in ("crontab", "at", "batch"):
        out.extend(_scheduled(inv, base, depth, scope, stdin_dynamic))
    elif inv.name == "trap":
        out.extend(_trap(inv, base, depth, scope))
    elif inv.name in _CONTAINER_RUNNERS:
        out.extend(_container(inv, base, depth, scope))
    for op, target in inv.redirects:
        if op == "<" and posixpath.basename(target.text) in scope.downloads and runs_stdin(inv):
            out[0] = replace(out[0], script_from=scope.downloads[
                posixpath.basename(target.text)])
    if inv.name == "find":
        out.extend(_find_exec(rest, base, depth, scope))
    return out


def _sql_file(inv: Invocation, scope: _Scope) -> Invocation:
    """``psql -f F`` / ``mysql -e 'source F'``: read F when this command line wrote it."""
    words = inv.words
    for i, word in enumerate(words):
        name = ""
        if word in ("-f", "--file") and i + 1 < len(words):
            name = words[i + 1]
        elif word.startswith("--file="):
            name = word.split("=", 1)[1]
        written = scope.files.get(posixpath.basename(name)) if name else None
        if written is not None:
            return replace(inv, stdin_text=(inv.stdin_text or "") + "\n" + written)
    return inv


def _script(inv: Invocation, head: Word) -> str:
    """Return the basename of the script file ``inv`` runs (``bash x.sh``, ``./x.sh``)."""
    if "/" in head.text and inv.name not in SHELLS | INTERPRETERS:
        return inv.name
    if inv.name in SHELLS | INTERPRETERS | {"source", "."}:
        ops = [a for a in inv.args if not a.text.startswith("-")]
        if ops and not ops[0].dynamic and "c" not in flags(inv)[0]:
            return posixpath.basename(ops[0].text)
    return ""


def _env_split(words: tuple[Word, ...]) -> tuple[str, bool] | None:
    """Return the command ``env -S 'STRING' …`` runs (STRING split as words), or None."""
    if not words or _name(words[:1]) != "env":
        return None
    for i, word in enumerate(words[1:], 1):
        text = word.text
        if text in ("-S", "--split-string") and i + 1 < len(words):
            tail = words[i + 1:]
            return " ".join([tail[0].text, *(w.raw for w in tail[1:])]), tail[0].dynamic
        if text.startswith("--split-string=") or (text.startswith("-S") and len(text) > 2):
            value = text.split("=", 1)[1] if text.startswith("--") else text[2:]
            return " ".join([value, *(w.raw for w in words[i + 1:])]), word.dynamic
        if not text.startswith("-") and "=" not in text:
            return None
    return None


def _parallel(inner: tuple[Word, ...], base: Invocation, depth: int,
              scope: _Scope) -> list[Invocation]:
    """``parallel CMD ::: a b``: judge CMD once per argument (``{}`` replaced)."""
    texts = [w.text for w in inner]
    cut = next((i for i, t in enumerate(texts) if t in (":::", "::::", ":::+")), len(texts))
    cmd, values = inner[:cut], [w for w in inner[cut + 1:] if w.text not in (":::", ":::+")]
    reads_files = cut < len(texts) and texts[cut] == "::::"
    if not cmd:
        return []
    template = " ".join(w.raw for w in cmd)
    if len(cmd) == 1 and re.search(r"\s", cmd[0].text):
        template = cmd[0].text
    if reads_files or cut == len(texts) or any(v.dynamic for v in values):
        more = replace(base, more_args=True)
        return _code(template.replace("{}", ""), False, "parallel", more, depth, scope)
    out: list[Invocation] = []
    for value in values[:16]:
        quoted = shlex.quote(value.text)
        text = template.replace("{}", quoted) if "{}" in template else f"{template} {quoted}"
        out.extend(_code(text, False, "parallel", base, depth, scope))
    return out


def _scheduled(inv: Invocation, base: Invocation, depth: int, scope: _Scope,
               stdin_dynamic: bool) -> list[Invocation]:
    """Judge what ``crontab -`` / ``crontab FILE`` / ``at`` / ``batch`` will run later."""
    ops = [a for a in inv.args if not a.text.startswith("-") or a.text == "-"]
    text = inv.stdin_text
    if inv.name == "crontab":
        if any(a.text[:2] in ("-l", "-r", "-e") for a in inv.args):
            return []
        words = inv.words
        user = words[words.index("-u") + 1:words.index("-u") + 2] if "-u" in words else ()
        files = [a for a in ops if a.text != "-" and a.text not in user]
        if files:
            text = scope.files.get(posixpath.basename(files[0].text))
            if text is None:
                return []  # a crontab file the runbook did not write: like running a script
    elif "-f" in inv.words:
        i = inv.words.index("-f")
        text = scope.files.get(posixpath.basename(inv.words[i + 1])) if i + 1 < len(
            inv.words) else None
    if text is None:
        if stdin_dynamic or inv.stdin_from:
            return [replace(inv, unknown=f"{inv.name} schedules code only known at run time")]
        return []
    if inv.name == "crontab":
        text = "\n".join(_cron_command(line) for line in text.splitlines())
    return _code(text, False, f"{inv.name} job", base, depth, scope)


def _cron_command(line: str) -> str:
    """Return the command of one crontab line (time fields and VAR= lines dropped)."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or re.match(r"^\w+\s*=", stripped):
        return ""
    fields = stripped.split(None, 1 if stripped.startswith("@") else 5)
    return fields[-1] if len(fields) > (1 if stripped.startswith("@") else 5) else ""


def _trap(inv: Invocation, base: Invocation, depth: int, scope: _Scope) -> list[Invocation]:
    """``trap 'CODE' SIGNAL``: CODE runs later, so it is judged now."""
    args = list(inv.args)
    if args and args[0].text == "--":
        args = args[1:]
    if len(args) < 2 or args[0].text in ("-", "-p", "-l", "-P"):
        return []
    return _code(args[0].text, args[0].dynamic, "trap", base, depth, scope)


_CONTAINER_RUNNERS = frozenset({"docker", "podman", "nerdctl"})
_RUN_OPTS_WITH_ARG = frozenset({
    "-v", "--volume", "--mount", "-e", "--env", "--env-file", "-p", "--publish", "-w",
    "--workdir", "-u", "--user", "--name", "--network", "--net", "--entrypoint", "-l", "--label",
    "-h", "--hostname", "--cpus", "-m", "--memory", "--restart", "--device", "--add-host",
    "--log-driver", "--log-opt", "--platform", "--pull", "--cap-add", "--cap-drop",
    "--security-opt", "--ulimit", "--tmpfs", "--dns", "--gpus", "--ipc", "--pid", "--runtime",
    "--shm-size", "--stop-signal", "--group-add", "--health-cmd", "--userns", "--uts",
    "--cgroupns", "--memory-swap", "--cpu-shares", "--cpuset-cpus", "--link", "--volumes-from",
    "--expose", "--label-file", "--cidfile"})


def _container(inv: Invocation, base: Invocation, depth: int,
               scope: _Scope) -> list[Invocation]:
    """``docker run -v /:/host IMG CMD``: CMD reaches the host through its mounts.

    The container's own files are its own business, so CMD is judged only when a
    host path is mounted, with the container paths mapped back to host paths
    (``rm -rf /host`` with ``-v /:/host`` is ``rm -rf /``).
    """
    words = list(inv.words)
    sub = [w for w in words[:2] if not w.startswith("-")]
    if not sub or sub[-1] not in ("run", "create"):
        return []
    i = words.index(sub[-1]) + 1
    mounts: list[tuple[str, str]] = []
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        value = words[i + 1] if word in _RUN_OPTS_WITH_ARG and i + 1 < len(words) else (
            word.split("=", 1)[1] if "=" in word else "")
        key = word.split("=", 1)[0]
        if key in ("-v", "--volume") and ":" in value:
            host, _, rest = value.partition(":")
            mounts.append((host, rest.split(":", 1)[0]))
        elif key == "--mount" and ("source=" in value or "src=" in value):
            parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
            src = parts.get("source", parts.get("src", ""))
            dst = parts.get("target", parts.get("destination", parts.get("dst", "")))
            mounts.append((src, dst))
        i += 2 if word in _RUN_OPTS_WITH_ARG else 1
    host_mounts = [(h, c) for h, c in mounts if h.startswith(("/", "~", "$")) and c]
    command = inv.args[i + 1:]
    if not host_mounts or not command:
        return []
    text = " ".join(a.raw or a.text for a in command)
    for host, inside in sorted(host_mounts, key=lambda m: -len(m[1])):
        pattern = r"(?<![\w./-])" + re.escape(inside.rstrip("/")) + r"(?=/|\s|$|['\"])"
        text = re.sub(pattern, (host.rstrip("/") or "/").replace("\\", "\\\\"), text)
    return _code(text, False, f"{inv.name} run (host mounts)", base, depth, scope)


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


def _code(text: str, dynamic: bool, what: str, base: Invocation, depth: int,
          scope: _Scope) -> list[Invocation]:
    """Judge a string that a shell will run; dynamic strings are unresolvable."""
    if dynamic:
        return [replace(base, name=what, unknown=f"{what} runs code only known at run time")]
    if depth >= MAX_DEPTH:
        return [replace(base, name=what, unknown=f"{what}: code nested too deeply")]
    nested = collect(text, depth + 1, base.cwd, scope=scope)
    return [replace(n, span=base.span, function=n.function or base.function,
                    more_args=n.more_args or base.more_args) for n in nested]


def _interpreter_inline(inv: Invocation) -> bool:
    if inv.name.startswith("python"):
        return any(w.startswith("-") and not w.startswith("--") and "c" in w.lstrip("-")
                   for w in inv.words[:1]) or "-c" in inv.words
    opts = _INLINE_CODE.get(inv.name, ())
    return any(w in opts or (w[:2] in opts and len(w) > 2) for w in inv.words)


def _stdin_code(inv: Invocation, base: Invocation, depth: int, scope: _Scope,
                dynamic: bool) -> list[Invocation]:
    """Judge code that a shell or interpreter reads from its standard input."""
    if inv.stdin_text is not None or dynamic:
        if inv.name in SHELLS | {"ssh"}:
            return [inv, *_code(inv.stdin_text or "", dynamic, f"{inv.name} <<", base, depth,
                                scope)]
        return [replace(inv, unknown=f"{inv.name} reads a program from a here-document")]
    if inv.stdin_from and inv.stdin_from not in FETCHERS:
        return [replace(inv, unknown=f"code piped from {inv.stdin_from} into {inv.name}")]
    return [inv]


def _find_exec(rest: tuple[Word, ...], base: Invocation, depth: int,
               scope: _Scope) -> list[Invocation]:
    out: list[Invocation] = []
    i = 0
    while i < len(rest):
        if rest[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((k for k in range(i + 1, len(rest)) if rest[k].text in (";", "+")),
                       len(rest))
            out.extend(_from_words(rest[i + 1:end], base, depth, scope))
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


def _shapes(command: str, scope: _Scope) -> dict[int, _Shape]:
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
            fname = text.decode("utf-8", errors="replace")
            shape = replace(shape, function=fname)
            body = node.child_by_field_name("body")
            if body is not None and fname:
                code = data[body.start_byte:body.end_byte].decode("utf-8", errors="replace")
                scope.functions[fname] = code.strip().removeprefix("{").removesuffix("}")
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
