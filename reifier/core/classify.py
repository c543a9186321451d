"""Give each command a role: noise, diagnostic, fix, edit or verify.

Every simple command of a line (see :mod:`reifier.core.bashparse`) is looked at
after unwrapping ``sudo``/``env``/``time``/``timeout``/``xargs``…; ``bash -c``,
``su -c`` and ``ssh host CMD`` count as the command they carry. A simple
command's role is the first of: the user's :class:`RoleLists` (longest entry
wins); :data:`EDITORS` (an editor, ``sed -i``, ``perl -i``, ``tee FILE`` → edit);
the first matching :data:`RULES` entry for its name (longer subcommand paths and
argument regexes are tried first); else ``diagnostic`` (``fix`` for a script
path like ``./repair.sh``). Then ``--dry-run``/``--check`` turns a fix into a
diagnostic, and an output redirection onto a real file makes an edit: not onto
``/dev/*``, a file descriptor or a scratch file under ``/tmp``, ``/var/tmp``,
``/dev/shm`` (``ps aux > /tmp/ps.txt`` stays a diagnostic; editors edit any file).

A line takes its strongest part: ``edit > fix > verify > diagnostic > noise``.
:func:`assign_roles` then makes every diagnostic run after the last fix/edit of
its shell session a ``verify``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from reifier.core.bashparse import SimpleCommand, Word, parse, unwrap
from reifier.core.config import Settings
from reifier.core.models import CommandEvent

STRENGTH = {"noise": 0, "diagnostic": 1, "verify": 2, "fix": 3, "edit": 4}
# Output captured there is scratch, not an edit worth a runbook step.
_SCRATCH = ("/dev/", "/tmp/", "/var/tmp/", "/dev/shm/", "/proc/self/fd/")  # noqa: S108


@dataclass(frozen=True)
class RoleLists:
    """User extensions: command names or word prefixes (``"make deploy"``) per role."""

    noise: tuple[str, ...] = ()
    diagnostic: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> RoleLists:
        """Take the lists from ``noise_commands``/``diagnostic_commands``/``fix_commands``."""
        return cls(settings.noise_commands, settings.diagnostic_commands, settings.fix_commands)


@dataclass(frozen=True)
class RoleRule:
    """``command`` [``sub`` path] [``args`` regex over the arguments] → ``role``."""

    role: str
    command: str
    sub: tuple[str, ...] = ()
    args: re.Pattern[str] | None = None
    example: str = ""


def _r(role: str, path: str, args: str = "", ex: str = "") -> RoleRule:
    """Build a rule from ``"cmd sub words"``; the example defaults to the path."""
    cmd, *sub = path.split()
    return RoleRule(role, cmd, tuple(sub), re.compile(args) if args else None, ex or path)


def _bulk(role: str, names: str) -> tuple[RoleRule, ...]:
    return tuple(_r(role, name, ex=f"{name} x") for name in names.split())


def _subs(role: str, cmd: str, subs: str) -> tuple[RoleRule, ...]:
    """One rule per ``|``-separated subcommand path of ``cmd``."""
    return tuple(_r(role, f"{cmd} {sub}") for sub in subs.split("|"))


_SQL_WRITE = (r"(?i)(?:^|\s)(?:-c|-e|--command|--execute)\b.*\b(?:update|delete|insert|drop|"
              r"truncate|alter|create|grant|revoke|vacuum|reindex|cluster|kill|refresh|flush|"
              r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|set\s+global)\b")  # fmt: skip
_EDITOR_NAMES = "vim vi nvim nano emacs ed ex pico joe mcedit micro kak hx sudoedit"
_HEALTH = r"(?i)://\S*/(?:health|healthz|healthcheck|_health|ready|readyz|livez|ping|status)\b"
_PKG = ("install|remove|purge|upgrade|update|dist-upgrade|full-upgrade|autoremove|reinstall|"
        "erase|downgrade|add|del|uninstall|ci|refresh")

RULES: tuple[RoleRule, ...] = (
    _r("noise", "cat", r"^$", "cat"),
    *_bulk("noise", "ls ll la l dir cd pushd popd dirs pwd whoami id groups clear reset history "
           "exit logout echo printf man info help apropos whatis which type whereis hash alias "
           "unalias true false : date cal hostname tty sleep wait jobs fg bg disown source . "
           "export set unset shopt read tmux screen su reifier umask fc bind complete"),
    _r("noise", "sudo", ex="sudo -i"),
    _r("edit", "sudo", r"(?:^|\s)(?:-e|--edit)(?:\s|$)", "sudo -e /etc/hosts"),
    *_bulk("diagnostic", "cat tac less more bat view tail head grep egrep fgrep zgrep rg ag ack "
           "awk gawk sed cut sort uniq wc jq yq column tr nl zcat zless dmesg ps pgrep pidof "
           "pstree top htop atop btop iotop iftop df du free ss netstat lsof fuser dig nslookup "
           "host whois ping ping6 traceroute tracepath mtr arping wget http nc ncat telnet "
           "openssl strace ltrace perf iostat vmstat mpstat sar pidstat nproc lscpu lsblk blkid "
           "lspci lshw dmidecode findmnt stat file find locate tree namei readlink realpath "
           "uname lsb_release hostnamectl timedatectl loginctl resolvectl last lastlog w who "
           "getent ldd lsmod modinfo md5sum sha256sum sha1sum diff cmp comm xxd hexdump od "
           "strings tcpdump ethtool nmap nvidia-smi uptime env printenv ulimit getenforce "
           "sestatus test [ base64 lsattr getfacl atq ip ifconfig route arp curl sysctl journalctl "
           "dpkg rpm"),
    *_bulk("fix", "rm rmdir unlink shred mv cp rsync scp install ln mkdir touch truncate kill "
           "pkill killall chmod chown chgrp chattr setfacl umount swapoff mkswap mkfs fsck "
           "e2fsck xfs_repair resize2fs lvextend lvresize reboot shutdown halt poweroff useradd "
           "userdel usermod groupadd passwd chpasswd modprobe rmmod insmod ntpdate hwclock dd "
           "make ansible ansible-playbook update-ca-certificates ldconfig a2enmod a2ensite "
           "a2dismod a2dissite renice certbot scp systemd-run pg_ctlcluster gzip gunzip iptables "
           "ip6tables nft ufw firewall-cmd logrotate nginx haproxy tar swapon supervisorctl pm2 "
           "pg_ctl htpasswd"),
    *_bulk("edit", "vipw vigr visudo"),
    _r("diagnostic", "kill", r"(?:^|\s)-(?:0|l)(?:\s|$)", "kill -0 1234"),
    _r("fix", "curl", r"(?:^|\s)(?:-X\s*|--request[= ]\s*)(?:POST|PUT|DELETE|PATCH)\b"
       r"|(?:^|\s)(?:-[a-zA-Z]*[dFT]|--data\S*|--form|--upload-file|--json)(?:\s|=|$)",
       "curl -X POST https://api/x"),
    _r("verify", "curl", _HEALTH, "curl -fsS http://localhost:8080/healthz"),
    _r("fix", "wget", r"--post-\w+|--method[= ](?:POST|PUT|DELETE|PATCH)", "wget --post-data=x u"),
    _r("verify", "wget", _HEALTH, "wget -qO- http://localhost/health"),
    *_subs("verify", "systemctl", "is-active|is-failed|is-system-running"),
    *_subs("fix", "systemctl", "start|stop|restart|reload|try-restart|reload-or-restart|enable|"
           "disable|mask|unmask|daemon-reload|daemon-reexec|kill|reset-failed|set-property|"
           "isolate|reenable|revert|preset"),
    _r("edit", "systemctl edit"),
    *_subs("diagnostic", "systemctl", "status|show|cat|list-units|list-unit-files|list-timers|"
           "list-dependencies|is-enabled"),
    *_subs("fix", "service", "start|stop|restart|reload|force-reload|try-restart"),
    _r("diagnostic", "service status", ex="service nginx status"),
    *_subs("diagnostic", "docker", "compose logs|compose ps|compose config|compose top"),
    *_subs("fix", "docker", "restart|rm|rmi|run|start|stop|kill|pause|unpause|create|update|"
           "prune|pull|push|build|load|import|tag|cp|compose up|compose down|compose restart|"
           "compose stop|compose start|compose rm|compose pull|compose build|compose kill|"
           "system prune|volume rm|volume prune|network rm|container rm|container prune|"
           "image rm|image prune|swarm|service update|service scale|service rm|stack deploy"),
    *_subs("fix", "docker-compose", "up|down|restart|stop|start|rm|pull|build|kill"),
    *_subs("verify", "kubectl", "rollout status|wait"),
    *_subs("diagnostic", "kubectl", "rollout history|get|describe|logs|top|events|explain|diff|"
           "exec|port-forward|api-resources|version|cluster-info|config|auth"),
    *_subs("fix", "kubectl", "apply|create|delete|patch|replace|scale|set|cordon|uncordon|drain|"
           "taint|label|annotate|autoscale|expose|run|cp|rollout restart|rollout undo|"
           "rollout pause|rollout resume"),
    _r("edit", "kubectl edit"),
    *_subs("fix", "helm", "install|upgrade|rollback|uninstall|delete|repo add|repo update|"
           "repo remove|plugin install"),
    _r("verify", "helm test"),
    *_subs("fix", "git", "pull|checkout|switch|revert|reset|merge|rebase|commit|push|stash|"
           "cherry-pick|am|apply|clean|restore|clone|rm|mv|tag"),
    *_subs("diagnostic", "git", "status|log|diff|show|blame|branch|remote|describe|rev-parse|"
           "grep|shortlog|reflog|fetch|ls-files|config"),
    *(r for pm in ("apt", "apt-get", "yum", "dnf", "zypper", "apk", "snap", "brew", "pip", "pip3",
                   "npm", "gem") for r in _subs("fix", pm, _PKG)),
    _r("fix", "pacman", r"(?:^|\s)-[SRU]", "pacman -Syu"),
    *(_r("diagnostic", t, r"(?:^|\s)(?:-[a-zA-Z]*[LS]\b|--list)", f"{t} -nvL")
      for t in ("iptables", "ip6tables")),
    _r("diagnostic", "nft list", ex="nft list ruleset"),
    _r("diagnostic", "ufw status"),
    _r("diagnostic", "firewall-cmd", r"--(?:list|state|get|query)", "firewall-cmd --list-all"),
    _r("fix", "sysctl", r"(?:^|\s)(?:-w|-p|--load|--system|--write)(?:\s|$)|\S=\S", "sysctl a=1"),
    _r("fix", "ip", r"\b(?:add|del|delete|set|change|replace|flush|append)\b", "ip link set e up"),
    _r("fix", "find", r"(?:^|\s)(?:-delete|-exec(?:dir)?\s+(?:\S*/)?(?:rm|unlink|chmod|chown|"
       r"chgrp|mv|truncate|gzip|shred|sed\s+-i))\b", "find /var/log -name '*.gz' -delete"),
    _r("fix", "journalctl", r"--(?:vacuum-|rotate|flush|sync|relinquish)", "journalctl --rotate"),
    _r("diagnostic", "logrotate", r"(?:^|\s)(?:-d|--debug)", "logrotate -d /etc/logrotate.conf"),
    _r("edit", "crontab", r"(?:^|\s)-e\b", "crontab -e"),
    _r("diagnostic", "crontab", r"(?:^|\s)-l\b", "crontab -l"),
    _r("fix", "crontab", r"\S", "crontab -r"),
    _r("noise", "crontab", ex="crontab"),
    _r("verify", "visudo", r"(?:^|\s)-c\b", "visudo -c"),
    _r("verify", "nginx", r"(?:^|\s)-[a-zA-Z]*t", "nginx -t"),
    _r("diagnostic", "nginx", r"(?:^|\s)-[TVv]\b", "nginx -T"),
    *(r for ctl in ("apachectl", "apache2ctl", "httpd") for r in (
        _r("verify", ctl, r"(?:^|\s)(?:configtest|-t)\b", f"{ctl} configtest"),
        _r("diagnostic", ctl, r"(?:^|\s)(?:-[SMV]|status|fullstatus)\b", f"{ctl} -S"),
        _r("fix", ctl, ex=f"{ctl} graceful"))),
    _r("verify", "haproxy", r"(?:^|\s)-c\b", "haproxy -c -f /etc/haproxy/haproxy.cfg"),
    _r("verify", "sshd", r"(?:^|\s)-[tT]\b", "sshd -t"),
    *_bulk("verify", "pg_isready named-checkconf named-checkzone"),
    _r("verify", "promtool check config", ex="promtool check config p.yml"),
    _r("verify", "amtool check-config", ex="amtool check-config a.yml"),
    _r("verify", "ansible", r"(?:^|\s)-m\s+ping\b", "ansible all -m ping"),
    _r("verify", "terraform validate"),
    *_subs("fix", "terraform", "apply|destroy|import|taint|untaint|state rm|force-unlock"),
    _r("verify", "mysqladmin ping"),
    _r("fix", "mysqladmin", r"(?:^|\s)(?:shutdown|flush-\w+|kill|refresh|reload|password|create|"
       r"drop)(?=\s|$)", "mysqladmin flush-hosts"),
    *(_r("fix", db, _SQL_WRITE, f"{db} -c 'DELETE FROM s'") for db in ("psql", "mysql", "mariadb")),
    _r("fix", "psql", r"(?:^|\s)(?:-f|--file)\b", "psql -f fix.sql"),
    _r("verify", "redis-cli", r"(?i)(?:^|\s)ping$", "redis-cli -h cache1 ping"),
    _r("fix", "redis-cli", r"(?i)(?:^|\s)(?:flushall|flushdb|del|unlink|set|hset|expire|config\s+"
       r"set|shutdown|client\s+kill|replicaof|slaveof|failover|bgrewriteaof|bgsave)\b",
       "redis-cli flushall"),
    _r("diagnostic", "tar", r"(?:^|\s)(?:-?[a-zA-Z]*t[a-zA-Z]*|--list)(?:\s|$)", "tar -tzf a.tgz"),
    _r("diagnostic", "mount", r"^$|^-l\b", "mount"),
    _r("fix", "mount", ex="mount -a"),
    _r("diagnostic", "swapon", r"--show|(?:^|\s)-s\b", "swapon --show"),
    _r("fix", "dpkg", r"(?:^|\s)(?:-[irPa]|--install|--remove|--purge|--configure)\b", "dpkg -i x"),
    _r("fix", "rpm", r"(?:^|\s)(?:-[a-zA-Z]*[iUFe][a-zA-Z]*|--install|--upgrade|--erase)\b",
       "rpm -Uvh x"),
    _r("fix", "aws", r"(?:^|\s)(?:delete|put|create|update|modify|terminate|reboot|stop|start|run|"
       r"attach|detach|cp|mv|rm|sync|set|invoke|restore|promote|failover|deregister|register|"
       r"associate|disassociate|authorize|revoke|enable|disable)(?:-[\w-]+)?(?=\s|$)",
       "aws ecs update-service --force-new-deployment"),
    _r("fix", "gcloud", r"(?:^|\s)(?:create|delete|update|deploy|set|start|stop|reset|resize|"
       r"rollback|restart|patch|add-[\w-]+|remove-[\w-]+)(?=\s|$)", "gcloud run deploy api"),
    _r("fix", "az", r"(?:^|\s)(?:create|delete|update|set|start|stop|restart|deploy|scale)"
       r"(?=\s|$)", "az vm restart -n web1"),
    _r("diagnostic", "supervisorctl", r"(?:^|\s)(?:status|tail|avail)\b", "supervisorctl status"),
    _r("diagnostic", "pm2", r"(?:^|\s)(?:list|ls|logs|status|show|describe|monit)\b", "pm2 logs"),
    _r("diagnostic", "pg_ctl", r"(?:^|\s)status\b", "pg_ctl status"),
    *(_r(role, sh, rx, f"{sh} {a} deploy.sh") for sh in ("bash", "sh", "zsh", "dash")
      for role, rx, a in (("diagnostic", r"(?:^|\s)-n\b", "-n"), ("fix", r"\S", "-e"))),
    _r("noise", "ssh", ex="ssh web-01"),
)  # fmt: skip


@dataclass(frozen=True)
class Editor:
    """A command that writes the files it is given (``flag`` regex on the arguments, if any)."""

    command: str
    flag: re.Pattern[str] | None = None
    takes_value: frozenset[str] = frozenset()  # options followed by a value
    script_opts: frozenset[str] = frozenset()  # without one, the first positional is a script
    scratch_ok: bool = True  # False: writes to /dev, /tmp… are not edits (tee)
    example: str = ""
    expect: tuple[str, ...] = ()


_VIM_OPTS = frozenset({"-c", "-S", "--cmd", "-u", "-i", "-t", "-q"})
_SED_SCRIPT = frozenset({"-e", "-f", "--expression", "--file"})
EDITORS: tuple[Editor, ...] = (
    *(Editor(name, None, _VIM_OPTS, example=f"{name} +12 /etc/app.conf", expect=("/etc/app.conf",))
      for name in _EDITOR_NAMES.split()),
    Editor("sed", re.compile(r"(?:^|\s)(?:-[a-zA-Z]*i|--in-place)"), _SED_SCRIPT | {"-l"},
           _SED_SCRIPT, example="sed -i 's/a/b/' /etc/app.conf", expect=("/etc/app.conf",)),
    Editor("perl", re.compile(r"(?:^|\s)-[a-zA-Z]*i"), frozenset({"-e", "-E", "-M", "-I"}),
           frozenset({"-e", "-E"}), example="perl -pi -e 's/a/b/' /etc/x", expect=("/etc/x",)),
    Editor("tee", None, frozenset({"--output-error"}), scratch_ok=False,
           example="tee -a /etc/hosts", expect=("/etc/hosts",)),
)  # fmt: skip


@dataclass(frozen=True)
class Relay:
    """A command that runs a command line given as an argument."""

    command: str
    mode: str  # "c": the word after -c; "host": the words after the host (ssh)
    takes_value: frozenset[str] = frozenset()
    example: str = ""


_SSH_OPTS = "-p -i -l -o -F -J -L -R -D -b -c -e -m -O -Q -S -W -w -E -B"
RELAYS: tuple[Relay, ...] = (
    *(Relay(sh, "c", example=f"{sh} -c 'systemctl restart app'")
      for sh in ("bash", "sh", "zsh", "dash", "su")),
    Relay("ssh", "host", frozenset(_SSH_OPTS.split()), "ssh -p 2222 web1 'systemctl restart app'"),
)  # fmt: skip

_BY_CMD: dict[str, list[RoleRule]] = {}
for _rule in RULES:
    _BY_CMD.setdefault(_rule.command, []).append(_rule)
for _rules in _BY_CMD.values():  # longer subcommand paths, then argument regexes, come first
    _rules.sort(key=lambda r: (-len(r.sub), r.args is None))
# Per command, the words known at each subcommand level (to skip option values).
_LEVELS = {c: [{r.sub[i] for r in rs if len(r.sub) > i} for i in range(3)]
           for c, rs in _BY_CMD.items()}  # fmt: skip
_EDITORS = {e.command: e for e in EDITORS}
_RELAYS = {r.command: r for r in RELAYS}
_DRY_RUN = re.compile(r"(?:^|\s)(?:--dry-run(?!=none)|--check)\b")


def _name(words: Sequence[str]) -> str:
    return words[0].rsplit("/", 1)[-1] if words else ""


def _path(cmd: str, args: Sequence[str]) -> tuple[str, ...]:
    """Return the subcommand path: at each level the first positional known there."""
    levels, path, pos = _LEVELS.get(cmd, []), [], 0
    for known in levels:
        if not known:
            break
        hit = next((i for i in range(pos, len(args)) if args[i] in known), None)
        if hit is None:
            break
        path.append(args[hit])
        pos = hit + 1
    return tuple(path)


def _edited(ed: Editor, args: Sequence[str]) -> tuple[str, ...]:
    """Return the files ``ed`` writes given its arguments (empty: it writes none)."""
    if ed.flag is not None and not ed.flag.search(" ".join(args)):
        return ()
    files, skip, after_dash = [], False, False
    for a in args:
        if skip or (a == "--" and not after_dash):
            skip, after_dash = False, after_dash or a == "--"
        elif after_dash or not a.startswith(("-", "+")) or a == "-":
            files.append(a)
        else:
            skip = a in ed.takes_value
    if ed.script_opts and not ed.script_opts.intersection(args):
        files = files[1:]
    return tuple(f for f in files if ed.scratch_ok or not f.startswith(_SCRATCH))


def _written(redirects: Sequence[tuple[str, Word]]) -> Iterator[str]:
    """Yield the real files an output redirection writes."""
    for op, target in redirects:
        path = target.text
        if ">" not in op or (op.endswith("&") and path.isdigit()) or path == "-":
            continue
        if path and not path.startswith(_SCRATCH):
            yield path


def _relayed(relay: Relay, args: Sequence[str]) -> str | None:
    """Return the command line a relay runs, or ``None`` when it runs none."""
    if relay.mode == "c":
        for i, a in enumerate(args[:-1]):
            if a.startswith("-") and not a.startswith("--") and "c" in a:
                return args[i + 1]
        return None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in relay.takes_value else 1
    return " ".join(args[i + 1 :]) or None


def _role_of(sc: SimpleCommand, lists: RoleLists | None, depth: int) -> str:
    """Classify one simple command (see the module docstring for the order)."""
    words = unwrap(sc.words)
    argv = tuple(w.text for w in words)
    written = any(_written(sc.redirects))
    if not argv:
        return "edit" if written else "noise"
    cmd, args = _name(argv), argv[1:]
    role = _listed(argv, lists) or _static(cmd, argv, args, lists, depth)
    if role == "fix" and _DRY_RUN.search(" ".join(args)):
        role = "diagnostic"
    return "edit" if written else role


def _listed(argv: tuple[str, ...], lists: RoleLists | None) -> str | None:
    """Return the role of the longest user-list entry that prefixes ``argv``."""
    if lists is None:
        return None
    best: tuple[int, str] | None = None
    words = (_name(argv), *argv[1:])
    for role, entries in (("noise", lists.noise), ("diagnostic", lists.diagnostic),
                          ("fix", lists.fix)):  # fmt: skip
        for want in (tuple(e.split()) for e in entries):
            if want and words[: len(want)] == want and (best is None or len(want) >= best[0]):
                best = (len(want), role)
    return best[1] if best else None


def _static(
    cmd: str, argv: tuple[str, ...], args: tuple[str, ...], lists: RoleLists | None, depth: int
) -> str:
    relay = _RELAYS.get(cmd)
    inner = _relayed(relay, args) if relay is not None else None
    if inner is not None and depth < 3:
        return _line_role(inner, lists, depth + 1)
    editor = _EDITORS.get(cmd)
    if editor is not None and (_edited(editor, args) or (editor.scratch_ok and not editor.flag)):
        return "edit"
    joined, path = " ".join(args), _path(cmd, args)
    for rule in _BY_CMD.get(cmd, ()):
        if rule.sub == path[: len(rule.sub)] and (rule.args is None or rule.args.search(joined)):
            return rule.role
    return "fix" if "/" in argv[0] else "diagnostic"


def _line_role(command: str, lists: RoleLists | None, depth: int = 0) -> str:
    roles = [_role_of(sc, lists, depth) for sc in parse(command).commands]
    return max(roles, key=STRENGTH.__getitem__, default="noise")


@lru_cache(maxsize=65536)
def classify(command: str, lists: RoleLists | None = None) -> str:
    """Return the static role of a command line (the strongest of its parts)."""
    return _line_role(command, lists)


def simple_commands(command: str) -> tuple[tuple[str, ...], ...]:
    """Return the argv of every simple command, wrappers (sudo, env, time…) removed."""
    out = (tuple(w.text for w in unwrap(sc.words)) for sc in parse(command).commands)
    return tuple(argv for argv in out if argv)


def edit_targets(command: str) -> tuple[str, ...]:
    """Return the files a command line edits (editors, sed -i, tee, redirections)."""
    found: list[str] = []
    for sc in parse(command).commands:
        argv = tuple(w.text for w in unwrap(sc.words))
        editor = _EDITORS.get(_name(argv))
        relay = _RELAYS.get(_name(argv))
        inner = _relayed(relay, argv[1:]) if relay is not None and relay.mode == "c" else None
        found.extend(_edited(editor, argv[1:]) if editor is not None else ())
        found.extend(edit_targets(inner) if inner else ())
        found.extend(_written(sc.redirects))
    return tuple(dict.fromkeys(found))


def assign_roles(
    events: Sequence[CommandEvent], lists: RoleLists | None = None
) -> tuple[CommandEvent, ...]:
    """Fill each event's role; diagnostics after a shell session's last fix/edit become verify."""
    roles = [classify(e.command, lists) for e in events]
    last_change: dict[str, int] = {}
    for i, (event, role) in enumerate(zip(events, roles, strict=True)):
        if role in {"fix", "edit"}:
            last_change[event.shell_session] = i
    out = []
    for i, (event, role) in enumerate(zip(events, roles, strict=True)):
        after = i > last_change.get(event.shell_session, len(events))
        out.append(event.with_(role="verify" if role == "diagnostic" and after else role))
    return tuple(out)


_INTERACTIVE_EDITORS = frozenset(_EDITOR_NAMES.split())


def is_interactive_edit(command: str) -> bool:
    """Tell whether a command opens a file in an interactive editor (vim, nano...)."""
    return any(argv and argv[0] in _INTERACTIVE_EDITORS for argv in simple_commands(command))
