"""Frozen value types shared by the core and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Roles a command can play in a session (see :mod:`reifier.core.classify`).
ROLES = ("noise", "diagnostic", "fix", "edit", "verify")


@dataclass(frozen=True)
class CommandEvent:
    """One command as the engineer typed it, already redacted.

    ``started`` is a Unix time with microseconds, or ``None`` when the source
    (a plain bash history) does not say when the command ran.
    """

    command: str
    started: float | None
    shell_session: str
    host: str = ""
    user: str = ""
    cwd: str | None = None
    duration: float | None = None
    exit_code: int | None = None
    source: str = ""
    seq: int = 0  # position in its source, keeps order when times tie or are unknown
    role: str = ""
    redactions: tuple[str, ...] = ()  # names of the secret rules that fired
    snapshot: str | None = None  # id of a pre-edit file snapshot taken by the hook

    def with_(self, **changes: object) -> CommandEvent:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Session:
    """Commands of one shell session with no idle gap longer than the threshold."""

    id: str
    shell_session: str
    host: str
    user: str
    started: float | None
    ended: float | None
    commands: tuple[CommandEvent, ...] = ()
    closed: bool = False

    @property
    def role_counts(self) -> dict[str, int]:
        """Count the commands per role, every role present."""
        counts = dict.fromkeys(ROLES, 0)
        for cmd in self.commands:
            counts[cmd.role or "noise"] = counts.get(cmd.role or "noise", 0) + 1
        return counts


@dataclass(frozen=True)
class Skipped:
    """A line or record a parser could not use, and why (never its content)."""

    line: int
    reason: str


@dataclass(frozen=True)
class ParseResult:
    """What a history parser produced from one input."""

    events: tuple[CommandEvent, ...]
    skipped: tuple[Skipped, ...] = ()
    consumed: int = 0  # bytes fully consumed (a truncated last record is left for later)
    fmt: str = ""
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftCell:
    """One notebook cell of a runbook, independent of nbformat."""

    kind: str  # "markdown" | "code"
    source: str
    tags: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)  # goes to metadata["reifier"]


@dataclass(frozen=True)
class RunbookDraft:
    """A runbook before it becomes files: its cells and ``metadata.reifier``."""

    id: str
    title: str
    cells: tuple[DraftCell, ...]
    meta: dict[str, object] = field(default_factory=dict)
