"""Rules for data loss outside ``rm`` and for lock-outs: the blast radius beyond files.

Each check looks at one :class:`~reifier.core.guard_args.Invocation` (already
unwrapped) and returns a message or ``None``; the rows (name, description,
refused examples, allowed examples) are :data:`LOSS_RULES`, appended to the
guard's table. What they refuse: a datastore emptied (redis ``FLUSHALL``, mongo
``dropDatabase``), container volumes or every container removed, a cloud
project, resource group, instance or database deleted, a Kubernetes volume or
Helm release removed, a pool, volume group, partition table or LUKS header
destroyed, and anything that locks everyone out of the host: the account files
emptied or deleted, ``sshd`` or the network stopped, the firewall set to drop
everything, root's password removed or locked, ``sysrq``, or the shell history
(the evidence of what was done) wiped.
"""

from __future__ import annotations

import posixpath
import re

from reifier.core.guard_args import (
    Arg,
    Invocation,
    block_device,
    critical,
    dangerous_target,
    flags,
    operands,
)
from reifier.core.guard_rules import DangerRule

ACCOUNT_FILES = frozenset({"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
                           "/etc/sudoers"})
#: services whose stop cuts every remote session (or the network under it)
REMOTE_ACCESS = frozenset({"ssh", "sshd", "openssh-server", "network", "networking",
                           "NetworkManager", "systemd-networkd", "wpa_supplicant", "dbus"})
_HISTORY = re.compile(r"(^|/)\.(bash|zsh|sh|python|mysql|psql)_history$|(^|/)\.histfile$")


def _norm(path: str) -> str:
    return "/" + posixpath.normpath(path).lstrip("/") if path.startswith("/") else path


def datastore_wipe(inv: Invocation) -> str | None:
    """Refuse emptying a key-value store or document database."""
    words = [w.lower() for w in inv.words]
    if inv.name in ("redis-cli", "valkey-cli", "keydb-cli"):
        stdin = (inv.stdin_text or "").lower().split()
        if {"flushall", "flushdb"} & (set(words) | set(stdin)):
            return f"{inv.name} FLUSHALL/FLUSHDB deletes every key"
    if inv.name in ("mongo", "mongosh"):
        code = " ".join(inv.words) + " " + (inv.stdin_text or "")
        if re.search(r"dropDatabase\s*\(|\.drop\s*\(\s*\)|\b(deleteMany|remove)\s*\(\s*\{\s*\}",
                     code):
            return f"{inv.name} drops a database or empties a collection"
    if inv.name in ("influx", "etcdctl") and ("drop" in words or (
            "del" in words and ("--prefix" in words or "--from-key" in words))):
        return f"{inv.name} deletes a whole database or key range"
    return None


def container_data(inv: Invocation) -> str | None:
    """Refuse deleting container volumes or every container at once."""
    if inv.name not in ("docker", "podman", "nerdctl"):
        return None
    words = [w for w in inv.words if not w.startswith("-")]
    _, long = flags(inv)
    if words[:2] == ["volume", "prune"] or words[:2] == ["volume", "rm"]:
        return f"{inv.name} volume {words[1]} deletes volume data"
    if words[:2] == ["system", "prune"] and "--volumes" in long:
        return f"{inv.name} system prune --volumes deletes volume data"
    if words[:1] in (["rm"], ["container"]) and any(
            a.dynamic and re.search(r"\b(docker|podman)\s+ps\b.*-\w*a", a.raw) for a in inv.args):
        return f"{inv.name} rm of every container ($({inv.name} ps -a))"
    return None


_AWS_DESTROY = re.compile(r"^(terminate-\S+|delete-(db-\S+|table|bucket|stack|cluster|"
                          r"file-system|volume|vpc|repository|hosted-zone|global-cluster|"
                          r"backup-vault|key|secret|user|domain|function|\S*-cluster))$")
_GCLOUD_HEAVY = frozenset({"projects", "instances", "clusters", "buckets", "databases", "disks",
                           "networks", "sql", "spanner", "bigtable", "folders", "datasets"})
_AZ_HEAVY = frozenset({"group", "vm", "aks", "account", "container", "db", "server", "cluster",
                       "vmss", "disk", "keyvault", "webapp", "cosmosdb", "database"})


def cloud_destroy(inv: Invocation) -> str | None:
    """Refuse deleting cloud projects, resource groups, instances, databases, clusters."""
    words = inv.words
    ops = [w for w in words if not w.startswith("-")]
    if inv.name == "aws" and len(ops) >= 2 and _AWS_DESTROY.match(ops[1]):
        return f"aws {ops[0]} {ops[1]} destroys a cloud resource"
    if inv.name == "gcloud" and "delete" in ops and _GCLOUD_HEAVY & set(ops[:ops.index("delete")]):
        return f"gcloud {' '.join(ops[:ops.index('delete') + 1])} destroys a cloud resource"
    if inv.name == "az" and "delete" in ops and _AZ_HEAVY & set(ops[:ops.index("delete")]):
        return f"az {' '.join(ops[:ops.index('delete') + 1])} destroys a cloud resource"
    if inv.name in ("doctl", "hcloud", "linode-cli", "scw") and "delete" in ops:
        return f"{inv.name} delete destroys a cloud resource"
    return None


def cluster_data(inv: Invocation) -> str | None:
    """Refuse deleting persistent volumes (claims) and Helm releases."""
    words = inv.words
    if inv.name in ("kubectl", "oc") and "delete" in words:
        kinds = words[words.index("delete") + 1:words.index("delete") + 2]
        kind = kinds[0].split("/")[0].split(",") if kinds else []
        if set(kind) & {"pvc", "pv", "persistentvolumeclaim", "persistentvolumeclaims",
                        "persistentvolume", "persistentvolumes", "statefulset", "sts",
                        "statefulsets", "crd", "customresourcedefinition", "node", "nodes"}:
            return f"kubectl delete {kinds[0]} deletes stored data or cluster capacity"
    if inv.name == "helm" and {"uninstall", "delete", "del", "un"} & set(words[:2]):
        return "helm uninstall removes a release and its resources"
    return None


def storage_destroy(inv: Invocation) -> str | None:
    """Refuse destroying pools, volume groups, partition tables, LUKS headers, disks."""
    words = inv.words
    short, long = flags(inv)
    name = inv.name
    if name in ("zpool", "zfs") and words[:1] == ("destroy",):
        return f"{name} destroy deletes the pool or dataset"
    if name in ("lvremove", "vgremove", "pvremove", "lvreduce"):
        return f"{name} destroys a logical volume layer"
    if name == "lvm" and words[:1] and words[0] in ("lvremove", "vgremove", "pvremove"):
        return f"lvm {words[0]} destroys a logical volume layer"
    if name == "parted" and {w.lower() for w in words} & {"mklabel", "mktable", "rm",
                                                         "resizepart"}:
        return "parted rewrites the partition table"
    lists = short & {"l", "x"} or "--list" in long
    if name in ("fdisk", "gdisk", "cfdisk") and not lists and any(
            block_device(a.text) for a in operands(inv)):
        return f"{name} edits the partition table of a disk"
    if name == "cryptsetup" and words and words[0] in ("luksErase", "erase", "luksFormat",
                                                      "luksKillSlot", "luksRemoveKey"):
        return f"cryptsetup {words[0]} destroys the keys of an encrypted volume"
    if name == "hdparm" and any(w.startswith(("--security-erase", "--trim-sector", "--sanitize"))
                                for w in words):
        return "hdparm erases the disk"
    if name == "nwipe" and not {"--help", "-h", "--version", "-V"} & set(words):
        return "nwipe erases disks"
    if name == "nvme" and words[:1] and words[0] in ("format", "sanitize"):
        return f"nvme {words[0]} erases the disk"
    if name == "mdadm" and ("--zero-superblock" in long or {"--remove", "--fail"} <= long):
        return "mdadm erases a RAID member"
    if name == "truncate" and any(block_device(a.text) for a in operands(
            inv, frozenset({"-s", "--size", "-r", "--reference"}))):
        return "truncate of a block device"
    if name == "dmsetup" and words[:1] in (("remove_all",), ("wipe_table",)):
        return f"dmsetup {words[0]} tears down every mapped device"
    return None


def lockout_files(inv: Invocation) -> str | None:
    """Refuse emptying, deleting or replacing the files every login reads."""
    name = inv.name
    ops = operands(inv, frozenset({"-e", "-f", "--expression", "--file", "-m", "-o", "-g",
                                   "--mode", "--owner", "--group", "-S", "--suffix"}))
    texts = [_norm(a.text) for a in ops]
    if name == "sed" and any(w.startswith(("-i", "--in-place")) for w in inv.words):
        script = " ".join(w for w in inv.words if not w.startswith("-"))
        for path in texts:
            if path in ACCOUNT_FILES or (critical(path) and re.search(r"(^|[/\s;0-9$,])d\b",
                                                                       script)):
                return f"sed -i rewrites {path}, which every login reads"
    if name == "ln" and "f" in flags(inv)[0] and texts and critical(texts[-1]):
        return f"ln -f replaces {texts[-1]}"
    if name in ("unlink", "rmdir") and any(critical(p) for p in texts):
        return f"{name} deletes a critical file"
    if name in ("install", "cp", "mv", "rsync") and len(texts) >= 2 and critical(texts[-1]) and (
            texts[0] in ("/dev/null", "/dev/zero") or (name == "install" and texts[-1]
            in ACCOUNT_FILES)):
        return f"{name} replaces {texts[-1]} with an empty or foreign file"
    if name in ("chattr",) and any(p in ACCOUNT_FILES for p in texts) and any(
            w.startswith("+i") for w in inv.words):
        return "chattr +i freezes the account files (no password change, no new user)"
    return None


def lockout_access(inv: Invocation) -> str | None:
    """Refuse cutting remote access: sshd or the network stopped, DROP policies, root locked."""
    name, words = inv.name, inv.words
    ops = [w for w in words if not w.startswith("-")]
    if name == "systemctl" and ops and ops[0] in ("stop", "mask", "disable", "kill", "isolate"):
        units = {u.removesuffix(".service").removesuffix(".socket") for u in ops[1:]}
        hit = units & REMOTE_ACCESS
        if hit and not (ops[0] == "disable" and "--now" not in words):
            return f"systemctl {ops[0]} {sorted(hit)[0]} cuts remote access to the host"
    if name == "service" and len(ops) >= 2 and ops[0] in REMOTE_ACCESS and ops[1] == "stop":
        return f"service {ops[0]} stop cuts remote access to the host"
    if name in ("iptables", "ip6tables", "iptables-legacy", "iptables-nft"):
        if _policy_drop(words):
            return f"{name} -P INPUT DROP cuts every connection not explicitly allowed"
        if _drops_everything(words):
            return f"{name} appends a rule that drops every packet"
    if name == "ip" and "link" in ops and "down" in ops and not ({"lo"} & set(ops)):
        return "ip link set … down takes a network interface down"
    if name in ("ifdown", "ifconfig") and (name == "ifdown" or "down" in ops) and "lo" not in ops:
        return f"{name} takes a network interface down"
    if name == "nmcli" and (ops[:2] == ["networking", "off"] or ops[:2] == ["radio", "all"]):
        return "nmcli turns networking off"
    if name == "passwd" and "root" in ops and set(flags(inv)[0]) & {"d", "l", "e"}:
        return "passwd removes, locks or expires root's password"
    if name == "usermod" and "root" in ops and (set(flags(inv)[0]) & {"L", "e"} or ("-s" in words
                                                and any("nologin" in w or "false" in w
                                                        for w in words))):
        return "usermod locks root out"
    if name == "chpasswd" and (inv.stdin_text is None or re.search(r"(^|\n)root:",
                                                                    inv.stdin_text or "")):
        return "chpasswd sets root's (or unknown accounts') passwords"
    if name in ("pkill", "killall") and ("-u" in words or "--user" in words):
        user = words[words.index("-u" if "-u" in words else "--user") + 1:][:1]
        if user and user[0] in ("root", "0"):
            return f"{name} -u root kills every root process"
    if name in ("pkill", "killall") and {o.split(":")[0] for o in ops} & {"sshd", "ssh",
                                                                          "systemd", "init"}:
        return f"{name} of sshd/init cuts every session"
    return None


def _policy_drop(words: tuple[str, ...]) -> bool:
    for i, word in enumerate(words):
        if word in ("-P", "--policy") and words[i + 1:i + 3] and words[i + 1] in (
                "INPUT", "OUTPUT") and words[i + 2:i + 3] in (("DROP",), ("REJECT",)):
            return True
    return False


def _drops_everything(words: tuple[str, ...]) -> bool:
    if not ({"-A", "-I", "--append", "--insert"} & set(words)) or not (
            {"INPUT", "OUTPUT"} & set(words)):
        return False
    target = words[words.index("-j") + 1:][:1] if "-j" in words else ()
    matchers = {"-p", "-s", "-d", "-i", "-o", "-m", "--dport", "--sport", "--source",
                "--destination", "--protocol", "--in-interface", "--match"}
    return target in (("DROP",), ("REJECT",)) and not (matchers & set(words))


def sysrq(inv: Invocation) -> str | None:
    """Refuse writing to /proc/sysrq-trigger (crash, reboot, kill-all at once)."""
    for op, target in inv.redirects:
        if ">" in op and _norm(target.text) == "/proc/sysrq-trigger":
            return "a write to /proc/sysrq-trigger crashes, reboots or kills everything"
    if inv.name == "tee" and any(_norm(w) == "/proc/sysrq-trigger" for w in inv.words):
        return "tee to /proc/sysrq-trigger crashes, reboots or kills everything"
    if inv.name == "sysctl" and any(w.startswith("kernel.sysrq") for w in inv.words) is False:
        return None
    return None


def evidence_wipe(inv: Invocation) -> str | None:
    """Refuse wiping the shell history, the record of what was done."""
    name, words = inv.name, inv.words
    if name == "history" and ("-c" in words or "-cw" in words or "-wc" in words):
        return "history -c erases the record of the session"
    if name in ("rm", "shred", "truncate", "unlink", "srm", "wipe") and any(
            _HISTORY.search(w) for w in words):
        return f"{name} of a shell history file"
    for op, target in inv.redirects:
        if op in (">", ">|") and _HISTORY.search(target.text):
            return "a redirect empties a shell history file"
    if name in ("unset", "unset_command") and "HISTFILE" in words:
        return "unset HISTFILE stops recording the session"
    if name in ("ln",) and words and _HISTORY.search(words[-1]) and "/dev/null" in words:
        return "ln of a shell history file to /dev/null"
    return None


def rsync_delete(inv: Invocation) -> str | None:
    """Refuse rsync --delete onto /, home or a system tree (what is not in SRC goes)."""
    if inv.name != "rsync":
        return None
    short, long = flags(inv)
    if not any(opt.startswith(("--delete", "--del", "--remove-source")) for opt in long):
        return None
    if "n" in short or "--dry-run" in long:
        return None
    ops = operands(inv, frozenset({"-e", "--rsh", "--exclude", "--include", "--filter", "-f",
                                   "--rsync-path", "--files-from", "--exclude-from", "--chmod",
                                   "--backup-dir", "--partial-dir", "--log-file", "-T",
                                   "--temp-dir", "--password-file", "--port"}))
    if len(ops) < 2:
        return None
    dest = ops[-1]
    path = dest.text.split(":", 1)[1] if re.match(r"^[\w.@-]+:", dest.text) else dest.text
    hit = dangerous_target(Arg(path or "~", dest.raw, dest.dynamic),
                           frozenset({"root", "home", "system", "emptyvar"}), inv.cwd)
    if hit:
        return f"rsync --delete onto {hit} deletes whatever the source lacks"
    return None


def _rule(name: str, description: str, check: object, examples: tuple[str, ...],
          counterexamples: tuple[str, ...]) -> DangerRule:
    return DangerRule(name, description, check, examples, counterexamples)  # type: ignore[arg-type]


LOSS_RULES: tuple[DangerRule, ...] = (
    _rule("datastore_wipe", "redis FLUSHALL/FLUSHDB, mongo dropDatabase, emptied collections",
          datastore_wipe,
          ("redis-cli FLUSHALL", "redis-cli -n 2 flushdb", "echo FLUSHALL | redis-cli",
           "mongo --eval 'db.dropDatabase()'", "mongosh app --eval 'db.users.deleteMany({})'",
           "mongosh <<EOF\ndb.orders.drop()\nEOF"),
          ("redis-cli INFO", "redis-cli DEL session:1", "mongosh --eval 'db.stats()'",
           "mongosh --eval 'db.users.deleteMany({expired: true})'")),
    _rule("container_data", "docker volume prune/rm, system prune --volumes, rm of every container",
          container_data,
          ("docker volume prune -f", "docker volume rm pgdata", "docker system prune -a --volumes",
           "docker rm -f $(docker ps -aq)", "podman rm $(podman ps -a -q)"),
          ("docker ps -a", "docker image prune -f", "docker rm web-1", "docker system prune -f",
           "docker volume ls")),
    _rule("cloud_destroy", "deleting cloud projects, resource groups, instances, databases",
          cloud_destroy,
          ("aws ec2 terminate-instances --instance-ids i-1", "aws rds delete-db-instance --x y",
           "gcloud projects delete prod --quiet", "gcloud compute instances delete web-1",
           "az group delete --name prod --yes", "az storage container delete -n c",
           "aws cloudformation delete-stack --stack-name prod", "doctl compute droplet delete 1"),
          ("aws ec2 describe-instances", "gcloud projects list", "az group list",
           "aws ec2 delete-tags --resources i-1 --tags Key=x",
           "gcloud compute instances delete web-1 --help")),
    _rule("cluster_data", "kubectl delete of persistent volumes (claims); helm uninstall",
          cluster_data,
          ("kubectl delete pvc data-pg-0", "kubectl delete pv/pv-1", "helm uninstall prod-db",
           "helm delete web --purge", "kubectl delete persistentvolumeclaim x -n db"),
          ("kubectl get pvc", "helm list", "helm upgrade web ./chart", "kubectl delete pod web-0",
           "helm uninstall prod-db --dry-run")),
    _rule("storage_destroy", "zpool/zfs destroy, lvremove/vgremove, parted mklabel, fdisk, "
          "cryptsetup luksErase, hdparm --security-erase, truncate of a disk", storage_destroy,
          ("zpool destroy tank", "zfs destroy -r tank/data", "lvremove -f vg0/data",
           "vgremove vg0", "parted /dev/sda mklabel gpt", "parted -s /dev/sdb rm 1",
           "fdisk /dev/sda", "cryptsetup luksErase /dev/sdb1", "truncate -s0 /dev/sda",
           "hdparm --user-master u --security-erase p /dev/sda", "nvme format /dev/nvme0n1",
           "nwipe --autonuke"),
          ("zpool status", "zfs list", "lvs", "parted -l", "fdisk -l /dev/sda",
           "cryptsetup luksOpen /dev/sdb1 data", "truncate -s 1G /tmp/disk.img",
           "lvcreate -L 1G -n x vg0")),
    _rule("lockout_files", "emptying, deleting or replacing passwd/shadow/sudoers/fstab…",
          lockout_files,
          ("sed -i d /etc/passwd", "sed -i '1,$d' /etc/shadow", "sed -i 's/x/y/' /etc/sudoers",
           "ln -sf /dev/null /etc/passwd", "unlink /etc/shadow", "install /dev/null /etc/passwd",
           "cp /dev/null /etc/group", "sudo sed -i '/UUID/d' /etc/fstab"),
          ("sed -n 1p /etc/passwd", "sed -i 's/a/b/' /etc/nginx/nginx.conf",
           "sudo sed -i 's/^#UseDNS/UseDNS/' /etc/ssh/sshd_config", "ln -sf /srv/a /srv/b",
           "install -m 644 app.conf /etc/app.conf", "unlink /tmp/x")),
    _rule("lockout_access", "stopping sshd or the network, DROP policies, root locked, "
          "every root process killed", lockout_access,
          ("systemctl stop sshd", "systemctl mask ssh.service", "service ssh stop",
           "iptables -P INPUT DROP", "iptables -A INPUT -j DROP", "ip link set eth0 down",
           "ifdown eth0", "ifconfig eth0 down", "nmcli networking off", "passwd -d root",
           "usermod -L root", "echo root:x | chpasswd", "pkill -9 -u root",
           "killall -9 sshd", "systemctl disable --now sshd"),
          ("systemctl restart sshd", "systemctl status ssh", "service ssh reload",
           "iptables -A INPUT -p tcp --dport 22 -j ACCEPT", "iptables -L", "ip link set lo up",
           "ip link show", "passwd alice", "usermod -aG docker alice", "pkill -u alice",
           "killall -HUP nginx", "echo alice:x | chpasswd", "iptables -P FORWARD DROP")),
    _rule("sysrq", "writes to /proc/sysrq-trigger", sysrq,
          ("echo b > /proc/sysrq-trigger", "echo c | sudo tee /proc/sysrq-trigger"),
          ("cat /proc/sys/kernel/sysrq", "echo 1 > /tmp/sysrq")),
    _rule("evidence_wipe", "erasing the shell history (the record of what was done)",
          evidence_wipe,
          ("history -c", "history -c && rm ~/.bash_history", "shred -u ~/.bash_history",
           "> ~/.bash_history", "unset HISTFILE", "ln -sf /dev/null ~/.bash_history"),
          ("history | tail", "history -a", "cat ~/.bash_history", "grep ssh ~/.bash_history")),
    _rule("rsync_delete", "rsync --delete onto /, a home or a system tree", rsync_delete,
          ("rsync -a --delete empty/ /etc/", "rsync -a --delete /tmp/e/ /", "rsync -a --del x/ ~/",
           "rsync -a --delete x/ root@db1:/usr/"),
          ("rsync -a --delete build/ /srv/app/current/", "rsync -an --delete x/ /etc/",
           "rsync -a src/ /etc/app/", "rsync -a --delete x/ /tmp/y/")),
)
