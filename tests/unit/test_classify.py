"""Command roles: the tables, wrappers, hard syntax, the contextual verify rule."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reifier.core.classify import (
    EDITORS,
    RELAYS,
    RULES,
    STRENGTH,
    Editor,
    Relay,
    RoleLists,
    RoleRule,
    assign_roles,
    classify,
    edit_targets,
    simple_commands,
)
from reifier.core.config import Settings
from reifier.core.models import ROLES, CommandEvent


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.role}:{r.example}")
def test_rule_example(rule: RoleRule) -> None:
    assert classify(rule.example) == rule.role


@pytest.mark.parametrize("editor", EDITORS, ids=lambda e: e.command)
def test_editor_example(editor: Editor) -> None:
    assert classify(editor.example) == "edit"
    assert edit_targets(editor.example) == editor.expect


@pytest.mark.parametrize("relay", RELAYS, ids=lambda r: r.command)
def test_relay_example_is_classified_by_what_it_runs(relay: Relay) -> None:
    assert classify(relay.example) == "fix"


def test_roles_are_the_models_roles() -> None:
    assert set(STRENGTH) == set(ROLES)
    assert {r.role for r in RULES} <= set(ROLES)


def first_commands(path: Path, count: int) -> list[str]:
    """Read single-line entries of a `#epoch` bash history (enough for this fixture)."""
    lines = path.read_text().splitlines()
    return [ln for prev, ln in pairwise(lines) if re.fullmatch(r"#\d+", prev)][:count]


def test_db_lockup_session(fixtures_dir: Path) -> None:
    commands = first_commands(fixtures_dir / "histories" / "db_lockup_bash_history", 15)
    assert len(commands) == 15
    events = [CommandEvent(c, 1763978400.0 + i, "s1", seq=i) for i, c in enumerate(commands)]
    roles = {(e.seq, e.command): e.role for e in assign_roles(events)}
    fixes = [cmd for (_, cmd), role in roles.items() if role == "fix"]
    assert fixes == ["systemctl stop app", "rm /var/cache/app.lock", "systemctl start app"]
    assert roles[(14, "cat /var/log/app/app.log")] == "verify"
    assert roles[(4, "cat app.log")] == "diagnostic"  # before the fix: still a diagnostic
    for (_, cmd), role in roles.items():
        if cmd.split()[0] in {"ls", "cd"}:
            assert role == "noise", cmd


def test_verify_rule_is_per_shell_session() -> None:
    events = [
        CommandEvent("systemctl restart app", 1.0, "a"),
        CommandEvent("journalctl -u app", 2.0, "b"),
        CommandEvent("journalctl -u app", 3.0, "a"),
        CommandEvent("ls", 4.0, "a"),
    ]
    assert [e.role for e in assign_roles(events)] == ["fix", "diagnostic", "verify", "noise"]


@pytest.mark.parametrize(
    ("command", "role"),
    [
        ("sudo -u postgres psql -c 'select 1'", "diagnostic"),
        ("sudo -u postgres psql -c 'DELETE FROM locks'", "fix"),
        ("sudo -E systemctl restart app", "fix"),
        ("env X=1 systemctl restart y", "fix"),
        ("X=1 systemctl restart y", "fix"),
        ("time systemctl restart y", "fix"),
        ("time ls", "noise"),
        ("nohup ./repair.sh &", "fix"),
        ("nice -n 10 timeout 30 tail -n 100 /var/log/syslog", "diagnostic"),
        ("ps aux | grep nginx", "diagnostic"),
        ("find /var/log -name '*.gz' | xargs rm -f", "fix"),
        ("(cd /srv/app && git pull)", "fix"),
        ("ls && systemctl status nginx", "diagnostic"),
        ("kill $(pgrep -f runaway)", "fix"),
        ("echo $(date)", "noise"),
        ("watch -n 1 kubectl get pods", "diagnostic"),
        ("bash -c 'systemctl restart app'", "fix"),
        ("ssh web1 'df -h'", "diagnostic"),
        ("ssh web-01", "noise"),
        ("su - postgres -c 'psql -c \"vacuum full\"'", "fix"),
    ],
)
def test_wrappers_and_combinations(command: str, role: str) -> None:
    assert classify(command) == role


@pytest.mark.parametrize(
    ("command", "role"),
    [
        ("time cat /var/log/app.log", "diagnostic"),
        ("case $1 in stop) systemctl stop app;; esac", "fix"),
        ("[[ -f /var/run/app.pid ]] && kill $(cat /var/run/app.pid)", "fix"),
        ("echo $(( 1 + 2 ))", "noise"),
        ("for h in web1 web2; do\n  ssh $h uptime\ndone", "diagnostic"),
        ("if ! systemctl is-active app; then systemctl start app; fi", "fix"),
        ("f() { rm -f /tmp/x; }; f", "fix"),
    ],
)
def test_constructs_bashlex_fails_on(command: str, role: str) -> None:
    assert classify(command) == role


@pytest.mark.parametrize(
    ("command", "role"),
    [
        ("echo hello", "noise"),
        ("echo 'max_connections = 200' >> /etc/postgresql/postgresql.conf", "edit"),
        ("ps aux > /tmp/ps.txt", "diagnostic"),
        ("systemctl restart app > /dev/null 2>&1", "fix"),
        ("cat <<EOF > /etc/app/app.conf\nport=8080\nEOF", "edit"),
        ("> /var/log/app/debug.log", "edit"),
        ("echo 1 | sudo tee /proc/sys/vm/drop_caches", "edit"),
        ("journalctl -u app | tee /tmp/app.txt", "diagnostic"),
        ("sed -i 's/a/b/' /etc/app.conf", "edit"),
        ("sed 's/a/b/' /etc/app.conf", "diagnostic"),
        ("kubectl edit deploy/api", "edit"),
        ("crontab -e", "edit"),
        ("vim /tmp/scratch.yaml", "edit"),
    ],
)
def test_edits(command: str, role: str) -> None:
    assert classify(command) == role


@pytest.mark.parametrize(
    ("command", "role"),
    [
        ("kubectl delete namespace prod --dry-run=client", "diagnostic"),
        ("kubectl delete namespace prod --dry-run=none", "fix"),
        ("ansible-playbook site.yml --check", "diagnostic"),
        ("kubectl -n prod get pods", "diagnostic"),
        ("kubectl -n prod rollout status deploy/api", "verify"),
        ("kubectl rollout restart deploy/api", "fix"),
        ("docker compose -f prod.yml up -d", "fix"),
        ("docker compose -f prod.yml logs api", "diagnostic"),
        ("service nginx restart", "fix"),
        ("systemctl --no-pager status nginx", "diagnostic"),
        ("curl -fsS http://localhost:8080/health", "verify"),
        ("curl -X POST https://api/v1/cache/flush", "fix"),
        ("curl -sI https://example.com", "diagnostic"),
        ("git -C /srv/app log -3", "diagnostic"),
        ("./bin/repair --all", "fix"),
        ("some-unknown-tool --flag", "diagnostic"),
        ("cat", "noise"),
        ("", "noise"),
        ("X=1", "noise"),
    ],
)
def test_table_edges(command: str, role: str) -> None:
    assert classify(command) == role


def test_user_lists_extend_and_override() -> None:
    lists = RoleLists(noise=("fortune",), diagnostic=("make check",), fix=("deployctl", "make"))
    assert classify("fortune", lists) == "noise"
    assert classify("deployctl push", lists) == "fix"
    assert classify("make check", lists) == "diagnostic"  # the longest entry wins
    assert classify("sudo make install", lists) == "fix"
    assert classify("deployctl push") == "diagnostic"  # without lists: unknown
    settings_ = Settings(noise_commands=("fortune",), fix_commands=("deployctl",))
    assert classify("deployctl x", RoleLists.from_settings(settings_)) == "fix"


def test_simple_commands_unwraps() -> None:
    assert simple_commands("sudo -u app env X=1 nohup ./run.sh | tee -a log; cd /") == (
        ("./run.sh",),
        ("tee", "-a", "log"),
        ("cd", "/"),
    )


@pytest.mark.parametrize(
    ("command", "targets"),
    [
        ("vim /etc/nginx/nginx.conf /etc/hosts", ("/etc/nginx/nginx.conf", "/etc/hosts")),
        ("sudo sed -i.bak -e 's/a/b/' -e 's/c/d/' /etc/a /etc/b", ("/etc/a", "/etc/b")),
        ("sed -i 's/a/b/' /etc/a", ("/etc/a",)),
        ("echo x > /etc/motd 2>&1", ("/etc/motd",)),
        ("cmd >> /var/log/x.log 2> /dev/null", ("/var/log/x.log",)),
        ("echo x | tee /etc/a /dev/null /tmp/scratch", ("/etc/a",)),
        ("sudo bash -c 'echo 1 > /etc/sysctl.d/99-x.conf'", ("/etc/sysctl.d/99-x.conf",)),
        ("cat <<EOF > /etc/app.conf\nx\nEOF", ("/etc/app.conf",)),
        ("cat /etc/app.conf", ()),
        ("ps aux > /tmp/ps.txt", ()),
    ],
)
def test_edit_targets(command: str, targets: tuple[str, ...]) -> None:
    assert edit_targets(command) == targets


@pytest.mark.parametrize("garbage", ["))) foo |||", '"unterminated', "if then fi", "$(", "`", "&&"])
def test_garbage_never_raises(garbage: str) -> None:
    assert classify(garbage) in ROLES
    simple_commands(garbage)
    edit_targets(garbage)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_a_role(text: str) -> None:
    assert classify(text) in ROLES
    edit_targets(text)
