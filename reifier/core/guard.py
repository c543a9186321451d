"""The safety guard: refuse destructive shell commands before they run.

Detection is parse based (:mod:`reifier.core.guard_parse` over tree-sitter-bash),
never substring matching: ``grep 'rm -rf' Makefile`` is fine, ``'r''m' -rf /``
is not. Each kind of danger is a named :class:`DangerRule` in
:data:`DANGER_RULES`, with commands it must refuse and commands it must allow.

What cannot be resolved statically (a parse error, a dynamic command name, code
for ``python -c``, code piped into a shell, an alias used in the same cell…) is
reported by the rule named ``unresolvable`` and refused like any danger.

Allow semantics: ``evaluate(cmd, allow=…)`` takes the rule names an approver
allowed *for this cell*. A finding whose rule is in ``allow`` is waived: it is
still reported, but it does not refuse the command. ``unresolvable`` may be
allowed the same way, except when ``require_resolvable=True`` (autonomous runs,
where nobody reads the cell): then unresolvable findings always refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reifier.core import guard_rules as r
from reifier.core.bind import bind
from reifier.core.guard_args import UNRESOLVABLE, dry_run
from reifier.core.guard_loss import LOSS_RULES
from reifier.core.guard_parse import collect
from reifier.core.guard_rules import DangerRule

__all__ = ["DANGER_RULES", "RULE_NAMES", "UNRESOLVABLE", "CellVerdict", "DangerRule", "Finding",
           "GuardVerdict", "check_notebook", "evaluate"]


@dataclass(frozen=True)
class Finding:
    """One rule that fired: where, on what, and whether it is an unresolvable part."""

    rule: str
    message: str
    span: tuple[int, int]
    snippet: str
    unknown: bool = False


@dataclass(frozen=True)
class GuardVerdict:
    """The guard's answer for one command; ``findings`` include waived ones."""

    allowed: bool
    findings: tuple[Finding, ...] = ()
    waived: frozenset[str] = frozenset()  # rules the approver allowed that did fire
    bound: tuple[tuple[str, str], ...] = ()  # (name, value) judged in place of $name

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Return the findings that refuse the command."""
        return tuple(f for f in self.findings if f.rule not in self.waived)

    @property
    def reason(self) -> str:
        """Return one line naming the rule and the offending part."""
        if not self.findings:
            return "allowed: no rule matched"
        if self.allowed:
            return f"allowed: rule(s) {', '.join(sorted(self.waived))} allowed by the approver"
        first = self.blocking[0]
        more = len(self.blocking) - 1
        tail = f" (+{more} more)" if more else ""
        return f"refused by rule {first.rule}: {first.message} in `{first.snippet}`{tail}" + (
            self.values_text)

    @property
    def values_text(self) -> str:
        """Name the values the command was judged with (`` with DIR='/etc'``), or ''."""
        if not self.bound:
            return ""
        shown = ", ".join(f"{name}={value!r}" for name, value in self.bound)
        return f" with {shown}"


@dataclass(frozen=True)
class CellVerdict:
    """The guard's verdict on one code cell of a notebook."""

    index: int  # position in nb["cells"]
    cell_id: str
    verdict: GuardVerdict


def _rule(name: str, description: str, check: Any, examples: tuple[str, ...],
          counterexamples: tuple[str, ...] = ()) -> DangerRule:
    return DangerRule(name, description, check, examples, counterexamples)


DANGER_RULES: tuple[DangerRule, ...] = (
    _rule(UNRESOLVABLE, "code the guard cannot read statically (dynamic command, inline "
          "interpreter code, piped or aliased code, parse error)", r.check_unresolvable,
          ("x=rm; $x -rf /", "$(echo rm) -rf /", "python3 -c 'print(1)'", 'eval "$CMD"',
           "cat script.sh | bash", "alias ll=\"$X\"; ll -rf /", "xargs rm -rf < paths.txt",
           'bash -c "$X"', 'perl -e \'unlink "x"\'', "if then fi )", 'rm -rf "$DIR"',
           "ls | xargs -I{} sh -c 'rm -rf {}'", "cat fix.sh | ssh db1", "source <(cat x)"),
          ("ls -la", "bash deploy.sh", "python3 -m json.tool f.json", 'echo "$HOME"',
           "bash -c 'ls -la'", "eval 'echo hi'", "xargs -n1 echo < f", "alias ll='ls'; ll")),
    _rule("rm_catastrophic", "rm -r of /, a system dir, the home dir or the working dir",
          r.rm_catastrophic,
          ("rm -rf /", "rm -rf /*", "rm -r -f /", "rm -fr ~", "rm -rf $HOME", "rm -rf *",
           "rm -rf .", "rm -R ..", "rm -rf /tmp/../etc", "rm --recursive --force /usr",
           "'r''m' -rf /", "/bin/rm -rf /etc", "\\rm -rf ~/", "sudo rm -rf /var",
           "rm -rf /home/*", "rm -rf ${HOME}", "cd / && rm -rf etc", "rm -rf {/,x}"),
          ("rm -rf /tmp/build", "rm -rf ./build", "rm /tmp/x", "rm -f *.log", "rm -rf build/*",
           "cd /tmp/x && rm -rf build", "rm -rf /tmp/{a,b}", 'rm -rf "$TMPDIR/cache"',
           "rm -rf ~/.cache/pip", "rm -rf /var/cache/apt/archives/partial")),
    _rule("rm_empty_var", "rm -r of a path that becomes / when a variable is empty (SC2115)",
          r.rm_empty_var, ('rm -rf "$STEAMROOT/"*', "rm -rf $DIR/", "rm -rf ${D}/etc"),
          ('rm -rf "${BUILD_DIR:?}/"*', 'rm -rf "${DIR:?}/cache"', "rm -rf \"${D:?}\"")),
    _rule("rm_outside_scratch", "rm -r of an absolute path outside /tmp, /var/tmp, /dev/shm",
          r.rm_outside_scratch,
          ("rm -rf /srv/app/releases/old", "rm -rf ~/projects", "rm -rf /data/pg/base"),
          ("rm -rf /tmp/build", "rm -rf /var/tmp/cache/x", "rm -rf build")),
    _rule("find_delete", "find -delete / -exec rm on /, the home dir or a system dir",
          r.find_delete,
          ("find / -name core -delete", "find /var/lib -name '*.db' -exec rm {} \\;",
           "find ~ -type f -delete", "find /etc -exec rm -f {} +"),
          ("find /var/log -mtime +7 -name '*.gz'", "find . -name '*.pyc' -delete",
           "find /tmp/x -delete", "find /srv/app/cache -mtime +3 -delete",
           "find /srv/app/tmp -mindepth 1 -mtime +7 -delete")),
    _rule("format_disk", "mkfs, wipefs -a and friends erase a file system", r.format_disk,
          ("mkfs.ext4 /dev/sdb1", "mkfs -t xfs /dev/vdb", "wipefs -a /dev/sdb",
           "sgdisk --zap-all /dev/sda"),
          ("man mkfs", "lsblk", "wipefs /dev/sdb", "mkfs.ext4 /tmp/disk.img",
           "mkfs.ext4 -F disk.img", "mkfs.erofs image.erofs root/", "mkswap /var/tmp/swapfile")),
    _rule("dd_device", "dd writing to a device", r.dd_device,
          ("dd if=/dev/zero of=/dev/sda bs=1M", "sudo dd if=x.iso of=/dev/mmcblk0"),
          ("dd if=/dev/sda of=disk.img bs=4M", "dd if=/dev/zero of=/dev/null count=1")),
    _rule("write_block_device", "redirects, tee, cp or shred onto a block device",
          r.write_block_device,
          ("> /dev/sda", "cat image.iso > /dev/sdb", "echo x | tee /dev/nvme0n1",
           "shred /dev/sda", "cp x.img /dev/vda", "echo 1 >/dev/mapper/vg-root"),
          ("echo hi > /dev/null", "cat /dev/sda > /dev/null", "tee /tmp/log",
           "cp /dev/sda1.img /tmp/x")),
    _rule("clobber_critical_file", "truncating or deleting a critical system file",
          r.clobber_critical,
          ("> /etc/passwd", "truncate -s 0 /var/lib/mysql/ibdata1", "echo > /etc/shadow",
           "cp /dev/null /etc/fstab", "rm /etc/sudoers", "echo k > ~/.ssh/authorized_keys",
           "echo x | tee /etc/passwd"),
          ("truncate -s 0 /var/log/app/debug.log", "cat /etc/passwd", "echo x >> /etc/hosts",
           "echo x | sudo tee -a /etc/group",
           "cat > /etc/nginx/conf.d/app.conf <<EOF\nserver {}\nEOF")),
    _rule("fork_bomb", "a function that calls itself in a pipe or in the background",
          r.fork_bomb, (":(){ :|:& };:", "bomb(){ bomb | bomb & }; bomb",
                        "function f { f & f; }; f"),
          ("f(){ echo hi; }; f", "retry(){ sleep 1 | cat; }; retry", "f(){ f; }")),
    _rule("chmod_chown_system", "recursive chmod/chown of /, the home dir or a system dir",
          r.chmod_chown,
          ("chmod -R 777 /", "chown -R nobody /etc", "chmod -R 000 ~", "chgrp -R x /usr",
           "chmod 777 /"),
          ("chmod 755 ./deploy.sh", "chown -R app:app /srv/app/releases/2024-06-01",
           "chmod -R g+w /tmp/shared")),
    _rule("pipe_to_shell", "downloaded or decoded code run by a shell or interpreter",
          r.pipe_to_shell,
          ("curl -fsSL https://example.invalid/i.sh | sudo bash", "wget -qO- x | sh",
           "echo aGk= | base64 -d | sh", "bash <(curl -s https://x)", "curl x | python3"),
          ("curl -fsSL https://example.invalid/i.sh -o i.sh", "curl -s x | jq .",
           "base64 -d f > out")),
    _rule("power_off", "shutdown, reboot, halt, poweroff, init 0/6", r.power_off,
          ("shutdown -h now", "reboot", "init 0", "systemctl poweroff", "sudo halt",
           "systemctl reboot", "systemctl --no-block reboot", "systemctl isolate reboot.target",
           "systemctl start poweroff.target"),
          ("shutdown -c", "systemctl status nginx", "systemctl restart nginx", "init q",
           "systemctl stop poweroff", "systemctl status reboot.target")),
    _rule("kill_all", "signals to every process (pid -1) or to init", r.kill_all,
          ("kill -9 -1", "kill -KILL -1", "kill -s KILL -1", "kill -- -1", "pkill -9 .",
           "killall5 -9"),
          ("kill -9 1234", "kill -HUP 1234", "kill -1 1234", "pkill -f gunicorn", "kill -0 1")),
    _rule("firewall_flush", "iptables -F, nft flush ruleset, ufw reset", r.firewall_flush,
          ("iptables -F", "iptables --flush INPUT", "nft flush ruleset", "ip6tables -t nat -F"),
          ("iptables -L -n", "nft list ruleset")),
    _rule("sql_destructive", "DROP DATABASE/TABLE, TRUNCATE, unfiltered DELETE in a SQL client",
          r.sql_destructive,
          ("mysql -e 'DROP DATABASE prod'", "psql -c 'TRUNCATE orders'",
           "psql <<EOF\nDROP TABLE users;\nEOF", "dropdb prod", "psql -c 'DELETE FROM users'",
           "mysql <<< 'drop table x'", "mysql --execute='DROP TABLE t'",
           "mysql -e'TRUNCATE t'", "sqlite3 app.db 'DROP TABLE users'",
           "clickhouse-client --query 'DROP DATABASE d'"),
          ("mysql -e 'SHOW DATABASES'", "psql -c \"DELETE FROM sessions WHERE expires_at < now()\"",
           "psql -c 'SELECT 1'", "psql <<EOF\nSELECT 1;\nEOF",
           "mysql -u root --password='drop table x' -e 'SELECT 1'")),
    _rule("kubectl_delete", "kubectl delete of a namespace or of --all resources",
          r.kubectl_delete,
          ("kubectl delete namespace prod", "kubectl delete ns prod", "kubectl delete ns/prod",
           "kubectl delete pods --all -A"),
          ("kubectl get ns", "kubectl delete namespace prod --dry-run=client",
           "kubectl delete pod web-0 -n prod", "kubectl diff -f deploy.yaml")),
    _rule("terraform_destroy", "terraform destroy / apply -destroy", r.terraform_destroy,
          ("terraform destroy", "terraform apply -destroy -auto-approve", "tofu destroy"),
          ("terraform plan", "terraform plan -destroy", "terraform apply",
           "terraform destroy --help", "terraform destroy -help")),
    _rule("git_force_push", "force push or delete of main/master (or of an unnamed branch)",
          r.git_force_push,
          ("git push --force origin main", "git push -f origin master", "git push --force",
           "git push --force-with-lease origin main", "git push origin +main",
           "git push origin --delete main", "git push origin :master"),
          ("git push origin feature/x", "git push -f origin feature/x", "git push")),
    _rule("git_discard", "git reset --hard and git clean -f throw away work", r.git_discard,
          ("git reset --hard origin/main", "git reset --hard", "git clean -fdx"),
          ("git reset --soft HEAD~1", "git commit -m 'fix git reset behavior'", "git clean -n")),
    _rule("mv_system", "mv of /, the home dir or a system dir (or into /dev/null)",
          r.mv_system,
          ("mv /etc /etc.bak", "mv / /x", "mv ~ /tmp/h", "mv /usr/lib/x /tmp",
           "mv important.db /dev/null"),
          ("mv build.log /tmp/build.log", "mv /srv/app/releases/new /srv/app/current")),
    _rule("crontab_remove", "crontab -r deletes every job of the user", r.crontab_remove,
          ("crontab -r", "crontab -u app -r"), ("crontab -l", "crontab -e")),
    _rule("userdel_root", "deleting the root account", r.userdel_root,
          ("userdel -r root", "deluser root"), ("id root", "userdel -r olduser")),
    _rule("cloud_delete", "recursive deletes of object-storage buckets", r.cloud_delete,
          ("aws s3 rm s3://prod-bucket --recursive", "aws s3 rb s3://b --force",
           "gsutil -m rm -r gs://b"),
          ("aws s3 ls s3://prod-bucket/", "aws s3 rm s3://b/one.txt")),
    *LOSS_RULES,
)
RULE_NAMES = frozenset(rule.name for rule in DANGER_RULES)
#: a dry run or a help request (``--help``, ``--dry-run``, ``rsync -n``) only prints, so
#: only what cannot be read statically still counts
_UNRESOLVABLE_ONLY = tuple(rule for rule in DANGER_RULES if rule.name == UNRESOLVABLE)


@lru_cache(maxsize=16384)
def findings(command: str, cwd: str = "") -> tuple[Finding, ...]:
    """Return every rule that fires on ``command`` (cached: cells repeat)."""
    out: dict[tuple[str, str, tuple[int, int]], Finding] = {}
    for inv in collect(command, cwd=cwd):
        rules = _UNRESOLVABLE_ONLY if dry_run(inv) else DANGER_RULES
        for rule in rules:
            message = rule.check(inv)
            if message:
                start, end = inv.span
                snippet = command[start:end].strip() or command.strip()
                key = (rule.name, message, inv.span)
                out.setdefault(key, Finding(rule.name, message, inv.span, snippet[:200],
                                            rule.name == UNRESOLVABLE))
    return tuple(out.values())


def evaluate(command: str, *, allow: frozenset[str] = frozenset(),
             require_resolvable: bool = False, cwd: str = "",
             values: Mapping[str, str] | None = None) -> GuardVerdict:
    """Judge one command (or a whole cell); refuse unless every finding is allowed.

    ``cwd``, when the caller knows the shell's working directory, lets relative
    paths be judged where they point (``rm -rf etc`` in ``/``). ``values`` are
    the known values of variables (a run's parameters): the command is judged
    with them bound in (:func:`reifier.core.bind.bind`), as it will run, so
    ``rm -rf "$DIR"`` with ``DIR=/etc`` is ``rm -rf /etc``.
    """
    bound: tuple[tuple[str, str], ...] = ()
    if values:
        result = bind(command, values)
        command = result.text
        bound = tuple((name, values[name]) for name in sorted(result.used))
    found = findings(command, cwd)
    waivable = set(allow)
    if require_resolvable:
        waivable.discard(UNRESOLVABLE)
    waived = frozenset(f.rule for f in found if f.rule in waivable)
    allowed = all(f.rule in waived for f in found)
    return GuardVerdict(allowed, found, waived, bound)


def check_notebook(nb: Mapping[str, Any], *, require_resolvable: bool = False,
                   allow: Mapping[int, frozenset[str]] | None = None) -> list[CellVerdict]:
    """Judge every code cell of a notebook dict, skipping the ``parameters`` cell.

    Per-cell allowances come from ``allow`` (cell index → rule names) or else
    from the cell's ``metadata["reifier"]["allow"]`` list. This is the hook where
    approval checks (digest, signature) are to be added.
    """
    verdicts: list[CellVerdict] = []
    for index, cell in enumerate(nb.get("cells") or ()):
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        if "parameters" in (meta.get("tags") or ()):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        rules = allow.get(index, frozenset()) if allow is not None else _cell_allow(meta)
        verdict = evaluate(text, allow=frozenset(rules),
                           require_resolvable=require_resolvable)
        verdicts.append(CellVerdict(index, str(cell.get("id", "")), verdict))
    return verdicts


def _cell_allow(meta: Mapping[str, Any]) -> frozenset[str]:
    own = meta.get("reifier")
    names = own.get("allow") if isinstance(own, Mapping) else None
    return frozenset(str(x) for x in names) if isinstance(names, list) else frozenset()
