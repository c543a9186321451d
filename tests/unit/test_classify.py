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
    assign_roles,
    classify,
    edit_targets,
    simple_commands,
)
from reifier.core.classify_rules import RoleRule
from reifier.core.classify_verbs import CLI_FAMILIES, VERB_CLASSES
from reifier.core.config import Settings
from reifier.core.models import ROLES, CommandEvent


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.role}:{r.example}")
def test_rule_example(rule: RoleRule) -> None:
    assert classify(rule.example) == rule.role


@pytest.mark.parametrize(
    ("command", "role"), [(ex, vc.role) for vc in VERB_CLASSES for ex in vc.examples]
)
def test_verb_class_example(command: str, role: str) -> None:
    assert classify(command) == role


@pytest.mark.parametrize(("command", "role"), [ex for fam in CLI_FAMILIES for ex in fam.examples])
def test_cli_family_example(command: str, role: str) -> None:
    assert classify(command) == role


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
    assert classify("deployctl frobnicate") == "diagnostic"  # without lists: unknown
    assert classify("deployctl push") == "fix"  # the generic verb rule
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


@pytest.mark.parametrize(
    ("command", "role"),
    [
        # read-only status checks, however their exit status turns out
        ("./invctl status", "diagnostic"),
        ("./appctl status", "diagnostic"),
        ("bash ./appctl.sh status", "diagnostic"),
        ("systemctl status nginx", "diagnostic"),
        ("sudo service nginx status", "diagnostic"),
        ("kubectl -n prod get pods -o wide", "diagnostic"),
        ("helm -n prod status api", "diagnostic"),
        ("podman ps -a", "diagnostic"),
        ("podman logs --tail 50 web", "diagnostic"),
        ("redis-cli -h cache1 INFO memory", "diagnostic"),
        ("valkey-cli -n 2 GET session:42", "diagnostic"),
        ("consul kv get -recurse app/", "diagnostic"),
        ("etcdctl get --prefix /registry", "diagnostic"),
        ("psql -U app -c 'SELECT pid, state FROM pg_stat_activity'", "diagnostic"),
        ("psql -c \"SELECT * FROM jobs WHERE note = 'delete me'\"", "diagnostic"),
        ("mysql -e 'SHOW FULL PROCESSLIST'", "diagnostic"),
        ("nginx -T", "diagnostic"),
        ("pg_ctl -D /var/lib/pgsql/data status", "diagnostic"),
        ("ss -tlnp", "diagnostic"),
        ("iptables -C INPUT -p tcp --dport 22 -j ACCEPT", "diagnostic"),
        ("aws ec2 describe-instances --instance-ids i-0abc", "diagnostic"),
        ("gcloud compute instances describe vm-1", "diagnostic"),
        ("az vm show -g rg -n web1", "diagnostic"),
        ("git stash list", "diagnostic"),
        ("rabbitmqctl list_queues name messages_ready", "diagnostic"),
        ("kafka-consumer-groups.sh --bootstrap-server b:9092 --describe --group g", "diagnostic"),
        # state-changing subcommands
        ("./appctl start", "fix"),
        ("podman restart web", "fix"),
        ("podman pod restart api", "fix"),
        ("consul kv put app/port 8081", "fix"),
        ("etcdctl put /app/port 8081", "fix"),
        ("ss -K dst 10.0.0.5 dport = 5432", "fix"),
        ("redis-cli -h cache1 DEL lock:jobs", "fix"),
        ("redis-cli CONFIG SET maxmemory 2gb", "fix"),
        ("psql -c 'SELECT pg_terminate_backend(4242)'", "fix"),
        ("psql -c 'BEGIN; UPDATE jobs SET state = 1; COMMIT'", "fix"),
        ("mysql -e 'KILL 1234'", "fix"),
        ("nginx -s reload", "fix"),
        ("apachectl graceful", "fix"),
        ("pg_ctl -D /var/lib/pgsql/data restart", "fix"),
        ("ip route del default via 10.0.0.1", "fix"),
        ("nft add rule inet filter input tcp dport 8080 accept", "fix"),
        ("iptables -D INPUT -s 10.0.0.5 -j DROP", "fix"),
        ("aws ecs update-service --cluster c --service api --force-new-deployment", "fix"),
        ("gcloud compute instances stop vm-1", "fix"),
        ("az webapp restart -n api -g rg", "fix"),
        ("rabbitmqctl purge_queue orders", "fix"),
        ("kafka-topics.sh --bootstrap-server b:9092 --alter --topic t --partitions 6", "fix"),
        ("git stash", "fix"),
        # checks
        ("nginx -t", "verify"),
        ("apachectl configtest", "verify"),
        # help look-ups and the shell's own history are noise
        ("tldr tar", "noise"),
        ("man 5 crontab", "noise"),
        ("systemctl --help", "noise"),
        ("kubectl help rollout", "noise"),
        ("./appctl help", "noise"),
        ("apropos partition", "noise"),
        ("whatis ss", "noise"),
        ("history", "noise"),
        ("history | grep sed", "noise"),
        ("history | tail -20", "noise"),
        ("fc -l -20", "noise"),
        ("cat ~/.bash_history | grep systemctl", "noise"),
        ("man tar | grep -A2 exclude", "noise"),
        # an unknown command is a guess: a diagnostic, a script path a fix
        ("./exporter-run", "fix"),
        ("frobnicate --verbose", "diagnostic"),
    ],
)
def test_roles_from_what_commands_do(command: str, role: str) -> None:
    assert classify(command) == role
