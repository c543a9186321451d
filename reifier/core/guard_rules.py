"""The guard's rule table: one :class:`DangerRule` per kind of destructive command.

Rules look at :class:`Invocation` values, simple commands that
:mod:`reifier.core.guard` has already parsed, unwrapped (``sudo``, ``env``,
``xargs``…) and normalised (``/bin/rm`` and ``\\rm`` are ``rm``). A rule's check
returns a message naming the offending part, or ``None``. Every rule carries
commands it must refuse and commands it must allow, checked by a parametrized test.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from reifier.core.guard_args import (
    FETCHERS,
    INTERPRETERS,
    SAFE_DEVICES,
    SCRATCH_ROOTS,
    SHELLS,
    Arg,
    Invocation,
    block_device,
    critical,
    dangerous_target,
    find_roots,
    flags,
    operands,
    path_kind,
    recursive,
    runs_stdin,
)
from reifier.core.guard_sql import DIALECTS, destructive_sql

PROTECTED_BRANCHES = frozenset({"main", "master", "production"})
_CATASTROPHIC = frozenset({"root", "home", "cwd", "system"})
_CRITICAL_OPS = frozenset({">", ">|", "&>", "1>", "2>"})


@dataclass(frozen=True)
class DangerRule:
    """A named kind of destructive command, with refused and allowed examples."""

    name: str
    description: str
    check: Callable[[Invocation], str | None]
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...] = ()


# --- checks -------------------------------------------------------------------------


def check_unresolvable(inv: Invocation) -> str | None:
    """Report what cannot be resolved statically."""
    if inv.unknown:
        return inv.unknown
    if inv.name == "rm" and recursive(inv) and inv.more_args and not inv.filtered:
        return "rm -r with targets only known at run time (xargs)"
    if inv.name == "rm" and recursive(inv):
        for arg in operands(inv):
            if path_kind(arg)[0] == "unknown":
                return f"rm -r of {arg.raw or arg.text}, a path only known at run time"
    return None


def rm_catastrophic(inv: Invocation) -> str | None:
    """Refuse rm -r of /, home, the working dir or a system dir."""
    if inv.name != "rm" or not recursive(inv):
        return None
    for arg in operands(inv):
        hit = dangerous_target(arg, _CATASTROPHIC, inv.cwd)
        if hit:
            return f"rm -r of {hit}"
    return None


def rm_empty_var(inv: Invocation) -> str | None:
    """Refuse rm -r of ``$X/…`` where an empty ``X`` means ``/``."""
    if inv.name != "rm" or not recursive(inv):
        return None
    for arg in operands(inv):
        if path_kind(arg)[0] == "emptyvar":
            return f"rm -r of {arg.raw or arg.text}: the path is / when the variable is empty"
    return None


def rm_outside_scratch(inv: Invocation) -> str | None:
    """Refuse rm -r of absolute paths outside the scratch trees."""
    if inv.name != "rm" or not recursive(inv):
        return None
    for arg in operands(inv):
        hit = dangerous_target(arg, frozenset({"outside"}), inv.cwd)
        if hit:
            return f"rm -r of {hit}, outside the scratch trees {', '.join(SCRATCH_ROOTS)}"
    return None


_DELETERS = frozenset({"rm", "shred", "unlink", "rmdir", "srm", "wipe"})


def find_delete(inv: Invocation) -> str | None:
    """Refuse find -delete / -exec rm on /, home or a system dir, and `find … | xargs rm`."""
    if inv.name in _DELETERS and inv.more_args and inv.listed:
        for arg in inv.listed:
            if arg.text.rstrip("/") in SCRATCH_ROOTS:
                continue  # files found under /tmp: never /tmp itself
            hit = dangerous_target(arg, frozenset({"root", "home", "system", "emptyvar"}),
                                   inv.cwd)
            if hit:
                return f"{inv.name} of every file listed under {hit}"
    if inv.name != "find":
        return None
    words = inv.words
    deletes = "-delete" in words or any(
        w in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(words)
        and posixpath.basename(words[i + 1]) in ("rm", "shred", "unlink")
        for i, w in enumerate(words))
    if not deletes:
        return None
    args = find_roots(inv.args)
    roots = [a for a in args[: next((i for i, a in enumerate(args)
                                     if a.text.startswith(("-", "(", "!"))), len(args))]]
    for arg in roots or [Arg(".")]:
        hit = dangerous_target(arg, frozenset({"root", "home", "system", "emptyvar"}), inv.cwd)
        if hit:
            return f"find that deletes under {hit}"
    return None


def format_disk(inv: Invocation) -> str | None:
    """Refuse commands that erase a file system or partition table."""
    short, long = flags(inv)
    if inv.name.startswith(("mkfs", "mke2fs", "mkswap")) or inv.name == "blkdiscard":
        targets = operands(inv, _MKFS_OPTS_WITH_ARG)
        if targets and inv.name != "blkdiscard" and all(_image_file(a) for a in targets[:1]):
            return None  # mkfs.ext4 /tmp/disk.img: an image file, not a disk
        return f"{inv.name} destroys the file system on its target"
    if inv.name == "wipefs" and ("a" in short or "--all" in long):
        return "wipefs -a erases file-system signatures"
    if inv.name in ("sgdisk", "sfdisk") and ("Z" in short or "--zap-all" in long
                                             or "--delete" in long):
        return f"{inv.name} erases the partition table"
    return None


_MKFS_OPTS_WITH_ARG = frozenset({"-t", "-L", "-U", "-b", "-c", "-C", "-d", "-E", "-g", "-G",
                                 "-i", "-I", "-j", "-J", "-l", "-m", "-M", "-N", "-o", "-O",
                                 "-r", "-T", "-n", "-s", "-S", "--label", "--uuid",
                                 "--type", "--metadata", "--data", "--nodesize", "--sectorsize",
                                 "--volume-label", "-z", "-x"})
_IMAGE_SUFFIX = re.compile(r"\.(img|raw|iso|bin|qcow2|vhdx?|vmdk|fs|ext[234]|xfs|btrfs|erofs|"
                           r"squashfs|sqfs|cramfs|swap|image)$", re.I)


def _image_file(arg: Arg) -> bool:
    """Say whether a mkfs target is an image file: scratch, or named like one, never /dev."""
    if arg.dynamic or arg.text.startswith("/dev/"):
        return False
    return bool(_IMAGE_SUFFIX.search(arg.text)) or path_kind(arg)[0] == "scratch"


def dd_device(inv: Invocation) -> str | None:
    """Refuse dd writing to a device."""
    if inv.name != "dd":
        return None
    for word in inv.words:
        if word.startswith("of=") and word[3:].startswith("/dev/") and word[3:] not in SAFE_DEVICES:
            return f"dd writes to the device {word[3:]}"
    return None


def write_block_device(inv: Invocation) -> str | None:
    """Refuse writes (redirect, tee, cp, shred) to a block device."""
    for op, target in inv.redirects:
        if ">" in op and block_device(target.text):
            return f"redirect {op} {target.text} writes to a block device"
    if inv.name in ("tee", "cp", "cat", "pv", "shred"):
        for arg in operands(inv, frozenset({"-n", "-s", "--iterations"})):
            if block_device(arg.text) and (inv.name != "cat" or arg is not inv.args[0]):
                verb = "shreds" if inv.name == "shred" else "writes to"
                if inv.name in ("tee", "shred") or arg is inv.args[-1]:
                    return f"{inv.name} {verb} the block device {arg.text}"
    return None


def clobber_critical(inv: Invocation) -> str | None:
    """Refuse truncating or deleting a critical system file."""
    for op, target in inv.redirects:
        if op in _CRITICAL_OPS and critical(target.text):
            return f"redirect {op} {target.text} truncates a critical file"
    short, _ = flags(inv)
    if inv.name == "tee" and "a" not in short and "--append" not in inv.words:
        for arg in operands(inv):
            if critical(arg.text):
                return f"tee overwrites the critical file {arg.text}"
    if inv.name in ("truncate", "shred") or (inv.name == "rm" and not recursive(inv)):
        for arg in operands(inv, frozenset({"-s", "-r", "-n", "--size", "--reference"})):
            if critical(arg.text):
                return f"{inv.name} of the critical file {arg.text}"
    if inv.name == "cp" and inv.words[:1] == ("/dev/null",) and critical(inv.words[-1]):
        return f"cp /dev/null empties the critical file {inv.words[-1]}"
    return None


def fork_bomb(inv: Invocation) -> str | None:
    """Refuse a function that calls itself in a pipe or in the background."""
    if inv.function and inv.name == inv.function and inv.forked:
        return f"function {inv.function} calls itself in a pipe or in the background"
    return None


def chmod_chown(inv: Invocation) -> str | None:
    """Refuse recursive chmod/chown of /, home or a system dir."""
    if inv.name not in ("chmod", "chown", "chgrp", "setfacl"):
        return None
    targets = operands(inv, frozenset({"-m", "-x", "-M", "-X"}))
    if inv.name != "setfacl" and not any(w.startswith("--reference") for w in inv.words):
        targets = targets[1:]
    kinds = frozenset({"root", "home", "system"}) if recursive(inv) else frozenset({"root"})
    for arg in targets:
        hit = dangerous_target(arg, kinds, inv.cwd)
        if hit:
            return f"{inv.name} -R of {hit}" if recursive(inv) else f"{inv.name} of {hit}"
    return None


def pipe_to_shell(inv: Invocation) -> str | None:
    """Refuse downloaded or decoded code fed to a shell."""
    if inv.stdin_from in FETCHERS and runs_stdin(inv):
        return f"output of {inv.stdin_from} piped into {inv.name} runs unseen code"
    if inv.script_from:
        return f"{inv.name} runs a script {inv.script_from} downloaded in this command"
    for arg in inv.args:
        if arg.raw.startswith("<(") and re.search(r"\b(curl|wget)\b", arg.raw) and (
                inv.name in SHELLS | INTERPRETERS | {"source", "."}):
            return f"{inv.name} runs downloaded code from {arg.raw}"
    return None


def power_off(inv: Invocation) -> str | None:
    """Refuse stopping or rebooting the machine."""
    words = inv.words
    if inv.name in ("reboot", "halt", "poweroff", "kexec"):
        return f"{inv.name} stops the machine"
    if inv.name in ("loginctl", "i3exit") and words[:1] and words[0] in _POWER_VERBS | {
            "shutdown", "suspend", "hibernate", "hybrid-sleep"}:
        return f"{inv.name} {words[0]} stops the machine"
    if inv.name == "shutdown" and not ({"-c", "-k", "--help"} & set(words)):
        return "shutdown stops the machine"
    if inv.name in ("init", "telinit") and words[:1] in (("0",), ("6",)):
        return f"{inv.name} {words[0]} stops the machine"
    if inv.name == "systemctl":
        # the verb is the first operand; a unit *named* poweroff only matters when a
        # verb starts it (`systemctl start poweroff.target`), not `systemctl stop poweroff`
        ops = [w for w in words if not w.startswith("-")]
        verb, units = (ops[0], ops[1:]) if ops else ("", [])
        if verb in _POWER_VERBS:
            return "systemctl stops the machine"
        if verb in _STARTING_VERBS and {u.removesuffix(".target") for u in units} & _POWER_VERBS:
            return "systemctl starts a target that stops the machine"
    return None


_POWER_VERBS = frozenset({"poweroff", "reboot", "halt", "kexec", "soft-reboot", "emergency",
                          "rescue", "suspend", "hibernate", "hybrid-sleep",
                          "suspend-then-hibernate"})
_STARTING_VERBS = frozenset({"start", "isolate", "restart", "try-restart", "reload-or-restart",
                             "enable", "reenable"})


def kill_all(inv: Invocation) -> str | None:
    """Refuse signals to every process or to init."""
    if inv.name == "killall5":
        return "killall5 signals every process"
    if inv.name == "kill":
        pids = list(inv.words)
        if pids[:1] == ["-0"] or pids[:2] in (["-s", "0"], ["-n", "0"]):
            return None  # signal 0 only asks whether the process exists
        if pids[:1] in (["-s"], ["-n"]):
            pids = pids[2:]
        elif pids and pids[0].startswith("-") and pids[0] != "--":
            pids = pids[1:]  # the first dash word is the signal (kill -1 1234 is SIGHUP)
        if "-1" in pids or "1" in pids:
            return "kill of pid -1 (every process) or 1 (init)"
    if inv.name in ("pkill", "killall"):
        signal_opts = frozenset({"-u", "-U", "-g", "-G", "-t", "-s", "-P", "--signal"})
        if any(a.text in (".", ".*", "^", "") for a in operands(inv, signal_opts)):
            return f"{inv.name} with a pattern that matches every process"
    return None


def firewall_flush(inv: Invocation) -> str | None:
    """Refuse flushing every firewall rule."""
    short, long = flags(inv)
    if inv.name in ("iptables", "ip6tables", "iptables-legacy", "iptables-nft") and (
            "F" in short or "--flush" in long):
        return f"{inv.name} --flush drops every firewall rule"
    if inv.name == "nft" and "flush" in inv.words and "ruleset" in inv.words:
        return "nft flush ruleset drops every firewall rule"
    if inv.name == "ufw" and inv.words[:1] in (("reset",), ("disable",)):
        return f"ufw {inv.words[0]} drops the firewall"
    return None


def sql_destructive(inv: Invocation) -> str | None:
    """Refuse destructive SQL given to a database client."""
    if inv.name in ("dropdb",) or (inv.name == "mysqladmin" and "drop" in inv.words):
        return f"{inv.name} drops a database"
    if inv.name not in DIALECTS:
        return None
    for text in _sql_texts(inv):
        hit = destructive_sql(text, inv.name)
        if hit:
            return f"{inv.name} runs SQL that loses data: {hit}"
    return None


_SQL_OPTIONS = ("-c", "--command", "-e", "--execute", "-q", "--query", "--cmd", "-Q")


def _sql_texts(inv: Invocation) -> list[str]:
    """Return what the client runs as SQL: stdin, ``-c``/``-e``/``--query`` values, and
    sqlite3's statements after the database; never a password, user or host value."""
    words = list(inv.words)
    out = [inv.stdin_text or ""]
    positional = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word in _SQL_OPTIONS:
            out.extend(words[i + 1:i + 2])
            skip = True
        elif word.startswith(tuple(f"{o}=" for o in _SQL_OPTIONS if o.startswith("--"))):
            out.append(word.split("=", 1)[1])
        elif word[:2] in ("-c", "-e") and len(word) > 2 and not word.startswith("--"):
            out.append(word[2:])  # -e"DROP TABLE x"
        elif not word.startswith("-"):
            positional.append(word)
    if inv.name == "sqlite3":
        out.extend(positional[1:])
    return out


def kubectl_delete(inv: Invocation) -> str | None:
    """Refuse deleting a namespace or every resource of a kind."""
    words = inv.words
    if inv.name not in ("kubectl", "oc") or "delete" not in words:
        return None
    if any(w.startswith("--dry-run") and w != "--dry-run=none" for w in words):
        return None
    after = words[words.index("delete") + 1:]
    if after and after[0].split("/")[0] in ("namespace", "namespaces", "ns"):
        return "kubectl delete namespace deletes everything in it"
    if {"--all", "-A", "--all-namespaces"} & set(after):
        return "kubectl delete --all deletes every matching resource"
    return None


def terraform_destroy(inv: Invocation) -> str | None:
    """Refuse tearing down Terraform-managed infrastructure."""
    words = inv.words
    if inv.name not in ("terraform", "tofu", "terragrunt"):
        return None
    if "destroy" in words or ("apply" in words and any(
            w in ("-destroy", "--destroy", "-destroy=true") for w in words)):
        return f"{inv.name} destroy tears down the infrastructure"
    return None


def _git_sub(inv: Invocation) -> tuple[str, list[str]]:
    """Return git's subcommand and the words after it (skipping -C DIR, -c K=V)."""
    words = list(inv.words)
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in ("-C", "-c", "--git-dir", "--work-tree") else 1
    return (words[i], words[i + 1:]) if i < len(words) else ("", [])


def git_force_push(inv: Invocation) -> str | None:
    """Refuse force pushes to protected or unnamed branches."""
    if inv.name != "git":
        return None
    sub, rest = _git_sub(inv)
    if sub != "push":
        return None
    opts = [w for w in rest if w.startswith("-")]
    refs = [w for w in rest if not w.startswith("-")][1:]
    force = any(w in ("--force", "--force-with-lease", "--mirror") or w.startswith(
        "--force-with-lease=") or (not w.startswith("--") and "f" in w) for w in opts)
    plus = [r for r in refs if r.startswith("+")]
    deletes = "--delete" in opts or "-d" in opts or any(r.startswith(":") for r in refs)
    if not (force or plus or deletes):
        return None
    targets = refs if (force or deletes) else plus
    if not targets:
        return "git push --force with no branch named (the target is only known at run time)"
    for ref in targets:
        branch = ref.lstrip("+:").split(":")[-1].removeprefix("refs/heads/")
        if branch in PROTECTED_BRANCHES or ref.lstrip("+") in ("HEAD", "--all"):
            return f"git push that rewrites or deletes the protected branch {branch}"
    return None


def git_discard(inv: Invocation) -> str | None:
    """Refuse git commands that throw away uncommitted work."""
    if inv.name != "git":
        return None
    sub, rest = _git_sub(inv)
    if sub == "reset" and "--hard" in rest:
        return "git reset --hard throws away uncommitted work"
    if sub == "clean" and any(w == "--force" or (w[:2] != "--" and w[:1] == "-" and "f" in w)
                              for w in rest):
        return "git clean -f deletes untracked files"
    return None


def mv_system(inv: Invocation) -> str | None:
    """Refuse moving /, home or a system dir away."""
    if inv.name != "mv":
        return None
    ops = operands(inv, frozenset({"-S", "--suffix", "-t"}))
    short, long = flags(inv)
    sources = ops if ("t" in short or "--target-directory" in long) else ops[:-1]
    for arg in sources:
        hit = dangerous_target(arg, frozenset({"root", "home", "system"}), inv.cwd)
        if hit:
            return f"mv of {hit}"
    if len(ops) > 1 and ops[-1].text == "/dev/null":
        return "mv into /dev/null destroys the source"
    return None


def crontab_remove(inv: Invocation) -> str | None:
    """Refuse crontab -r."""
    if inv.name == "crontab" and "r" in flags(inv)[0]:
        return "crontab -r removes every scheduled job of the user"
    return None


def userdel_root(inv: Invocation) -> str | None:
    """Refuse deleting the root account."""
    if inv.name in ("userdel", "deluser") and "root" in inv.words:
        return f"{inv.name} of the root account"
    return None


def cloud_delete(inv: Invocation) -> str | None:
    """Refuse recursive deletes of object-storage buckets."""
    words = inv.words
    if inv.name == "aws" and words[:2] in (("s3", "rm"), ("s3", "rb")) and (
            "--recursive" in words or "--force" in words):
        return f"aws s3 {words[1]} deletes a whole bucket or prefix"
    if inv.name == "gsutil" and "rm" in words and set(words) & {"-r", "-R", "-a"}:
        return "gsutil rm -r deletes a whole bucket or prefix"
    if inv.name == "gcloud" and words[:2] == ("storage", "rm") and set(words) & {
            "-r", "--recursive"}:
        return "gcloud storage rm -r deletes a whole bucket or prefix"
    return None
