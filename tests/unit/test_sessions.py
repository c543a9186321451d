"""Splitting commands into sessions at idle gaps."""

from __future__ import annotations

from reifier.core.models import CommandEvent
from reifier.core.sessions import build_sessions, is_closed, session_id, split_times


def ev(t: float | None, cmd: str = "x", shell: str = "s1", seq: int = 0) -> CommandEvent:
    return CommandEvent(command=cmd, started=t, shell_session=shell, seq=seq)


def test_gap_over_threshold_splits() -> None:
    spans = split_times("s", [(0.0, 1.0), (100.0, None), (401.0, None), (702.0, 0.0)], 300)
    assert [s.count for s in spans] == [2, 1, 1]
    assert spans[0].started == 0.0 and spans[0].ended == 100.0


def test_gap_exactly_threshold_keeps_one_session() -> None:
    assert len(split_times("s", [(0.0, None), (300.0, None)], 300)) == 1


def test_gap_counts_from_end_of_long_command() -> None:
    # a 10-minute build followed 1 minute later by a check is one session
    assert len(split_times("s", [(0.0, 600.0), (660.0, None)], 300)) == 1


def test_unknown_times_form_their_own_session() -> None:
    sessions = build_sessions([ev(None, "a", seq=1), ev(None, "b", seq=2), ev(10.0)], 300)
    assert [len(s.commands) for s in sessions] == [2, 1]
    assert [c.command for c in sessions[0].commands] == ["a", "b"]


def test_sessions_per_shell_and_sorted() -> None:
    evs = [ev(50.0, "b", "s2"), ev(0.0, "a", "s1"), ev(10.0, "c", "s1")]
    sessions = build_sessions(evs, 300)
    assert [(s.shell_session, len(s.commands)) for s in sessions] == [("s1", 2), ("s2", 1)]


def test_ids_are_stable_and_distinct() -> None:
    assert session_id("s", 1.5) == session_id("s", 1.5)
    assert session_id("s", 1.5) != session_id("s", 1.6)
    assert session_id("s", None) != session_id("t", None)


def test_is_closed() -> None:
    assert is_closed(0.0, 301.0, 300)
    assert not is_closed(0.0, 300.0, 300)


def test_which_closed_sessions_are_drafted_automatically() -> None:
    from reifier.core.sessions import draft_worthy

    def ev(cmd: str, role: str) -> CommandEvent:
        return CommandEvent(cmd, 1.0, "s", role=role)

    incident = [ev("df -h", "diagnostic"), ev("rm /var/log/app/old.1", "fix")]
    assert draft_worthy(incident) == ""
    assert draft_worthy([ev("ls", "noise"), ev("less app.log", "diagnostic")]) == "no fix or edit"
    assert "job control" in draft_worthy([ev("kill %1", "fix"), ev("jobs", "fix")])
    assert "only 1 command" in draft_worthy([ev("systemctl restart app", "fix")])
    assert draft_worthy([ev("systemctl restart app", "fix")], min_kept=1) == ""
