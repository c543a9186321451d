"""The scribe's pure core: realistic incidents become the right drafts."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from reifier.core.classify import assign_roles
from reifier.core.draft import NO_COMMANDS, UNKNOWN_SYMPTOM, DraftInputs, EditInfo, build_draft
from reifier.core.models import CommandEvent, RunbookDraft, Session
from reifier.core.params import parse_parameters_cell

INCIDENTS = Path(__file__).resolve().parents[1] / "data" / "incidents"
T0 = 1763978400.0


def load_incident(name: str) -> tuple[Session, dict[str, Any], DraftInputs]:
    data = json.loads((INCIDENTS / f"{name}.json").read_text())
    events = []
    edits: dict[int, EditInfo] = {}
    after = data.get("after", {})
    snaps: list[tuple[int, str, str]] = []
    for i, c in enumerate(data["commands"]):
        events.append(CommandEvent(
            command=c["cmd"], started=T0 + c["t"], shell_session="s", host=data["host"],
            user=data["user"], cwd=c.get("cwd"), duration=c.get("dur"), exit_code=c.get("exit"),
            seq=i, snapshot=f"snap-{i}" if "snapshot" in c else None))
        if "snapshot" in c:
            path = c["cmd"].split()[-1]
            snaps.append((i, path, c["snapshot"]))
    for i, path, before in snaps:
        final = after.get(path, before)  # the file as it is when the draft is written
        diff = "".join(difflib.unified_diff(before.splitlines(True), final.splitlines(True),
                                            fromfile=path, tofile=path))
        edits[i] = EditInfo(path, diff)
    cmds = assign_roles(events)
    session = Session(id="abc123", shell_session="s", host=data["host"], user=data["user"],
                      started=T0, ended=T0 + data["commands"][-1]["t"], commands=cmds)
    return session, data["expect"], DraftInputs(edits=edits)


def code_cells(draft: RunbookDraft, tag: str) -> list[str]:
    return [c.source for c in draft.cells if c.kind == "code" and tag in c.tags]


def params_of(draft: RunbookDraft) -> dict[str, str]:
    (src,) = code_cells(draft, "parameters")
    return parse_parameters_cell(src)


def steps(draft: RunbookDraft) -> list[str]:
    return [c.source for c in draft.cells
            if c.kind == "code" and "parameters" not in c.tags]


def test_db_lockup_fix_is_exactly_three_commands(fixtures_dir: Path) -> None:
    from reifier.core.history.registry import formats

    data = (fixtures_dir / "histories" / "db_lockup_bash_history").read_bytes()
    result = formats.detect(data).parse(data, source="t", shell_session="s", host="db-1",
                                        user="alice")
    first15 = [e for e in result.events if e.started is not None][:15]
    session = Session(id="x", shell_session="s", host="db-1", user="alice",
                      started=first15[0].started, ended=first15[-1].started,
                      commands=assign_roles(first15))
    draft = build_draft(session)
    fixes = code_cells(draft, "fix")
    assert fixes == ['systemctl stop "$SERVICE"', 'rm "$LOCK_FILE"', 'systemctl start "$SERVICE"']
    assert params_of(draft) == {"SERVICE": "app", "LOCK_FILE": "/var/cache/app.lock",
                                "LOG_FILE": "/var/log/app/app.log"}
    assert code_cells(draft, "verify") == ['cat "$LOG_FILE"']
    assert draft.meta["status"] == "draft"
    assert draft.cells[1].source.endswith(f"**{UNKNOWN_SYMPTOM}**")
    diag = next(c.source for c in draft.cells if c.source.startswith("## Diagnosis"))
    assert "`cat /var/cache/app.lock`" in diag and "`ls`" not in diag


@pytest.mark.parametrize("name", sorted(p.stem for p in INCIDENTS.glob("*.json")))
def test_incident_draft(name: str) -> None:
    session, expect, inputs = load_incident(name)
    draft = build_draft(session, inputs)
    fix_seq = code_cells(draft, "fix") + code_cells(draft, "edit")
    if "fix" in expect:
        assert fix_seq == expect["fix"]
    if "fix_prefixes" in expect:
        body = steps(draft)
        assert len(body) >= len(expect["fix_prefixes"])
        for src, prefix in zip(body, expect["fix_prefixes"]):
            assert src.startswith(prefix), (src, prefix)
    if "verify" in expect:
        tail = steps(draft)[-len(expect["verify"]) :]
        assert tail == expect["verify"]
    assert params_of(draft) == expect["params"]
    for needle in expect.get("patch_contains", []):
        assert needle in "\n".join(steps(draft))
    for bad in expect.get("not_in_fix", []):
        assert bad not in fix_seq
    origin = draft.cells[-1].source
    for reason, n in expect.get("dropped", {}).items():
        assert f"{n} {reason}" in origin
    for d in expect.get("diagnosis", []):
        assert f"`{d}`" in next(c.source for c in draft.cells if c.source.startswith("## Diagnosis"))
    for cell in draft.cells:
        if cell.kind == "code" and "parameters" not in cell.tags:
            assert cell.meta["role"] in {"fix", "edit", "verify"}
            assert cell.meta["started"].endswith("Z")


def test_edit_becomes_idempotent_patch_cell() -> None:
    session, _, inputs = load_incident("nginx_config_edit")
    draft = build_draft(session, inputs)
    (edit,) = code_cells(draft, "edit")
    assert "patch --forward" in edit and "--reverse" in edit
    assert edit.count("REIFIER_PATCH") == 4


def test_no_commands_asks_about_gui() -> None:
    session = Session(id="e", shell_session="s", host="h", user="u", started=T0, ended=T0,
                      commands=assign_roles([CommandEvent("ls", T0, "s"), CommandEvent("cd /", T0 + 1, "s")]))
    draft = build_draft(session, DraftInputs(symptoms=("disk full on /var",)))
    text = "\n".join(c.source for c in draft.cells)
    assert NO_COMMANDS in text
    assert not [c for c in draft.cells if c.kind == "code"]
    assert draft.meta["symptoms"] == ["disk full on /var"]
    assert draft.title.startswith("Fix: disk full")


def test_interactive_edit_without_snapshot_fails_until_replaced() -> None:
    cmds = assign_roles([CommandEvent("vim /etc/app.conf", T0, "s", exit_code=0),
                         CommandEvent("systemctl restart app", T0 + 5, "s", exit_code=0)])
    session = Session(id="e", shell_session="s", host="h", user="u", started=T0, ended=T0 + 5,
                      commands=cmds)
    (edit,) = code_cells(build_draft(session), "edit")
    assert edit.rstrip().endswith("false") and "not captured" in edit


def test_parameter_values_never_lift_flags_or_subcommands() -> None:
    cmds = assign_roles([CommandEvent("systemctl restart nginx --no-block", T0, "s", exit_code=0)])
    session = Session(id="e", shell_session="s", host="h", user="u", started=T0, ended=T0,
                      commands=cmds)
    draft = build_draft(session)
    assert code_cells(draft, "fix") == ['systemctl restart "$SERVICE" --no-block']
    assert params_of(draft) == {"SERVICE": "nginx"}


def test_titles_cut_at_words_without_masks_and_ids_unique_per_session() -> None:
    from reifier.core.draft import runbook_id, title_for
    from reifier.core.models import Session

    session = Session("s1", "sh", "h", "u", 0.0, 0.0, 1)
    line = ("ConnectionRefusedError: [Errno 111] Connection refused connecting to upstream "
            "backend service at 10.0.0.1:8080 after retries")
    title = title_for(session, [line], {})
    assert "<" not in title and "Errno" not in title and title.endswith("…")
    assert len(title) <= 65 and not title[:-1].endswith(("refus", "conne"))
    assert title_for(session, ["cannot start: lock file /srv/a.lock exists (pid 42)"],
                     {}) == "Fix: cannot start: lock file exists"
    assert runbook_id(title, "s1") == runbook_id(title, "s1")
    assert runbook_id(title, "s1") != runbook_id(title, "s2")


def test_the_draft_note_says_approved_once_approved() -> None:
    from reifier.core.draft import approved_note

    note = ("*Draft written by Reifier from session `s1` on `h` by `u`. Review every cell, "
            "then `reifier approve` it: drafts never run.*")
    out = approved_note(f"# T\n\n{note}\n", "bob", "2026-12-03T10:00:00Z")
    assert "never run" not in out and "approved by `bob` at 2026-12-03T10:00:00Z" in out
    assert "from session `s1` on `h` by `u`" in out
