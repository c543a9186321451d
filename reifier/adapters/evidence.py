"""Gather what a draft needs from the machine: log symptoms, edit diffs, related files.

Everything here is read-only and bounded (bytes read, files walked, seconds
spent), because it runs when a session closes, on a machine in trouble.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from reifier.core.classify import simple_commands
from reifier.core.draft import EditInfo
from reifier.core.models import CommandEvent, Session
from reifier.core.redact import SecretRule, redact

LOG_READERS = {"tail", "less", "more", "cat", "head", "grep", "egrep", "zcat", "zgrep", "zless"}
ERROR_LINE = re.compile(
    r"\b(ERROR|FATAL|CRIT(?:ICAL)?|PANIC|EMERG|SEVERE|Exception|Traceback|[Ff]ailed|[Ff]ailure|"
    r"[Dd]enied|[Rr]efused|[Tt]imed out|[Dd]eadlock|No space left|[Oo]ut of memory|OOM|"
    r"segfault|Connection reset)\b"
)
ISO_TS = re.compile(
    r"^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?\]?\s*"
)
SYSLOG_TS = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})\s+")
TAIL_BYTES = 1 << 20
LOOKBACK_S = 3600.0
MAX_SYMPTOMS = 3

# A secret in a config file's line (``password = x``, ``token: x``, ``"api_key": "x"``,
# ``requirepass x``), as a line of a unified diff: on top of the rules for commands.
# Booleans, numbers and ``$VAR``/``{{ }}`` references are not secrets
# (``PasswordAuthentication no``, ``token_ttl = 3600``).
_CONFIG_KEY = (r"[\w.-]*(?:token|secret|passw(?:or)?d|pass|passphrase|api_?key|private_?key"
               r"|credentials?|access_?key|secret_?key|auth_?token|signing_?key|pwd)[\w.-]*")
_NOT_SECRET = r"(?!(?:yes|no|true|false|on|off|none|null|\d+)[\"']?[ \t]*(?:[#;].*)?$)(?![$]|\{\{)"  # noqa: S105
CONFIG_SECRET = SecretRule(
    "config-secret",
    re.compile(
        r"(?im)^[ +-]?[ \t]*[\"']?" + _CONFIG_KEY
        + r"[\"']?(?:[ \t]*[=:][ \t]*|[ \t]+(?=\S+[ \t]*$))"
        + r"(?P<q>[\"'])?" + _NOT_SECRET
        + r"(?P<secret>(?(q)[^\"'\n<>]+|[^\s\"'<>][^\n<>]*?))(?(q)(?P=q))[ \t]*,?[ \t]*$"
    ),
    "password = hunter2",
    "hunter2",
    ("token", "secret", "pass", "key", "credential", "pwd"),
)


def redact_file_text(text: str) -> str:
    """Redact a file's text or a diff of it: the rules for commands, then config lines."""
    return redact(text, (CONFIG_SECRET,)).text


def _line_time(line: str, year: int) -> float | None:
    m = ISO_TS.match(line)
    if m:
        zone = m.group(3) or ""
        stamp = f"{m.group(1)}T{m.group(2)}{'+00:00' if zone in ('', 'Z') else zone}"
        try:
            return datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            return None
    m = SYSLOG_TS.match(line)
    if m:
        try:
            return datetime.strptime(
                f"{year} {m.group(1)} {m.group(2)} {m.group(3)}", "%Y %b %d %H:%M:%S"
            ).timestamp()
        except ValueError:
            return None
    return None


def log_files_read(commands: Iterable[CommandEvent]) -> list[Path]:
    """Return log files the session's diagnostic commands read (existing files only)."""
    found: list[Path] = []
    for c in commands:
        if c.role not in {"diagnostic", "verify"}:
            continue
        for argv in simple_commands(c.command):
            if not argv or argv[0] not in LOG_READERS:
                continue
            args = [a for a in argv[1:] if not a.startswith("-")]
            if argv[0] in {"grep", "egrep", "zgrep"} and args:
                args = args[1:]
            for arg in args:
                path = Path(arg) if arg.startswith("/") else Path(c.cwd or "/") / arg
                if path.is_file() and path not in found:
                    found.append(path)
    return found


def _journal_units(commands: Iterable[CommandEvent]) -> list[str]:
    units = []
    for c in commands:
        for argv in simple_commands(c.command):
            if argv[:1] == ("journalctl",):
                units += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-u", "--unit")]
    return units


def _journal_lines(unit: str, start: float, end: float) -> list[str]:
    if not shutil.which("journalctl"):
        return []
    try:
        out = subprocess.run(
            [
                "journalctl",
                "-u",
                unit,
                "--since",
                f"@{int(start)}",
                "--until",
                f"@{int(end) + 1}",
                "-p",
                "warning",
                "-o",
                "cat",
                "--no-pager",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return out.stdout.splitlines()[-2000:]


def _read_tail(path: Path) -> list[str]:
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read()
    except OSError:
        return []
    if b"\0" in data[:4096]:
        return []  # binary (a gzip, a database): not a log we can read
    return data.decode("utf-8", "replace").splitlines()[-20000:]


def log_symptoms(session: Session) -> list[str]:
    """Infer symptoms: error lines of the logs the session read, in its time window."""
    from reifier.core.patterns import make_template, strip_prefix

    if session.started is None:
        return []
    start, end = session.started - LOOKBACK_S, (session.ended or session.started) + 1
    year = time.gmtime(session.started).tm_year
    lines: list[str] = []
    for path in log_files_read(session.commands):
        file_lines = _read_tail(path)
        timed = [(t, ln) for ln in file_lines if (t := _line_time(ln, year)) is not None]
        if timed:
            lines += [ln for t, ln in timed if start <= t <= end]
        else:
            lines += file_lines[-200:]
    for unit in _journal_units(session.commands):
        lines += _journal_lines(unit, start, end)
    # the message without its log header (time, host, level, process): what recurs
    errors = [strip_prefix(ln) for ln in lines if ERROR_LINE.search(ln)]
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for ln in errors:
        key = make_template(ln).text
        counts[key] += 1
        example.setdefault(key, ln)
    return [redact(example[k]).text[:500] for k, _ in counts.most_common(MAX_SYMPTOMS)]


def edit_diffs(session: Session, snapshots_root: Path) -> dict[int, EditInfo]:
    """Diff each snapshotted edit against the file as it is now.

    Two edits of one file therefore both show the whole change (first snapshot to
    final content); the scribe keeps only the first of them.
    """
    from reifier.core.classify import edit_targets

    edits: dict[int, EditInfo] = {}
    for c in session.commands:
        if not c.snapshot:
            continue
        snap = Path(c.snapshot)
        if not snap.is_absolute():
            snap = snapshots_root / snap
        targets = edit_targets(c.command)
        if not targets or not snap.is_file():
            continue
        target = targets[0]
        target_path = Path(target) if target.startswith("/") else Path(c.cwd or "/") / target
        try:
            before = snap.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
            after = target_path.read_text(encoding="utf-8", errors="replace").splitlines(
                keepends=True
            )
        except OSError:
            continue
        diff = "".join(difflib.unified_diff(before, after, fromfile=target, tofile=target))
        # both sides and the context: a secret never reaches the draft, only its key
        edits[c.seq] = EditInfo(path=str(target_path), diff=redact_file_text(diff))
    return edits


SNAPSHOT_RETENTION_S = 7 * 86400.0


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def discard_snapshots(session: Session, snapshots_root: Path) -> int:
    """Delete the session's pre-edit snapshots (its draft holds the redacted diff now).

    Only files under ``snapshots_root`` are deleted, and their shell's folder once
    empty. Returns how many files went.
    """
    gone = 0
    for c in session.commands:
        if not c.snapshot:
            continue
        snap = Path(c.snapshot)
        snap = snap if snap.is_absolute() else snapshots_root / snap
        if not _inside(snap, snapshots_root):
            continue
        try:
            snap.unlink()
            gone += 1
        except OSError:
            continue
        with contextlib.suppress(OSError):
            snap.parent.rmdir()  # only when empty: the shell may still be editing
    return gone


def prune_snapshots(snapshots_root: Path, now: float | None = None,
                    max_age_s: float = SNAPSHOT_RETENTION_S) -> int:
    """Delete snapshots taken more than ``max_age_s`` ago (sessions never drafted).

    The copy's ctime is when it was taken (its mtime is the edited file's, kept
    by ``install -p``). Also makes the folder 0700 if an older hook left it open.
    """
    if not snapshots_root.is_dir():
        return 0
    now = time.time() if now is None else now
    gone = 0
    with contextlib.suppress(OSError):
        snapshots_root.chmod(0o700)
    for folder in snapshots_root.iterdir():
        if not folder.is_dir() or folder.is_symlink():
            continue
        for snap in folder.iterdir():
            try:
                if now - snap.lstat().st_ctime > max_age_s:
                    snap.unlink()
                    gone += 1
            except OSError:
                continue
        with contextlib.suppress(OSError):
            folder.rmdir()
    return gone


def related_files(
    terms: Sequence[str], dirs: Sequence[str], limit: int = 20
) -> list[tuple[str, str]]:
    """Grep the configured context directories for terms; return (term, path:line)."""
    terms = [t for t in dict.fromkeys(terms) if len(t) >= 3]
    if not terms or not dirs:
        return []
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    hits: list[tuple[str, str]] = []
    walked = 0
    for root in dirs:
        base = Path(root).expanduser()
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"]
            for name in filenames:
                walked += 1
                if walked > 5000 or len(hits) >= limit:
                    return hits
                path = Path(dirpath) / name
                try:
                    if path.stat().st_size > 512 * 1024:
                        continue
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                for n, line in enumerate(text.splitlines(), 1):
                    m = pattern.search(line)
                    if m:
                        hits.append((m.group(0), f"{path}:{n}"))
                        break
    return hits
