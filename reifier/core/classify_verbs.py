"""The generic verb rule: what a CLI's subcommand says it does.

For a command no table in :mod:`reifier.core.classify` or
:mod:`reifier.core.classify_rules` decides — an unknown CLI with subcommands
(``consul kv put``, ``etcdctl del``, ``aws ec2 describe-instances``, ``gh pr
list``) or a local script (``./appctl status``) — the verb among its first
positional words gives the role: ``status``/``list``/``get``/``describe`` read
(diagnostic), ``restart``/``put``/``delete``/``scale`` change state (fix), ``help``
is noise. A word counts as its whole self or, when compound, by its parts:
``describe-instances`` and ``list_queues`` by their first part, ``cache:clear`` by
its last, ``cluster_status`` by its last when the first is no verb (a hyphenated
word never by its last: ``commitment-plan`` is a noun). Without a verb
among the positionals, a long option naming an action carries it (``kafka-topics
--create``; not modifiers such as ``--wait``).

:data:`VERB_CLASSES` is the vocabulary, :data:`CLI_FAMILIES` the CLIs known to
follow it (with their own extra verbs) — both carry examples a test classifies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class VerbClass:
    """Verbs meaning one role, with command lines of otherwise unknown CLIs using them."""

    role: str
    verbs: frozenset[str]
    examples: tuple[str, ...]


def _vc(role: str, verbs: str, *examples: str) -> VerbClass:
    return VerbClass(role, frozenset(verbs.split()), examples)


VERB_CLASSES: tuple[VerbClass, ...] = (
    _vc("noise", "help usage completion completions -h",
        "./appctl help", "gh help pr", "invctl completion bash", "./appctl -h"),
    _vc("verify", "healthcheck validate verify configtest ping wait",
        "./appctl healthcheck", "./appctl validate", "aws ec2 wait instance-running"),
    _vc("diagnostic",
        "status show list ls ps get describe info inspect logs log tail top version check test "
        "read lookup query search find stat stats diff history events watch view cat dump explain "
        "lint doctor report monitor probe plan print display count whoami capabilities "
        "environment health-check await members peers topology",
        "./appctl status", "./invctl status", "consul kv get app/port", "etcdctl get /app/port",
        "etcdctl endpoint status", "vault read secret/app", "aws ec2 describe-instances",
        "aws --profile prod s3 ls s3://logs", "gcloud compute instances list",
        "gcloud container clusters get-credentials prod --zone europe-west1-b", "az vm list",
        "rabbitmqctl list_queues name messages", "rabbitmqctl cluster_status", "gh pr list",
        "nomad job status api", "nats stream info ORDERS", "patronictl list",
        "kafka-topics.sh --bootstrap-server b:9092 --list", "tc qdisc show dev eth0",
        "virsh list --all", "./exporter-run --version", "php artisan migrate:status"),
    _vc("fix",
        "restart start stop reload delete del rm remove put set unset apply create update upgrade "
        "install uninstall scale rollout kill flush purge drain cordon uncordon deploy undeploy "
        "rollback revert reset clear clean cleanup prune truncate add insert write push enable "
        "disable mask unmask register deregister unregister attach detach mount unmount umount "
        "terminate reboot shutdown halt suspend resume pause unpause promote demote failover "
        "switchover migrate restore import load sync cp copy mv move rename patch replace untag "
        "label annotate taint join leave forget evict expire rotate renew revoke grant approve "
        "deny seal unseal lock unlock signal send publish pub invoke trigger execute "
        "force recover repair rebuild merge compact defrag vacuum reindex rebalance reassign "
        "evacuate trim drop alter commit modify change swap resize extend grow expand reconcile "
        "heal abort cancel retry requeue replay ack nack close disconnect save backup upload "
        "declare reinit edit destroy seed step-down recreate redeploy reimage kick disarm "
        "associate disassociate authorize unauthorize allocate deallocate assign unassign tag",
        "./appctl start", "./appctl restart", "consul kv put app/port 8080",
        "consul kv delete app/port", "etcdctl put /app/port 8080", "etcdctl del /app/port",
        "vault write secret/app key=value", "vault operator unseal", "podman restart web",
        "aws ecs update-service --cluster prod --service api --force-new-deployment",
        "aws ec2 reboot-instances --instance-ids i-0abc", "aws s3 rm s3://logs/old --recursive",
        "gcloud compute instances reset vm-1 --zone europe-west1-b", "az vm restart -n web1",
        "rabbitmqctl purge_queue orders", "rabbitmqctl stop_app", "nomad job run api.nomad",
        "nomad node drain -enable abc", "nats stream purge ORDERS", "patronictl restart pg",
        "php artisan cache:clear", "virsh reboot vm1", "tc qdisc del dev eth0 root",
        "gh pr merge 12", "kafka-topics.sh --bootstrap-server b:9092 --delete --topic t"),
)  # fmt: skip


@dataclass(frozen=True)
class CliFamily:
    """A CLI known to follow the verb rule, with verbs of its own (``verbs``: word → role).

    Only these CLIs have ``snake_case`` subcommands split into verbs (``list_queues``).
    """

    names: tuple[str, ...]
    verbs: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[tuple[str, str], ...] = ()  # (command line, role)


def _fam(names: str, verbs: Mapping[str, str], *examples: tuple[str, str]) -> CliFamily:
    return CliFamily(tuple(names.split()), MappingProxyType(dict(verbs)), examples)


CLI_FAMILIES: tuple[CliFamily, ...] = (
    _fam("aws", {"mb": "fix", "rb": "fix", "presign": "diagnostic", "start-session": "noise",
                 "configure": "noise"},
         ("aws s3 mb s3://new-bucket", "fix"), ("aws s3 cp app.tgz s3://b/", "fix"),
         ("aws sts get-caller-identity", "diagnostic"), ("aws logs tail /ecs/api", "diagnostic"),
         ("aws ssm start-session --target i-0abc", "noise"),
         ("aws autoscaling set-desired-capacity --desired-capacity 4", "fix"),
         ("aws rds failover-db-cluster --db-cluster-identifier pg", "fix"),
         ("aws sqs purge-queue --queue-url u", "fix")),
    _fam("gcloud", {"ssh": "noise", "scp": "fix"},
         ("gcloud compute ssh vm-1", "noise"), ("gcloud run deploy api --image i", "fix"),
         ("gcloud compute health-checks describe hc", "diagnostic"),
         ("gcloud compute instance-groups managed rolling-action restart grp", "fix"),
         ("gcloud sql instances patch pg --tier db-custom-4", "fix"),
         ("gcloud logging read 'severity>=ERROR'", "diagnostic")),
    _fam("az", {"ssh": "noise"},
         ("az webapp log tail -n api -g rg", "diagnostic"), ("az aks scale -n k -c 5", "fix"),
         ("az network nsg rule create -g rg --nsg-name n -n r", "fix")),
    _fam("consul", {"leave": "fix", "force-leave": "fix", "members": "diagnostic",
                    "catalog": "diagnostic"},
         ("consul members", "diagnostic"), ("consul catalog services", "diagnostic"),
         ("consul services deregister -id api-1", "fix"), ("consul leave", "fix"),
         ("consul operator raft list-peers", "diagnostic"), ("consul reload", "fix")),
    _fam("etcdctl", {"health": "verify", "compaction": "fix", "move-leader": "fix", "elect": "fix"},
         ("etcdctl member list", "diagnostic"), ("etcdctl member remove 8e9e05c52164694d", "fix"),
         ("etcdctl endpoint health", "verify"), ("etcdctl defrag", "fix"),
         ("etcdctl alarm list", "diagnostic"), ("etcdctl alarm disarm", "fix"),
         ("etcdctl snapshot save /var/backups/etcd.db", "fix"), ("etcdctl compaction 1234", "fix")),
    _fam("vault", {"kv": "", "token": "", "login": "noise"},
         ("vault status", "diagnostic"), ("vault kv get secret/app", "diagnostic"),
         ("vault kv put secret/app port=8080", "fix"), ("vault token revoke -self", "fix"),
         ("vault lease revoke -prefix aws/creds", "fix"), ("vault login -method=oidc", "noise")),
    _fam("nomad", {"eval": "", "run": "fix"},
         ("nomad alloc logs abc", "diagnostic"), ("nomad alloc restart abc", "fix"),
         ("nomad job stop api", "fix"), ("nomad job plan api.nomad", "diagnostic")),
    _fam("rabbitmqctl rabbitmq-diagnostics rabbitmq-plugins rabbitmqadmin",
         {"force_boot": "fix", "eval": "fix", "alarms": "diagnostic", "await_startup": "verify"},
         ("rabbitmqctl list_connections", "diagnostic"), ("rabbitmqctl force_boot", "fix"),
         ("rabbitmqctl close_all_connections 'maintenance'", "fix"),
         ("rabbitmqctl set_policy ha '.*' '{\"ha-mode\":\"all\"}'", "fix"),
         ("rabbitmq-diagnostics check_running", "diagnostic"),
         ("rabbitmq-diagnostics alarms", "diagnostic"),
         ("rabbitmq-plugins enable rabbitmq_management", "fix"),
         ("rabbitmqadmin list queues", "diagnostic"), ("rabbitmqadmin purge queue name=q", "fix"),
         ("rabbitmqadmin declare queue name=q", "fix")),
    _fam("nats", {"sub": "diagnostic"},
         ("nats sub orders.>", "diagnostic"), ("nats pub orders.new '{}'", "fix"),
         ("nats consumer rm ORDERS c1", "fix")),
    _fam("kafka-topics kafka-configs kafka-acls",
         {},
         ("kafka-topics --bootstrap-server b:9092 --describe --topic t", "diagnostic"),
         ("kafka-topics --bootstrap-server b:9092 --create --topic t", "fix"),
         ("kafka-configs --bootstrap-server b:9092 --alter --entity-type topics", "fix")),
    _fam("patronictl", {"edit-config": "fix", "reinit": "fix"},
         ("patronictl -c /etc/patroni.yml switchover --force", "fix"),
         ("patronictl -c /etc/patroni.yml history", "diagnostic"),
         ("patronictl edit-config --force -s ttl=30", "fix")),
    _fam("virsh", {"dominfo": "diagnostic", "domstate": "diagnostic", "destroy": "fix"},
         ("virsh dominfo vm1", "diagnostic"), ("virsh destroy vm1", "fix"),
         ("virsh start vm1", "fix")),
)  # fmt: skip

_VERBS: dict[str, str] = {v: vc.role for vc in VERB_CLASSES for v in vc.verbs}
_FAMILY_VERBS: dict[str, Mapping[str, str]] = {n: f.verbs for f in CLI_FAMILIES for n in f.names}
# Options that name an action (``--list``, ``--delete``); not modifiers such as
# ``--wait``, ``--verify`` or ``--check``, which many tools take beside their action.
_OPTION_READ = "list describe show status get version"
_OPTION_WRITE = ("create delete alter add remove set restart start stop reload purge flush kill "
                 "execute install uninstall enable disable reset clear drop")  # fmt: skip
_OPTION_VERBS: dict[str, str] = {
    **dict.fromkeys(_OPTION_READ.split(), "diagnostic"),
    **dict.fromkeys(_OPTION_WRITE.split(), "fix"),
}
MAX_POSITIONALS = 5  # gcloud compute instance-groups managed rolling-action restart
_WORD = re.compile(r"[a-z][a-z0-9_:-]*")


def _candidates(word: str, snake: bool) -> tuple[str, ...]:
    """Return the forms a verb may take in ``word``: whole, first part, last part."""
    if ":" in word:  # cache:clear, migrate:status
        parts = word.split(":")
        return (word, parts[-1], parts[0])
    if "_" in word and snake:  # list_queues, cluster_status (not tag_name, a placeholder)
        parts = word.split("_")
        return (word, parts[0], parts[-1])
    # describe-instances, get-credentials; never the last part: commitment-plan is a noun
    return (word, word.split("-", 1)[0]) if "-" in word else (word,)


def _lookup(word: str, own: Mapping[str, str], snake: bool = False) -> str | None:
    """Return the role ``word`` gives ("" in ``own``: a noun, no role), else ``None``."""
    for cand in _candidates(word, snake):
        role = own.get(cand, _VERBS.get(cand))
        if role is not None:
            return role or None
        if cand in own:
            return None
    return None


def verb_role(name: str, args: Sequence[str]) -> str | None:
    """Return the role the verb among ``args`` gives a ``name`` no table decides, if any."""
    own = _FAMILY_VERBS.get(name, {})
    snake = name in _FAMILY_VERBS  # rabbitmqctl list_queues; elsewhere tag_name is a value
    if len(args) == 1 and args[0] == "-h":
        return "noise"
    words = [a.lower() for a in args if not a.startswith("-")][:MAX_POSITIONALS]
    for i, word in enumerate(words):
        if not _WORD.fullmatch(word) or (word in own and not own[word]):
            continue  # a value, or a group noun of this CLI (vault kv, nomad eval)
        role = _lookup(word, own, snake)
        if role is not None:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            # gh label list, gh release create: a noun that is also a verb, then the verb
            return own.get(nxt) or _VERBS.get(nxt) or role
    for arg in args:  # kafka-topics --create: the verb is an option
        if arg.startswith("--") and len(arg) > 2:
            word = arg[2:].split("=", 1)[0].lower()
            role = own.get(word) or _OPTION_VERBS.get(word.split("-", 1)[0])
            if role:
                return role
    return None
