"""Give each command a role: noise, diagnostic, fix, edit or verify.

Every simple command of a line (see :mod:`reifier.core.bashparse`) is looked at
after unwrapping ``sudo``/``env``/``time``/``timeout``/``xargs``…; ``bash -c``,
``su -c`` and ``ssh host CMD`` count as the command they carry. A simple
command's role is the first of: the user's :class:`RoleLists` (longest entry
wins); :data:`EDITORS` (an editor, ``sed -i``, ``perl -i``, ``tee FILE`` → edit;
``vim -`` reading a pipe only looks); ``--help``/``-help`` or a ``help``
subcommand → noise; the first matching :data:`RULES` entry for its name (this
module's table plus the admin-CLI subcommand tables of
:mod:`reifier.core.classify_rules`; longer subcommand paths and argument regexes
are tried first); the generic verb rule of :mod:`reifier.core.classify_verbs`
(``./appctl status``, ``consul kv put``, ``aws ec2 describe-instances``); else a
*guess*: ``diagnostic``, or ``fix`` for a script path like ``./repair.sh``. Then
``--dry-run``/``--check`` turns a fix into a diagnostic, reading a shell history
file is noise, and an output redirection onto a real file makes an edit: not onto
``/dev/*``, a file descriptor or a scratch file under ``/tmp``, ``/var/tmp``,
``/dev/shm`` (``ps aux > /tmp/ps.txt`` stays a diagnostic; editors edit any file).

A line takes its strongest part: ``edit > fix > verify > diagnostic > noise``,
except that a help page or the shell's history piped through text filters
(``history | grep ssh``, ``man tar | less``) stays noise. :func:`assign_roles`
then uses exit statuses and neighbours (see there): a command not found is noise,
a failing guessed fix is a reproduction, a failed change nothing confirmed is not
a fix, a check before any change is a diagnostic, a diagnostic after the last
change verifies it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from reifier.core.bashparse import SimpleCommand, Word, parse, unwrap
from reifier.core.classify_rules import ADMIN_RULES, CASELESS, RoleRule, bulk, rule, subs
from reifier.core.classify_verbs import verb_role
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


_r, _bulk, _subs = rule, bulk, subs
_EDITOR_NAMES = "vim vi nvim nano emacs ed ex pico joe mcedit micro kak hx sudoedit"
_HEALTH = r"(?i)://\S*/(?:health|healthz|healthcheck|_health|ready|readyz|livez|ping|status)\b"
SCRIPT_SHELLS = ("bash", "sh", "zsh", "dash")
_PKG = ("install|remove|purge|upgrade|update|dist-upgrade|full-upgrade|autoremove|reinstall|"
        "erase|downgrade|add|del|uninstall|ci|refresh")

RULES: tuple[RoleRule, ...] = (
    _r("noise", "cat", r"^$", "cat"),
    *_bulk("noise", "ls ll la l dir cd pushd popd dirs pwd whoami id groups clear reset history "
           "exit logout echo printf man info help apropos whatis tldr cheat which type whereis "
           "hash alias "
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
    *_subs("fix", "git", "pull|checkout|switch|revert|reset|merge|rebase|commit|push|stash|"
           "cherry-pick|am|apply|clean|restore|clone|rm|mv|tag"),
    *_subs("diagnostic", "git", "status|log|diff|show|blame|branch|remote|describe|rev-parse|"
           "grep|shortlog|reflog|fetch|ls-files|config"),
    *(r for pm in ("apt", "apt-get", "yum", "dnf", "zypper", "apk", "snap", "brew", "pip", "pip3",
                   "npm", "gem") for r in _subs("fix", pm, _PKG)),
    _r("fix", "pacman", r"(?:^|\s)-[SRU]", "pacman -Syu"),
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
    _r("diagnostic", "tar", r"(?:^|\s)(?:-?[a-zA-Z]*t[a-zA-Z]*|--list)(?:\s|$)", "tar -tzf a.tgz"),
    _r("diagnostic", "mount", r"^$|^-l\b", "mount"),
    _r("fix", "mount", ex="mount -a"),
    _r("diagnostic", "swapon", r"--show|(?:^|\s)-s\b", "swapon --show"),
    _r("fix", "dpkg", r"(?:^|\s)(?:-[irPa]|--install|--remove|--purge|--configure)\b", "dpkg -i x"),
    _r("fix", "rpm", r"(?:^|\s)(?:-[a-zA-Z]*[iUFe][a-zA-Z]*|--install|--upgrade|--erase)\b",
       "rpm -Uvh x"),
    _r("diagnostic", "supervisorctl", r"(?:^|\s)(?:status|tail|avail)\b", "supervisorctl status"),
    _r("diagnostic", "pm2", r"(?:^|\s)(?:list|ls|logs|status|show|describe|monit)\b", "pm2 logs"),
    _r("diagnostic", "pg_ctl", r"(?:^|\s)status\b", "pg_ctl status"),
    *(_r(role, sh, rx, f"{sh} {a} deploy.sh", guess=role == "fix") for sh in SCRIPT_SHELLS
      for role, rx, a in (("diagnostic", r"(?:^|\s)-n\b", "-n"), ("fix", r"\S", "-e"))),
    _r("noise", "ssh", ex="ssh web-01"),
    *ADMIN_RULES,
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
# Asking how to use a command, or looking at the shell's own history, is noise.
_HELP = frozenset({"--help", "-help", "--usage", "-?"})
_VIEWS = frozenset({"history", "fc", "man", "tldr", "cheat", "help", "info", "apropos", "whatis"})
_HISTORY_FILE = re.compile(
    r"(?:^|/)(?:\.(?:bash|zsh|sh|python|psql|mysql|node_repl|sqlite|rediscli)_history|"
    r"\.zhistory|fish_history)$|^\$\{?HISTFILE\}?$"
)
# Text filters: ``history | grep ssh`` and ``man tar | less`` only view the left side.
_FILTER_NAMES = ("grep egrep fgrep rg ag ack less more most head tail sort uniq wc cut awk gawk "
                 "sed tr column nl tac cat bat fzf")  # fmt: skip
_FILTERS = frozenset(_FILTER_NAMES.split())
#: Exit statuses of a command that never ran (bash: not executable, not found).
NOT_RUN = frozenset({126, 127})
CHANGES = frozenset({"fix", "edit"})


def _name(words: Sequence[str]) -> str:
    return words[0].rsplit("/", 1)[-1] if words else ""


def _table_name(cmd: str) -> str:
    """Return the name the tables know ``cmd`` by (``kafka-topics.sh`` → ``kafka-topics``)."""
    if cmd not in _BY_CMD and cmd.endswith((".sh", ".py")) and cmd[:-3] in _BY_CMD:
        return cmd[:-3]
    return cmd


def _path(cmd: str, args: Sequence[str]) -> tuple[str, ...]:
    """Return the subcommand path: at each level the first positional known there."""
    levels, path, pos = _LEVELS.get(cmd, []), [], 0
    if cmd in CASELESS:
        args = [a.lower() for a in args]
    for known in levels:
        if not known:
            break
        hit = next((i for i in range(pos, len(args)) if args[i] in known), None)
        if hit is None:
            break
        path.append(args[hit])
        pos = hit + 1
    return tuple(path)


def _reads_stdin(args: Sequence[str]) -> bool:
    """Tell whether an editor's only file is ``-`` (it shows what is piped in)."""
    return "-" in args and not [a for a in args if not a.startswith(("-", "+"))]


def _first_positional(args: Sequence[str]) -> int | None:
    return next((i for i, a in enumerate(args) if not a.startswith("-")), None)


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


@dataclass(frozen=True)
class _Part:
    """The role of one simple command, whether it was guessed, and its kind."""

    role: str
    guess: bool = False
    kind: str = ""  # "view": docs or shell history; "filter": a text filter


def _role_of(sc: SimpleCommand, lists: RoleLists | None, depth: int) -> _Part:
    """Classify one simple command (see the module docstring for the order)."""
    words = unwrap(sc.words)
    argv = tuple(w.text for w in words)
    written = any(_written(sc.redirects))
    if not argv:
        return _Part("edit" if written else "noise")
    cmd, args = _name(argv), argv[1:]
    listed = _listed(argv, lists)
    role, guess = (listed, False) if listed else _static(cmd, argv, args, lists, depth)
    if role == "fix" and _DRY_RUN.search(" ".join(args)):
        role = "diagnostic"
    kind = ""
    if role == "noise" and (cmd in _VIEWS or _HELP.intersection(args)):
        kind = "view"
    elif role == "diagnostic" and any(_HISTORY_FILE.search(a) for a in args):
        role, kind = "noise", "view"
    elif role == "diagnostic" and (cmd in _FILTERS or (cmd in _EDITORS and _reads_stdin(args))):
        kind = "filter"
    return _Part("edit", False, kind) if written else _Part(role, guess, kind)


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
) -> tuple[str, bool]:
    relay = _RELAYS.get(cmd)
    inner = _relayed(relay, args) if relay is not None else None
    if inner is not None and depth < 3:
        return _line_detail(inner, lists, depth + 1)
    editor = _EDITORS.get(cmd)
    if editor is not None and editor.scratch_ok and not editor.flag and _reads_stdin(args):
        return "diagnostic", False  # history | vim -: a pager
    if editor is not None and (_edited(editor, args) or (editor.scratch_ok and not editor.flag)):
        return "edit", False
    if _HELP.intersection(args):
        return "noise", False
    cmd = _table_name(cmd)
    first = _first_positional(args)
    levels = _LEVELS.get(cmd)
    if first is not None and args[first] == "help" and (levels is None or levels[0]):
        return "noise", False  # git help log, kubectl help, ./appctl help
    if cmd in SCRIPT_SHELLS and first is not None:  # bash appctl.sh status
        verb = verb_role(_name(args[first:]), args[first + 1 :])
        if verb is not None:
            return verb, False
    joined, path = " ".join(args), _path(cmd, args)
    for r in _BY_CMD.get(cmd, ()):
        if r.sub == path[: len(r.sub)] and (r.args is None or r.args.search(joined)):
            return r.role, r.guess
    verb = verb_role(cmd, args)
    if verb is not None:
        return verb, False
    return ("fix" if "/" in argv[0] else "diagnostic"), True


def _line_detail(command: str, lists: RoleLists | None, depth: int = 0) -> tuple[str, bool]:
    parts = [_role_of(sc, lists, depth) for sc in parse(command).commands]
    if not parts:
        return "noise", False
    if any(p.kind == "view" for p in parts) and all(
        p.kind in {"view", "filter"} or p.role == "noise" for p in parts
    ):
        return "noise", False  # history | grep ssh, man tar | less
    role = max((p.role for p in parts), key=STRENGTH.__getitem__)
    return role, all(p.guess for p in parts if p.role == role)


@lru_cache(maxsize=65536)
def classify_detail(command: str, lists: RoleLists | None = None) -> tuple[str, bool]:
    """Return the static role of a command line and whether it is only a guess.

    A guess is the fallback for a command no table or verb decides: an unknown
    program (diagnostic) or a script path such as ``./exporter-run`` (fix).
    """
    return _line_detail(command, lists)


def classify(command: str, lists: RoleLists | None = None) -> str:
    """Return the static role of a command line (the strongest of its parts)."""
    return classify_detail(command, lists)[0]


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


def failed(event: CommandEvent) -> bool:
    """Tell whether a command is known to have exited non-zero."""
    return event.exit_code not in (None, 0)


def _operands(argv: Sequence[str]) -> list[str]:
    return [a for a in argv[1:] if not a.startswith("-")]


def same_intent(a: str, b: str) -> bool:
    """Tell whether two command lines try the same thing (a retry or a corrected typo).

    Same program (wrappers removed), a last operand alike (``app`` ≈ ``ap``, not
    ``nginx``) and lines at least 60 % alike: ``systemctl restart app`` and ``sudo
    systemctl start app`` are, ``systemctl restart app`` and ``systemctl restart db``
    are not.
    """
    pa, pb = simple_commands(a), simple_commands(b)
    if not pa or not pb or _name(pa[0]) != _name(pb[0]):
        return False
    oa, ob = _operands(pa[0]), _operands(pb[0])
    la, lb = (oa[-1] if oa else ""), (ob[-1] if ob else "")
    if la != lb and SequenceMatcher(None, la, lb).ratio() < SIMILAR:
        return False
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


SIMILAR = 0.6


def assign_roles(
    events: Sequence[CommandEvent], lists: RoleLists | None = None
) -> tuple[CommandEvent, ...]:
    """Fill each event's role from its static role, its exit status and its neighbours.

    In order, within each shell session:

    1. a command that never ran (exit 126/127: a typo, a missing tool) is noise;
    2. a guessed fix (a script path no verb explains, ``./exporter-run``) that failed
       reproduces the problem: a diagnostic;
    3. a fix or edit that failed and is never followed by a success of the same
       intent (:func:`same_intent`) changed nothing: a diagnostic (it stays one);
    4. a guessed fix re-running such a reproduction successfully after a real change
       verifies the change;
    5. a diagnostic after the last fix/edit becomes ``verify``; a ``verify`` before
       the first one (a health ``curl`` while looking) is a diagnostic.

    An exit status that only says "it is broken" never promotes: a status check
    failing while the service is down stays a diagnostic.
    """
    n = len(events)
    details = [classify_detail(e.command, lists) for e in events]
    roles = [role for role, _ in details]
    guessed = [guess and role == "fix" for role, guess in details]
    shell = [e.shell_session for e in events]
    repro: set[int] = set()
    for i, event in enumerate(events):
        if event.exit_code in NOT_RUN:
            roles[i] = "noise"
        elif guessed[i] and failed(event):
            roles[i] = "diagnostic"
            repro.add(i)
    unconfirmed = {
        i for i, event in enumerate(events)
        if roles[i] in CHANGES and failed(event) and not any(
            shell[j] == shell[i] and not failed(events[j]) and roles[j] != "noise"
            and same_intent(event.command, events[j].command) for j in range(i + 1, n))
    }  # fmt: skip
    for i in unconfirmed:
        roles[i] = "diagnostic"
    for i in range(n):
        if roles[i] == "fix" and guessed[i] and not failed(events[i]) and any(
            shell[j] == shell[i] and same_intent(events[j].command, events[i].command)
            and any(shell[k] == shell[i] and roles[k] in CHANGES and not guessed[k]
                    for k in range(j + 1, i)) for j in repro if j < i):  # fmt: skip
            roles[i] = "verify"
    first_change: dict[str, int] = {}
    last_change: dict[str, int] = {}
    for i, role in enumerate(roles):
        if role in CHANGES:
            first_change.setdefault(shell[i], i)
            last_change[shell[i]] = i
    out = []
    for i, (event, static) in enumerate(zip(events, roles, strict=True)):
        role = static
        if static == "diagnostic" and i > last_change.get(shell[i], n) and i not in unconfirmed:
            role = "verify"
        elif static == "verify" and i < first_change.get(shell[i], n):
            role = "diagnostic"
        out.append(event.with_(role=role))
    return tuple(out)


def unconfirmed_change(event: CommandEvent, lists: RoleLists | None = None) -> bool:
    """Tell whether ``event`` is a change that failed and was kept as a diagnostic.

    That is: its command is a fix or edit by the tables (not a guess), it failed,
    and :func:`assign_roles` did not leave it a change — no later success of the same
    intent confirmed it.
    """
    role, guess = classify_detail(event.command, lists)
    return role in CHANGES and not guess and failed(event) and event.role == "diagnostic"


_INTERACTIVE_EDITORS = frozenset(_EDITOR_NAMES.split())


def is_interactive_edit(command: str) -> bool:
    """Tell whether a command opens a file in an interactive editor (vim, nano...)."""
    return any(argv and argv[0] in _INTERACTIVE_EDITORS for argv in simple_commands(command))
