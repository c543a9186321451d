"""Data loss outside rm, lock-outs, SQL by parsing, and everyday maintenance that must pass."""

from __future__ import annotations

import pytest

from reifier.core.guard import evaluate
from reifier.core.guard_sql import destructive_sql


@pytest.mark.parametrize(("command", "rule"), [
    ("psql -c '/* cleanup */ DROP TABLE users'", "sql_destructive"),
    ("psql -c 'SELECT 1; -- harmless\nDROP DATABASE prod'", "sql_destructive"),
    ("mysql -e 'UPDATE users SET admin = 1'", "sql_destructive"),
    ("psql -c 'ALTER TABLE users DROP COLUMN email'", "sql_destructive"),
    ("echo 'TRUNCATE orders' | psql", "sql_destructive"),
    ("cat > drop.sql <<EOF\nDROP TABLE t;\nEOF\npsql -f drop.sql", "sql_destructive"),
    ("cat > d.sql <<EOF\nDELETE FROM t;\nEOF\nmysql app < d.sql", "sql_destructive"),
    ("redis-cli FLUSHDB", "datastore_wipe"), ("redis-cli -h r1 flushall", "datastore_wipe"),
    ("mongo app --eval 'db.dropDatabase()'", "datastore_wipe"),
    ("docker volume prune -f", "container_data"), ("docker rm -f $(docker ps -aq)",
                                                   "container_data"),
    ("aws ec2 terminate-instances --instance-ids i-0abc", "cloud_destroy"),
    ("gcloud projects delete prod --quiet", "cloud_destroy"),
    ("az group delete --name prod --yes", "cloud_destroy"),
    ("helm uninstall prod-db", "cluster_data"), ("kubectl delete pvc data-0", "cluster_data"),
    ("zpool destroy tank", "storage_destroy"), ("lvremove -f vg/lv", "storage_destroy"),
    ("vgremove vg0", "storage_destroy"), ("parted /dev/sda mklabel gpt", "storage_destroy"),
    ("cryptsetup luksErase /dev/sdb1", "storage_destroy"),
    ("truncate -s0 /dev/sda", "storage_destroy"), ("sed -i d /etc/passwd", "lockout_files"),
    ("ln -sf /dev/null /etc/passwd", "lockout_files"), ("systemctl stop sshd", "lockout_access"),
    ("systemctl mask ssh", "lockout_access"), ("iptables -P INPUT DROP", "lockout_access"),
    ("ip link set eth0 down", "lockout_access"), ("passwd -d root", "lockout_access"),
    ("usermod -L root", "lockout_access"), ("killall -9 sshd", "lockout_access"),
    ("pkill -9 -u root", "lockout_access"), ("echo b > /proc/sysrq-trigger", "sysrq"),
    ("history -c", "evidence_wipe"), ("history -c && rm ~/.bash_history", "evidence_wipe"),
    ("rsync -a --delete EMPTY/ /etc/", "rsync_delete"),
    ("sudo rsync -a --delete /tmp/empty/ /usr/", "rsync_delete"),
])
def test_issue_16_classes_are_refused_by_the_named_rule(command: str, rule: str) -> None:
    verdict = evaluate(command)
    assert not verdict.allowed
    assert rule in {f.rule for f in verdict.findings}, verdict.reason


@pytest.mark.parametrize("command", [
    'rm -rf "$TMPDIR/cache"', "rm -rf ~/.cache/pip", "terraform destroy --help",
    "mkfs.ext4 /tmp/disk.img", "find /srv/app/tmp -mindepth 1 -mtime +7 -delete",
    "rsync -an --delete build/ /etc/app/", "kubectl delete ns x --dry-run=client",
    "helm uninstall x --dry-run", "git clean -n -d", "make -n install", "apt-get -s remove x",
    "psql -c '-- DROP TABLE x is what we must not do\nSELECT 1'",
    "psql -c 'UPDATE users SET a = 1 WHERE id = 7'", "psql -c '\\dt'",
    "mysql -e 'ALTER TABLE t ADD COLUMN c INT'", "psql -f migrate.sql",
    "docker run --rm alpine rm -rf /tmp/x", "systemctl restart sshd", "ip link set eth0 up",
])
def test_everyday_maintenance_and_dry_runs_pass(command: str) -> None:
    verdict = evaluate(command)
    assert verdict.allowed, verdict.reason


@pytest.mark.parametrize("command", [
    'rm -rf "$TMPDIR/"*', 'rm -rf "$TMPDIR"/', "rm -rf ~/.cache", "rm -rf ~/.cache/../src",
    "mkfs.ext4 /dev/sdb1", "mkfs.ext4 disk", "kubectl delete ns x --dry-run=none",
])
def test_the_scoped_exceptions_stay_narrow(command: str) -> None:
    assert not evaluate(command).allowed, command


@pytest.mark.parametrize(("sql", "hit"), [
    ("DROP TABLE x", True), ("/* x */ drop database y", True), ("SELECT 1; -- DROP TABLE x",
                                                                 False),
    ("DELETE FROM t", True), ("DELETE FROM t WHERE id = 1", False), ("UPDATE t SET a = 1", True),
    ("UPDATE t SET a = 1 WHERE b", False), ("ALTER TABLE t DROP COLUMN c", True),
    ("ALTER TABLE t ADD COLUMN c INT", False), ("TRUNCATE t", True), ("DROP INDEX i", False),
    ("SHOW TABLES", False), ("\\dt", False), ("DROP USER bob", True),
])
def test_sql_is_judged_by_parsing(sql: str, hit: bool) -> None:
    assert (destructive_sql(sql, "psql") is not None) is hit
