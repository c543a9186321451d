"""Roles in context and the clean-up: exit statuses, reproductions, typos, retries.

Each session is what an engineer typed in one of the incidents of issue 14 (a
service with a wrong port fixed with ``sed -i`` and a restart, a failing
reproduction, a restart retried after the real fix…); the assertions are on the
roles :func:`assign_roles` gives, what :func:`tidy` keeps, and the draft's fix
sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reifier.core.classify import assign_roles, same_intent
from reifier.core.draft import build_draft, iso
from reifier.core.models import CommandEvent, Session
from reifier.core.tidy import RETRIED, UNCONFIRMED, tidy

T0 = 1763978400.0


def events(*lines: tuple[str, int | None], shell: str = "s") -> tuple[CommandEvent, ...]:
    """Build a session's events from (command, exit status) pairs, then give them roles."""
    raw = [
        CommandEvent(cmd, T0 + i, shell, cwd="/srv/inventory", exit_code=code, seq=i)
        for i, (cmd, code) in enumerate(lines)
    ]
    return assign_roles(raw)


def roles(evs: Sequence[CommandEvent]) -> list[tuple[str, str]]:
    return [(e.command, e.role) for e in evs]


def fix_sequence(evs: Sequence[CommandEvent]) -> list[str]:
    """Return the commands of the draft's fix cells (before parameter lifting)."""
    session = Session("abc123", "s", "web-1", "gina", T0, T0 + len(evs), tuple(evs))
    draft = build_draft(session)
    cells = [c for c in draft.cells if c.kind == "code" and {"fix", "edit"} & set(c.tags)]
    changes = [c for c in tidy(evs).kept if c.role in {"fix", "edit"}]
    # one fix cell per kept change, in order
    assert [cell.meta["started"] for cell in cells] == [iso(c.started) for c in changes]
    return [c.command for c in changes]


def origin(evs: Sequence[CommandEvent]) -> str:
    session = Session("abc123", "s", "web-1", "gina", T0, T0 + len(evs), tuple(evs))
    return build_draft(session).cells[-1].source


WRONG_PORT = (
    ("cd /srv/inventory", 0),
    ("./invctl status", 3),  # the service is down: the check fails, it is still a check
    ("curl -fsS http://127.0.0.1:8080/health", 7),  # before any fix: a diagnostic
    ("tail -n 50 logs/inventory.log", 0),
    ("tldr sed", 0),
    ("sde -i 's/8081/8080/' inventory.conf", 127),  # a typo: noise
    ("grep -n port inventory.conf", 0),
    ("sed -i 's/port=8081/port=8080/' inventory.conf", 0),
    ("./invctl restart", 0),
    ("./invctl status", 0),
    ("curl -fsS http://127.0.0.1:8080/health", 0),
    ("history | tail -n 20", 0),
)


def test_wrong_port_session_roles() -> None:
    assert roles(events(*WRONG_PORT)) == [
        ("cd /srv/inventory", "noise"),
        ("./invctl status", "diagnostic"),
        ("curl -fsS http://127.0.0.1:8080/health", "diagnostic"),
        ("tail -n 50 logs/inventory.log", "diagnostic"),
        ("tldr sed", "noise"),
        ("sde -i 's/8081/8080/' inventory.conf", "noise"),
        ("grep -n port inventory.conf", "diagnostic"),
        ("sed -i 's/port=8081/port=8080/' inventory.conf", "edit"),
        ("./invctl restart", "fix"),
        ("./invctl status", "verify"),
        ("curl -fsS http://127.0.0.1:8080/health", "verify"),
        ("history | tail -n 20", "noise"),
    ]


def test_wrong_port_session_fix_sequence_and_counts() -> None:
    evs = events(*WRONG_PORT)
    assert fix_sequence(evs) == [
        "sed -i 's/port=8081/port=8080/' inventory.conf",
        "./invctl restart",
    ]
    tidied = tidy(evs)
    assert tidied.dropped == {"noise": 3, "command not found": 1}


def test_failing_reproduction_is_a_diagnostic_and_its_rerun_verifies() -> None:
    evs = events(
        ("./exporter-run", 1),
        ("cat exporter.yml", 0),
        ("sed -i 's/:9100/:9101/' exporter.yml", 0),
        ("./exporter-run", 0),
    )
    assert [e.role for e in evs] == ["diagnostic", "diagnostic", "edit", "verify"]
    assert fix_sequence(evs) == ["sed -i 's/:9100/:9101/' exporter.yml"]


def test_a_guessed_fix_that_succeeds_stays_a_fix() -> None:
    evs = events(("./repair-index --all", 0), ("./search-ctl status", 0))
    assert [e.role for e in evs] == ["fix", "verify"]


def test_failed_restart_retried_after_the_real_fix_is_dropped() -> None:
    evs = events(
        ("systemctl restart app", 1),
        ("journalctl -u app -n 50", 0),
        ("cat /etc/app/app.conf", 0),
        ("ls /etc/app", 0),
        ("sed -i 's/^port=.*/port=8080/' /etc/app/app.conf", 0),
        ("systemctl restart app", 0),
        ("curl -fsS http://127.0.0.1:8080/health", 0),
    )
    assert evs[0].role == "fix"  # confirmed by the later success, so a retry
    assert fix_sequence(evs) == [
        "sed -i 's/^port=.*/port=8080/' /etc/app/app.conf",
        "systemctl restart app",
    ]
    assert tidy(evs).dropped[RETRIED] == 1


def test_typo_corrected_several_commands_later_is_dropped() -> None:
    evs = events(
        ("sed -i 's/8081/8080/' /etc/app/app.cnf", 2),  # no such file
        ("ls /etc/app", 0),
        ("cat /etc/app/app.conf", 0),
        ("grep -rn 8081 /etc/app", 0),
        ("df -h", 0),
        ("sed -i 's/8081/8080/' /etc/app/app.conf", 0),
        ("systemctl restart app", 0),
    )
    assert fix_sequence(evs) == [
        "sed -i 's/8081/8080/' /etc/app/app.conf",
        "systemctl restart app",
    ]
    assert tidy(evs).dropped[RETRIED] == 1


def test_failed_change_never_confirmed_is_not_a_fix_and_the_draft_says_so() -> None:
    evs = events(
        ("rm /var/cache/app/app.lock", 1),  # no such file: nothing changed
        ("systemctl restart nginx", 1),  # another unit's restart is no retry of it
        ("systemctl restart app", 0),
        ("curl -fsS http://127.0.0.1:8080/health", 0),
    )
    assert [e.role for e in evs] == ["diagnostic", "diagnostic", "fix", "verify"]
    assert fix_sequence(evs) == ["systemctl restart app"]
    assert tidy(evs).dropped[UNCONFIRMED] == 2
    assert f"2 {UNCONFIRMED}" in origin(evs)


def test_status_check_failing_while_down_never_enters_the_fix() -> None:
    evs = events(
        ("systemctl status app", 3),
        ("systemctl is-active app", 3),  # a check before any fix is a diagnostic
        ("systemctl restart app", 0),
        ("systemctl is-active app", 0),
    )
    assert [e.role for e in evs] == ["diagnostic", "diagnostic", "fix", "verify"]
    assert fix_sequence(evs) == ["systemctl restart app"]


def test_a_check_without_any_fix_is_a_diagnostic() -> None:
    evs = events(("curl -fsS http://127.0.0.1:8080/healthz", 0), ("nginx -t", 0))
    assert [e.role for e in evs] == ["diagnostic", "diagnostic"]


def test_checks_between_fixes_stay_checks() -> None:
    evs = events(("vim /etc/nginx/nginx.conf", 0), ("nginx -t", 0), ("nginx -s reload", 0))
    assert [e.role for e in evs] == ["edit", "verify", "fix"]


def test_unknown_exit_status_changes_nothing() -> None:
    """Imported plain history has no exit statuses: only the static roles apply."""
    evs = events(("./exporter-run", None), ("rm /tmp/x.lock", None), ("sde -i x f", None))
    assert [e.role for e in evs] == ["fix", "fix", "verify"]


def test_context_is_per_shell_session() -> None:
    a = events(("systemctl restart app", 1), shell="a")
    b = events(("systemctl restart app", 0), shell="b")
    assert assign_roles(a + b)[0].role == "diagnostic"  # b's success is another shell's


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("systemctl restart app", "sudo systemctl start app", True),
        ("systemctl restart ap", "systemctl restart app", True),
        ("rm /var/cache/app.lock", "rm -f /var/cache/app.lock", True),
        ("systemctl restart app", "systemctl restart nginx", False),
        ("docker restart web", "docker restart db", False),
        ("sed -i 's/a/b/' /etc/app.cnf", "sed -i 's/a/b/' /etc/app.conf", True),
        ("rm /var/cache/app.lock", "systemctl restart app", False),
    ],
)
def test_same_intent(a: str, b: str, same: bool) -> None:
    assert same_intent(a, b) is same
