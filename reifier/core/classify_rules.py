"""Subcommand tables of the admin CLIs SREs use: which subcommands read, which change state.

Each entry is a :class:`RoleRule` (command, subcommand path, optional argument
regex, role) carrying an example command line that ``tests/unit/test_classify.py``
classifies. :mod:`reifier.core.classify` merges these with its own table; a CLI
whose subcommand is not listed here falls through to the generic verb rule of
:mod:`reifier.core.classify_verbs` (``status``/``list``/``get`` read,
``restart``/``put``/``delete`` change state).

Families share one list: ``docker``/``podman``/``nerdctl``, ``kubectl``/``oc``,
``redis-cli``/``valkey-cli``/``keydb-cli`` (case-insensitive commands),
``psql``/``mysql``/``mariadb``, ``apachectl``/``apache2ctl``/``httpd``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RoleRule:
    """``command`` [``sub`` path] [``args`` regex over the arguments] → ``role``.

    ``guess`` marks a role inferred from the shape of the line rather than from what
    the command is known to do (``bash deploy.sh`` runs *some* script): a failing
    guessed fix is a reproduction of the problem, not a fix (see ``assign_roles``).
    """

    role: str
    command: str
    sub: tuple[str, ...] = ()
    args: re.Pattern[str] | None = None
    example: str = ""
    guess: bool = False


def rule(role: str, path: str, args: str = "", ex: str = "", guess: bool = False) -> RoleRule:
    """Build a rule from ``"cmd sub words"``; the example defaults to the path."""
    cmd, *sub = path.split()
    return RoleRule(role, cmd, tuple(sub), re.compile(args) if args else None, ex or path, guess)


def bulk(role: str, names: str) -> tuple[RoleRule, ...]:
    """One rule per whitespace-separated command name (any arguments)."""
    return tuple(rule(role, name, ex=f"{name} x") for name in names.split())


def subs(role: str, cmd: str, paths: str, ex: str = "{cmd} {sub}") -> tuple[RoleRule, ...]:
    """One rule per ``|``-separated subcommand path of ``cmd``; ``ex`` formats its example."""
    return tuple(
        rule(role, f"{cmd} {sub}", ex=ex.format(cmd=cmd, sub=sub)) for sub in paths.split("|")
    )


#: Commands whose subcommands are matched case-insensitively (``redis-cli DEL k``).
CASELESS = frozenset({"redis-cli", "valkey-cli", "keydb-cli"})

# --- containers: docker, podman, nerdctl -------------------------------------------
_ENGINES = ("docker", "podman", "nerdctl")
_ENGINE_READ = (
    "ps|logs|inspect|images|stats|top|events|info|version|port|diff|history|search|exec|"
    "container ls|container ps|container list|container inspect|container logs|container top|"
    "container stats|container port|container diff|container exists|image ls|image list|"
    "image inspect|image history|image exists|volume ls|volume list|volume inspect|network ls|"
    "network list|network inspect|system df|system info|system events|context ls|context show|"
    "node ls|node inspect|node ps|service ls|service ps|service logs|service inspect|stack ls|"
    "stack ps|stack services|compose ps|compose logs|compose config|compose top|compose images|"
    "compose ls|compose port|compose events|compose version|pod ps|pod ls|pod list|pod inspect|"
    "pod logs|pod stats|pod top|pod exists|secret ls|secret inspect|config ls|config inspect|"
    "healthcheck run"
)
_ENGINE_WRITE = (
    "restart|rm|rmi|run|start|stop|kill|pause|unpause|create|update|prune|pull|push|build|load|"
    "import|tag|cp|rename|commit|compose up|compose down|compose restart|compose stop|"
    "compose start|compose rm|compose pull|compose build|compose kill|compose create|"
    "compose scale|compose pause|compose unpause|system prune|system reset|volume rm|"
    "volume prune|volume create|network rm|network prune|network create|network connect|"
    "network disconnect|container rm|container prune|container stop|container start|"
    "container restart|container kill|container run|container create|container update|"
    "image rm|image prune|image pull|image push|image build|image tag|swarm|service update|"
    "service scale|service rm|service create|service rollback|stack deploy|stack rm|node update|"
    "node rm|node promote|node demote|secret create|secret rm|config create|config rm|pod create|"
    "pod start|pod stop|pod restart|pod rm|pod kill|pod prune|pod pause|pod unpause|play kube|"
    "kube play|kube down"
)
_COMPOSE_READ = "ps|logs|config|top|images|ls|port|events|version"
_COMPOSE_WRITE = "up|down|restart|stop|start|rm|pull|build|kill|create|scale|pause|unpause"

# --- Kubernetes, Helm --------------------------------------------------------------
_KUBE_READ = (
    "rollout history|get|describe|logs|top|events|explain|diff|exec|port-forward|api-resources|"
    "api-versions|version|cluster-info|config|auth|debug|attach|proxy|kustomize|plugin"
)
_KUBE_WRITE = (
    "apply|create|delete|patch|replace|scale|set|cordon|uncordon|drain|taint|label|annotate|"
    "autoscale|expose|run|cp|rollout restart|rollout undo|rollout pause|rollout resume|"
    "certificate approve|certificate deny|config use-context|config set-context"
)
_HELM_READ = (
    "list|ls|status|history|get|show|template|lint|search|env|version|dependency list|"
    "repo list|plugin list"
)
_HELM_WRITE = (
    "install|upgrade|rollback|uninstall|delete|repo add|repo update|repo remove|plugin install|"
    "plugin uninstall|dependency update|dependency build"
)

# --- key-value stores: Redis and its forks -------------------------------------------
_REDIS = ("redis-cli", "valkey-cli", "keydb-cli")
_REDIS_READ = (
    "get|mget|keys|scan|hscan|sscan|zscan|info|type|ttl|pttl|exists|strlen|getrange|llen|lrange|"
    "lindex|lpos|hget|hgetall|hkeys|hvals|hlen|hmget|hexists|smembers|scard|sismember|"
    "srandmember|zrange|zrevrange|zrangebyscore|zscore|zcard|zcount|zrank|xlen|xrange|"
    "xrevrange|xread|xinfo|xpending|dbsize|lastsave|time|role|monitor|subscribe|psubscribe|"
    "pubsub|command|object|client list|client info|client getname|config get|slowlog get|"
    "slowlog len|memory usage|memory stats|memory doctor|latency latest|latency doctor|"
    "latency history|cluster info|cluster nodes|cluster slots|cluster shards|acl list|"
    "acl whoami|acl getuser|acl cat|acl log|module list"
)
_REDIS_WRITE = (
    "set|setex|setnx|psetex|mset|msetnx|getset|getdel|getex|append|incr|incrby|incrbyfloat|"
    "decr|decrby|del|unlink|expire|pexpire|expireat|persist|rename|renamenx|move|copy|restore|"
    "migrate|hset|hsetnx|hmset|hdel|hincrby|lpush|rpush|lpop|rpop|lrem|lset|ltrim|linsert|"
    "lmove|rpoplpush|blpop|brpop|sadd|srem|spop|smove|zadd|zrem|zincrby|zpopmin|zpopmax|"
    "zremrangebyscore|zremrangebyrank|xadd|xdel|xtrim|xack|xclaim|xautoclaim|xgroup|pfadd|"
    "pfmerge|publish|flushall|flushdb|swapdb|save|bgsave|bgrewriteaof|shutdown|replicaof|"
    "slaveof|failover|debug|eval|evalsha|fcall|config set|config rewrite|config resetstat|"
    "client kill|client pause|client unpause|slowlog reset|memory purge|latency reset|"
    "cluster failover|cluster reset|cluster forget|cluster meet|cluster addslots|"
    "cluster delslots|cluster setslot|cluster replicate|acl setuser|acl deluser|acl load|"
    "acl save|script flush|script kill|script load|function flush|function delete|"
    "function load|module load|module unload"
)

# --- SQL shells: the statement given with -c/-e/--command/--execute ------------------
# A statement that writes starts with one of these (after any earlier statements), or
# calls a server function that changes state.
_SQL_WRITE_WORDS = (
    r"update|delete|insert|upsert|replace|merge|drop|truncate|alter|create|grant|revoke|vacuum|"
    r"reindex|cluster|analyze|kill|refresh|flush|purge|optimize|repair|call|do|load|lock|"
    r"comment|rename|set\s+(?:global|persist)|checkpoint|notify"
)
_SQL_FUNCS = (
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal|"
    r"pg_promote|pg_wal_replay_(?:pause|resume)|pg_drop_replication_slot|setval|set_config"
)
SQL_WRITE = (
    r"(?i)(?:^|\s)(?:-c|-e|--command|--execute|-q|--query)(?:=|\s+)"
    rf"(?:(?:(?:[^;]*;)\s*)*?(?:{_SQL_WRITE_WORDS})\b|.*\b(?:{_SQL_FUNCS})\s*\()"
)
_SQL_SHELLS = ("psql", "mysql", "mariadb", "clickhouse-client", "cqlsh")

# --- message queues ----------------------------------------------------------------
_KAFKA_WRITE_OPTS = (
    r"--(?:create|delete|alter|add|remove|execute|delete-offsets|delete-records|"
    r"election-type)\b"
)

ADMIN_RULES: tuple[RoleRule, ...] = (
    # systemd and SysV service
    *subs("diagnostic", "systemctl", "list-sockets|list-jobs|list-machines|list-paths|"
          "get-default|show-environment", ex="{cmd} {sub}"),
    *subs("fix", "systemctl", "set-default|set-environment|unset-environment|link|freeze|thaw|"
          "clean|suspend|hibernate|rescue|emergency", ex="{cmd} {sub} app.service"),
    rule("verify", "service", r"(?:^|\s)configtest(?:\s|$)", "service nginx configtest"),
    rule("diagnostic", "service", r"(?:^|\s)--status-all\b", "service --status-all"),
    rule("fix", "service", r"(?:^|\s)--full-restart\b", "service nginx --full-restart"),
    *subs("fix", "loginctl", "terminate-session|terminate-user|kill-session|kill-user|"
          "lock-session|enable-linger|disable-linger", ex="{cmd} {sub} 42"),
    rule("fix", "hostnamectl set-hostname", ex="hostnamectl set-hostname web-02"),
    *subs("fix", "timedatectl", "set-ntp|set-time|set-timezone|set-local-rtc",
          ex="{cmd} {sub} true"),
    *subs("fix", "resolvectl", "flush-caches|reset-statistics|reset-server-features|revert",
          ex="{cmd} {sub}"),
    # containers
    *(r for eng in _ENGINES for r in (
        *subs("diagnostic", eng, _ENGINE_READ, ex="{cmd} {sub} web"),
        *subs("fix", eng, _ENGINE_WRITE, ex="{cmd} {sub} web"),
    )),
    *(r for c in ("docker-compose", "podman-compose") for r in (
        *subs("diagnostic", c, _COMPOSE_READ), *subs("fix", c, _COMPOSE_WRITE))),
    *subs("diagnostic", "crictl", "ps|pods|images|inspect|inspectp|inspecti|logs|stats|statsp|"
          "info|version|exec", ex="{cmd} {sub} abc123"),
    *subs("fix", "crictl", "rm|rmp|rmi|stop|stopp|start|runp|create|run|pull",
          ex="{cmd} {sub} abc123"),
    # Kubernetes (kubectl and OpenShift's oc), Helm
    *(r for k in ("kubectl", "oc") for r in (
        *subs("verify", k, "rollout status|wait", ex="{cmd} -n prod {sub} deploy/api"),
        *subs("diagnostic", k, _KUBE_READ, ex="{cmd} -n prod {sub} deploy/api"),
        *subs("fix", k, _KUBE_WRITE, ex="{cmd} -n prod {sub} deploy/api"),
        rule("edit", f"{k} edit", ex=f"{k} -n prod edit deploy/api"),
    )),
    *subs("diagnostic", "helm", _HELM_READ, ex="{cmd} {sub} -n prod"),
    *subs("fix", "helm", _HELM_WRITE, ex="{cmd} {sub} -n prod"),
    rule("verify", "helm test", ex="helm test api -n prod"),
    # Redis, Valkey, KeyDB: commands are case-insensitive (see CASELESS)
    *(r for c in _REDIS for r in (
        rule("verify", f"{c} ping", ex=f"{c} -h cache1 PING"),
        *subs("diagnostic", c, _REDIS_READ, ex="{cmd} -h cache1 {sub}"),
        *subs("fix", c, _REDIS_WRITE, ex="{cmd} -h cache1 {sub}"),
        rule("fix", c, r"(?:^|\s)--pipe\b", f"cat cmds.txt | {c} --pipe"),
    )),
    # SQL shells: -c/-e statements that write are fixes, SELECT/SHOW/EXPLAIN/\d read
    *(rule("fix", db, SQL_WRITE, f"{db} -c 'DELETE FROM s'") for db in _SQL_SHELLS),
    *(rule("diagnostic", db, ex=f"{db} -e 'SHOW PROCESSLIST'") for db in _SQL_SHELLS),
    rule("fix", "psql", r"(?:^|\s)(?:-f|--file)\b", "psql -f fix.sql"),
    rule("fix", "sqlite3", r"(?i)(?:^|;|\s)\s*(?:update|delete|insert|replace|drop|alter|create|"
         r"vacuum|reindex)\s", "sqlite3 app.db 'DELETE FROM jobs WHERE done=1'"),
    rule("diagnostic", "sqlite3", ex="sqlite3 app.db 'SELECT count(*) FROM jobs'"),
    *(rule("fix", m, r"(?:\.(?:insert|update|delete|remove|drop|create|rename|replace|bulkWrite|"
           r"findOneAndUpdate|findOneAndDelete|findAndModify)\w*\s*\(|rs\.(?:stepDown|reconfig|"
           r"add|remove)|killOp|shutdownServer|adminCommand)",
           f"{m} --eval 'db.jobs.deleteMany({{done: true}})'") for m in ("mongosh", "mongo")),
    *(rule("diagnostic", m, ex=f"{m} --eval 'db.jobs.countDocuments()'")
      for m in ("mongosh", "mongo")),
    # message queues: Kafka's tools carry their verb as an option
    *(rule("fix", k, _KAFKA_WRITE_OPTS, f"{k} --bootstrap-server b:9092 --alter --topic t")
      for k in ("kafka-topics", "kafka-configs", "kafka-acls", "kafka-leader-election",
                "kafka-preferred-replica-election", "kafka-delete-records", "kafka-storage")),
    *(rule("diagnostic", k, ex=f"{k} --bootstrap-server b:9092 --describe")
      for k in ("kafka-topics", "kafka-configs", "kafka-acls", "kafka-log-dirs",
                "kafka-broker-api-versions", "kafka-get-offsets", "kafka-console-consumer")),
    # reset-offsets is a dry run unless --execute is given
    rule("fix", "kafka-consumer-groups", r"--(?:execute|delete|delete-offsets)\b",
         "kafka-consumer-groups --bootstrap-server b:9092 --group g --reset-offsets "
         "--to-latest --all-topics --execute"),
    rule("diagnostic", "kafka-consumer-groups",
         ex="kafka-consumer-groups --group g --reset-offsets --to-latest --all-topics"),
    rule("verify", "kafka-reassign-partitions", r"--verify\b",
         "kafka-reassign-partitions --reassignment-json-file r.json --verify"),
    rule("fix", "kafka-reassign-partitions", r"--execute\b",
         "kafka-reassign-partitions --reassignment-json-file r.json --execute"),
    rule("diagnostic", "kafka-reassign-partitions", ex="kafka-reassign-partitions --generate"),
    rule("fix", "kafka-console-producer", ex="kafka-console-producer --topic t"),
    # consul maint toggles maintenance mode with single-dash options
    rule("fix", "consul maint", r"(?:^|\s)-(?:enable|disable)\b", "consul maint -enable"),
    rule("diagnostic", "consul maint", ex="consul maint"),
    # web servers, PostgreSQL control
    rule("fix", "nginx", r"(?:^|\s)-s\s*(?:reload|stop|quit|reopen)\b", "nginx -s reload"),
    rule("diagnostic", "pg_ctlcluster", r"(?:^|\s)status(?:\s|$)", "pg_ctlcluster 15 main status"),
    # networking: ss -K kills sockets, conntrack -D/-F deletes entries, ethtool -s/-K sets
    rule("fix", "ss", r"(?:^|\s)(?:-[a-zA-Z]*K[a-zA-Z]*|--kill)(?=\s|$)", "ss -K dst 10.0.0.5"),
    rule("fix", "conntrack", r"(?:^|\s)(?:-[DFIU]|--delete|--flush|--create|--update)\b",
         "conntrack -D -s 10.0.0.5"),
    rule("diagnostic", "conntrack", ex="conntrack -L"),
    rule("fix", "ethtool", r"(?:^|\s)(?:-[sKGACLEPr]|--change|--set-\S+|--offload|--reset)\b",
         "ethtool -K eth0 tso off"),
    *bulk("diagnostic", "iptables-save ip6tables-save"),
    *bulk("fix", "iptables-restore ip6tables-restore"),
    *(rule("diagnostic", t, r"(?:^|\s)(?:-[a-zA-Z]*[LSC]\b|--list|--check)",
           f"{t} -C INPUT -j DROP") for t in ("iptables", "ip6tables")),
    rule("diagnostic", "nft", r"(?:^|\s)(?:-[a-zA-Z]*c|--check)\b", "nft -c -f /etc/nftables.conf"),
    *subs("fix", "nft", "add|insert|delete|replace|flush|create|destroy|reset",
          ex="{cmd} {sub} rule inet filter input drop"),
    # git: read-only plumbing and views of the stash; certbot's listing
    *subs("diagnostic", "git", "stash list|stash show|merge-base|cat-file|ls-tree|ls-remote|"
          "rev-list|for-each-ref|show-ref|name-rev|verify-commit|count-objects|fsck|cherry|"
          "range-diff|worktree list|bisect log|notes show|notes list|whatchanged"),
    rule("diagnostic", "certbot certificates"),
    # gzip -c / gunzip -dc write to stdout, -l/-t only look
    *(rule("diagnostic", z, r"(?:^|\s)(?:-[a-zA-Z]*[clt][a-zA-Z]*|--stdout|--to-stdout|--list|"
           r"--test)(?=\s|$)", f"{z} -dc app.log.gz") for z in ("gzip", "gunzip")),
    # make: dry runs and test targets only read
    rule("diagnostic", "make", r"(?:^|\s)(?:-[a-zA-Z]*n|--dry-run|--just-print|test|check|lint)"
         r"(?=\s|$)", "make -C /srv/app test"),
)  # fmt: skip
