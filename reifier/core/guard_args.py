"""Words and paths as the guard sees them: the :class:`Invocation` model and its helpers.

Flag and operand parsing is deliberately forgiving (any ``-xyz`` word is a set of
short flags) because the guard errs towards seeing a flag that is not there.
Paths are normalised (``/tmp/../etc`` is ``/etc``) before they are classified.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

#: the rule name of whatever the guard cannot resolve statically
UNRESOLVABLE = "unresolvable"

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "nodejs",
                          "php", "lua", "Rscript", "pwsh", "osascript", "tclsh"})
#: upstream commands whose output piped into a shell is remote or obfuscated code
FETCHERS = frozenset({"curl", "wget", "fetch", "base64", "xxd", "openssl", "nc", "ncat"})
SCRATCH_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - judged, never written
#: top-level dirs where anything recursive at any depth is a system change
DEEP_SYSTEM = frozenset({"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32",
                         "proc", "sbin", "sys", "usr"})
CRITICAL_FILES = frozenset({"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
                            "/etc/sudoers", "/etc/fstab", "/etc/crypttab", "/etc/ld.so.preload"})
CRITICAL_TREES = ("/boot/", "/var/lib/", "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/",
                  "/usr/lib/", "/lib/", "/lib64/", "/etc/pam.d/", "/etc/sudoers.d/")
SAFE_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty",
                          "/dev/random", "/dev/urandom", "/dev/full"})
BLOCK_DEVICE = re.compile(r"^/dev/(sd|hd|vd|xvd|nvme|mmcblk|md|dm-|loop|mapper/|disk/|root\b)")
GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Arg:
    """One word: its literal text after quote removal, its source, and whether it expands."""

    text: str
    raw: str = ""
    dynamic: bool = False


@dataclass(frozen=True)
class Invocation:
    """A simple command as the rules see it, wrappers removed."""

    name: str
    args: tuple[Arg, ...] = ()
    redirects: tuple[tuple[str, Arg], ...] = ()
    stdin_from: str = ""  # name of the command piping into this one
    stdin_text: str | None = None  # literal here-doc / here-string body
    more_args: bool = False  # xargs appends operands only known at run time
    function: str = ""  # name of the function whose body holds this command
    forked: bool = False  # in a pipeline or in the background
    unknown: str = ""  # why this command cannot be resolved statically
    cwd: str = ""  # directory an earlier literal `cd` in the same command moved to
    script_from: str = ""  # the fetcher that downloaded the script this command runs
    listed: tuple[Arg, ...] = ()  # roots a `find`/`ls` upstream lists into this command
    filtered: bool = False  # that `find` selects by name, age, size…: never its own roots
    span: tuple[int, int] = (0, 0)

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Return the literal text of the arguments."""
        return tuple(a.text for a in self.args)


# --- argument helpers ---------------------------------------------------------------


def flags(inv: Invocation) -> tuple[frozenset[str], frozenset[str]]:
    """Return the short flag letters and the long options (before ``--``)."""
    short: set[str] = set()
    long: set[str] = set()
    for word in inv.words:
        if word == "--":
            break
        if word.startswith("--"):
            long.add(word.split("=", 1)[0])
        elif word.startswith("-") and len(word) > 1:
            short.update(word[1:])
    return frozenset(short), frozenset(long)


def operands(inv: Invocation, with_arg: frozenset[str] = frozenset()) -> list[Arg]:
    """Return the non-option arguments; options in ``with_arg`` consume the next word."""
    out: list[Arg] = []
    skip = rest = False
    for arg in inv.args:
        if skip:
            skip = False
        elif rest or not arg.text.startswith("-") or arg.text == "-":
            out.append(arg)
        elif arg.text == "--":
            rest = True
        else:
            skip = arg.text in with_arg
    return out


def find_roots(args: tuple[Arg, ...]) -> tuple[Arg, ...]:
    """Drop find's leading -H/-L/-P/-D x/-Ox options: its roots come next."""
    i = 0
    while (i < len(args) and args[i].text in ("-H", "-L", "-P", "-D")) or (
            i < len(args) and args[i].text.startswith("-O")):
        i += 2 if args[i].text == "-D" else 1
    return args[i:]


def recursive(inv: Invocation) -> bool:
    short, long = flags(inv)
    return bool(short & {"r", "R"}) or "--recursive" in long


def runs_stdin(inv: Invocation) -> bool:
    """Say whether a shell or interpreter would read its program from standard input."""
    if inv.name not in SHELLS | INTERPRETERS:
        return False
    short, long = flags(inv)
    if inv.name in SHELLS:
        if "s" in short:
            return True
        if "c" in short:
            return False
    elif short & {"m", "c", "e", "E", "r", "p"} or long & {"--eval", "--print", "--version"}:
        return False  # a module, inline code or a query: not a program on stdin
    ops = operands(inv, frozenset({"-o", "+o", "-O", "-W", "-X"}))
    return not ops or ops[0].text == "-"


# --- path classification ------------------------------------------------------------

#: path kinds from worst to most harmless; brace alternatives report the worst
SEVERITY = ("root", "home", "system", "cwd", "emptyvar", "unknown", "outside", "guarded",
            "scratch", "relative")
_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")
_LEAD_VAR = re.compile(r"^\$(?:(\w+)|\{(\w+)([^}]*)\})(.*)$", re.DOTALL)


def path_kind(arg: Arg, cwd: str = "") -> tuple[str, str]:
    """Classify a path operand as root/home/cwd/system/outside/scratch/relative/…

    Returns the kind and the normalised path that was judged. Brace alternatives
    are each judged and the worst wins. Dynamic words are judged by their leading
    variable: ``$HOME`` is home, ``${X:?}`` is guarded, an unguarded ``$X/`` is
    ``emptyvar`` (``rm -rf "$X/"*`` is ``rm -rf /*`` when ``X`` is empty), anything
    else is ``unknown``. ``cwd`` (from an earlier ``cd`` in the same command) only
    ever makes a relative path worse: ``cd / && rm -rf etc`` is ``/etc``.
    """
    source = arg.raw or arg.text
    if not arg.dynamic or not re.search(r"[$`]", source):  # globs and braces: judged as text
        judged = [literal_kind(alt, cwd) for alt in expand_braces(arg.text)]
        return min(judged, key=lambda kn: SEVERITY.index(kn[0]))
    flat = source.replace('"', "").replace("'", "")
    match = _LEAD_VAR.match(flat)
    if flat.startswith("~") and "$" not in flat.split("/", 1)[0]:
        return literal_kind(flat)
    if match is None:
        return "unknown", flat
    var, modifier, rest = match.group(1) or match.group(2), match.group(3) or "", match.group(4)
    if var == "HOME":
        return literal_kind("~" + rest)
    if var in SCRATCH_VARIABLES and not modifier and _below(rest):
        return "scratch", flat  # $TMPDIR/cache: a named entry of the scratch dir
    if modifier.startswith((":?", "?")):
        return "guarded", flat
    if rest.startswith("/") and not modifier.startswith((":-", ":=", "-", "=")):
        return "emptyvar", flat
    return "unknown", flat


#: variables that name a scratch or cache directory (set by the system or the session)
SCRATCH_VARIABLES = frozenset({"TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"})


def _below(rest: str) -> bool:
    """Say whether ``/name…`` names something inside a dir (not the dir, not a bare glob)."""
    parts = [p for p in rest.split("/") if p and p != "."]
    return bool(parts) and ".." not in parts and not GLOB.fullmatch(parts[0]) and not (
        GLOB.search(parts[0]) and len(parts) == 1 and parts[0].strip("*?") == "")


def expand_braces(text: str, limit: int = 64) -> list[str]:
    """Expand ``a{b,c}`` alternatives (not ``{1..9}`` ranges) into the words they make."""
    done: list[str] = []
    todo = [text]
    while todo and len(done) + len(todo) < limit:
        word = todo.pop()
        match = _BRACE.search(word)
        if match is None:
            done.append(word)
            continue
        head, tail = word[: match.start()], word[match.end():]
        todo.extend(head + alt + tail for alt in match.group(1).split(","))
    return done + todo


def literal_kind(path: str, cwd: str = "") -> tuple[str, str]:
    """Classify a literal (quote-removed) path; see :func:`path_kind`."""
    if path.startswith("~"):
        rest = path.partition("/")[2]
        norm = posixpath.normpath("/" + rest)
        if norm == "/" or GLOB.search(norm.split("/")[1]):
            return "home", path
        if norm.startswith("/.cache/") and _below(norm[len("/.cache"):]):
            return "scratch", path  # ~/.cache/pip: a cache, rebuilt on demand
        return "outside", path
    if path.startswith("/"):
        norm = "/" + posixpath.normpath(path).lstrip("/")
        parts = norm.strip("/").split("/")
        if norm == "/" or GLOB.search(parts[0]):
            return "root", norm
        for root in SCRATCH_ROOTS:
            if norm.startswith(root + "/"):
                return "scratch", norm
        if norm.startswith("/var/cache/") and _below(norm[len("/var/cache"):]):
            return "scratch", norm
        if len(parts) == 1 or parts[0] in DEEP_SYSTEM or (len(parts) == 2 and parts[0] != "tmp"):
            return "system", norm
        return "outside", norm
    if cwd and path:
        resolved = literal_kind(posixpath.join(cwd, path))
        if resolved[0] in ("root", "home", "system"):
            return resolved
    norm = posixpath.normpath(path) if path else path
    comps = norm.split("/")
    if all(c in (".", "..") for c in comps[:-1]) and (
        comps[-1] in (".", "..") or re.fullmatch(r"[*?.\[\]!]+", comps[-1]) is not None
    ):
        return "cwd", norm
    return "relative", norm


def dangerous_target(arg: Arg, kinds: frozenset[str], cwd: str = "") -> str | None:
    """Describe ``arg`` when its path kind is one of ``kinds``, else return None."""
    kind, norm = path_kind(arg, cwd)
    if kind in kinds:
        shown = norm if norm == arg.text else f"{norm} (from {arg.text})"
        return f"{kind} path {shown}"
    return None


def critical(path: str) -> bool:
    """Say whether overwriting ``path`` breaks the system (passwd, /boot, /var/lib…)."""
    norm = "/" + posixpath.normpath(path).lstrip("/") if path.startswith("/") else path
    return (norm in CRITICAL_FILES or norm.startswith(CRITICAL_TREES)
            or norm.endswith(".ssh/authorized_keys"))


def block_device(path: str) -> bool:
    """Say whether ``path`` names a disk, partition or device-mapper volume."""
    return path not in SAFE_DEVICES and bool(BLOCK_DEVICE.match(path))


# --- dry runs -----------------------------------------------------------------------

#: long options that make a command only print what it would do
DRY_RUN_OPTIONS = frozenset({"--help", "-help", "--dry-run", "--dryrun", "--simulate",
                             "--just-print",
                             "--what-if", "--check", "--noop", "--no-act", "--print-only"})
#: tools whose -n (or other short option) means "dry run"
DRY_RUN_SHORT = {"rsync": "n", "make": "n", "git": "n", "apt-get": "s", "apt": "s",
                 "ansible-playbook": "C", "dpkg": "", "rm": "", "find": ""}


def dry_run(inv: Invocation) -> bool:
    """Say whether ``inv`` only prints help or what it would do (``--help``, ``--dry-run``…).

    ``--dry-run=none`` / ``=false`` is a real run. Only options before ``--`` count.
    """
    for word in inv.words:
        if word == "--":
            break
        key, _, value = word.partition("=")
        if key in DRY_RUN_OPTIONS and value.lower() not in ("none", "false", "0", "no"):
            return True
    letters = DRY_RUN_SHORT.get(inv.name, "")
    if letters:
        short, _ = flags(inv)
        if inv.name == "git":
            sub = next((w for w in inv.words if not w.startswith("-")), "")
            return sub in ("clean", "push", "add", "rm", "mv") and "n" in short
        return bool(set(letters) & short)
    return False
