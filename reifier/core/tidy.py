"""Reduce a session to the commands worth replaying.

Rules, applied in order (each drop is counted by reason so the draft can say
what it left out):

1. ``noise`` goes (``ls``, ``cd``, ``whoami``...); a ``cd`` still moves the
   working directory the following commands ran in.
2. ``command not found`` (exit 127/126) goes.
3. A command that failed and is followed, within the next three kept commands,
   by a similar one of the same role (same program, text ≥ 60 % alike) goes: it
   was a typo or a wrong first attempt that the engineer corrected or retried.
   A failed fix or edit goes too when *any* later change of the same intent
   succeeded (:func:`~reifier.core.classify.same_intent`): a ``systemctl start``
   that failed until the config was fixed several commands later, a typo in a
   path corrected after a detour. A failed fix or edit that nothing confirmed
   stays, as a diagnostic (see ``assign_roles``), never in the fix sequence; the
   count says so (:data:`UNCONFIRMED`).
4. Diagnostics are de-duplicated (the first run is kept); an exact repeat of a
   fix, edit or verify command directly after itself is collapsed.
5. Two edits of the same file collapse into one (the first snapshot is the
   "before" of the whole change).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from reifier.core.classify import (
    CHANGES,
    NOT_RUN,
    edit_targets,
    is_interactive_edit,
    same_intent,
    simple_commands,
    unconfirmed_change,
)
from reifier.core.models import CommandEvent

RETRY_WINDOW = 3
SIMILAR = 0.6
#: Counted (not dropped from the draft: listed under Diagnosis) for a change that failed
#: and was never followed by a success of the same intent.
UNCONFIRMED = "failed change never followed by a success (listed under Diagnosis, not run)"
RETRIED = "failed, then corrected or retried"


@dataclass(frozen=True)
class Tidied:
    """The kept commands (with effective cwd) and what was dropped, by reason."""

    kept: tuple[CommandEvent, ...]
    dropped: dict[str, int] = field(default_factory=dict)


def _program(cmd: str) -> str:
    argv = simple_commands(cmd)
    return argv[0][0] if argv and argv[0] else cmd.split(" ", 1)[0]


def _cd_target(cmd: str) -> str | None:
    parts = simple_commands(cmd)
    if len(parts) == 1 and parts[0][:1] == ("cd",):
        args = [a for a in parts[0][1:] if not a.startswith("-")]
        return args[0] if args else "~"
    return None


def _follow_cwd(commands: Sequence[CommandEvent]) -> list[CommandEvent]:
    """Give every command the directory it ran in, replaying ``cd`` when unknown."""
    out = []
    cwd: str | None = None
    for c in commands:
        target = _cd_target(c.command)
        if target is not None:
            if c.cwd:
                cwd = c.cwd  # the hook records $PWD after the command: the new directory
            elif target.startswith("/"):
                cwd = posixpath.normpath(target)
            elif cwd and target not in {"-", "~"} and not target.startswith("~"):
                cwd = posixpath.normpath(posixpath.join(cwd, target))
            else:
                cwd = None
            out.append(replace(c, cwd=cwd))
            continue
        if c.cwd:
            cwd = c.cwd
        out.append(c if c.cwd else replace(c, cwd=cwd))
    return out


def _failed(c: CommandEvent) -> bool:
    return c.exit_code not in (None, 0)


def tidy(commands: Sequence[CommandEvent]) -> Tidied:
    """Apply the clean-up rules to commands that already carry their roles."""
    dropped: dict[str, int] = {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    staged: list[CommandEvent] = []
    for c in _follow_cwd(commands):
        if c.exit_code in NOT_RUN:  # a typo: noise by its role too, counted as what it is
            drop("command not found")
        elif (c.role or "noise") == "noise":
            drop("noise")
        else:
            staged.append(c)

    kept: list[CommandEvent] = []
    for i, c in enumerate(staged):
        if _failed(c) and (
            _corrected_later(c, staged[i + 1 : i + 1 + RETRY_WINDOW])
            or _change_retried(c, staged[i + 1 :])
        ):
            drop(RETRIED)
            continue
        if unconfirmed_change(c):
            drop(UNCONFIRMED)
        kept.append(c)

    final: list[CommandEvent] = []
    seen_diag: set[str] = set()
    edited: set[str] = set()
    for c in kept:
        if c.role == "diagnostic":
            if c.command in seen_diag:
                drop("repeated diagnostic")
                continue
            seen_diag.add(c.command)
        elif final and final[-1].command == c.command and final[-1].role == c.role:
            drop("exact repeat")  # keep the first: its snapshot is the "before"
            continue
        if c.role == "edit":
            targets = tuple(edit_targets(c.command))
            if targets and all(t in edited for t in targets) and is_interactive_edit(c.command):
                drop("second edit of the same file")
                continue
            edited.update(targets)
        final.append(c)
    return Tidied(kept=tuple(final), dropped=dropped)


def _corrected_later(c: CommandEvent, following: Sequence[CommandEvent]) -> bool:
    program = _program(c.command)
    for nxt in following:
        # a failing check before a fix is the symptom, not a typo: only the same role retries
        if _failed(nxt) or nxt.role != c.role:
            continue
        same_program = _program(nxt.command) == program
        ratio = SequenceMatcher(None, c.command, nxt.command).ratio()
        if (same_program and ratio >= SIMILAR) or ratio >= 0.8:
            return True
    return False


def _change_retried(c: CommandEvent, following: Sequence[CommandEvent]) -> bool:
    """Tell whether a failed fix/edit was retried or corrected, successfully, later on."""
    return c.role in CHANGES and any(
        not _failed(nxt) and nxt.role in CHANGES and same_intent(c.command, nxt.command)
        for nxt in following
    )
