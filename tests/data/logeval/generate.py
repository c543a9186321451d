"""Generate ``eval.jsonl``: a labeled set of LogHub-like lines for the pattern matcher.

Run ``python tests/data/logeval/generate.py`` to rewrite ``eval.jsonl`` (deterministic).

Each format has templates (an error a runbook could be written for) and near misses
(different errors that share most words with a template). Per template the first
line is the runbook's symptom (``role: example``; sometimes the bare message, as a
person would paste it), then ``POSITIVES`` instances with fresh ids, IPs, ports,
users, paths, pods, timestamps and prefixes (``label`` = the template id). Near
misses are written ``NEGATIVES`` times each with ``label: null``; every template's
positives are also negatives for every other template.

Fields: format, template_id, role (example | positive | negative), line, label, split.
``split`` is "tuning" for the formats the masking rules were developed against and
"holdout" for formats added afterwards to check that the rules generalize.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from collections.abc import Callable
from pathlib import Path

R = random.Random(20261124)
POSITIVES = 6
NEGATIVES = 3
OUT = Path(__file__).with_name("eval.jsonl")

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
SAFE = "bcdfghjklmnpqrstvwxz2456789"


def pick(*options: str) -> Callable[[], str]:
    return lambda: R.choice(options)


def num(lo: int, hi: int) -> Callable[[], str]:
    return lambda: str(R.randint(lo, hi))


def hexs(n: int) -> Callable[[], str]:
    return lambda: "".join(R.choice("0123456789abcdef") for _ in range(n))


def ip() -> str:
    first = R.choice([10, 172, 192, 52, 34, 185, 203, 91])
    return f"{first}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def pod() -> str:
    base = R.choice(["web", "api-gateway", "checkout", "payments-worker", "frontend", "orders-api"])
    rs = "".join(R.choice(SAFE) for _ in range(R.choice([9, 10])))
    return f"{base}-{rs}-{''.join(R.choice(SAFE) for _ in range(5))}"


def path() -> str:
    return R.choice([
        f"/var/www/html/{R.choice(['index.php', 'wp-login.php', 'admin/config.php'])}",
        f"/api/v{R.randint(1, 3)}/users/{R.randint(1, 99999)}",
        f"/static/js/app.{hexs(8)()}.js",
        f"/srv/data/{R.choice(['reports', 'exports', 'uploads'])}/{R.randint(1000, 9999)}.csv",
        f"/home/{R.choice(['alice', 'bob', 'deploy'])}/.cache/{hexs(6)()}",
        f"/usr/share/nginx/html/{R.choice(['favicon.ico', 'robots.txt', 'img/logo.png'])}",
        f"/var/lib/postgresql/14/main/base/{R.randint(10000, 99999)}/{R.randint(1000, 99999)}",
        f"/orders/{R.randint(1, 99999)}/items?page={R.randint(1, 9)}",
    ])


def image() -> str:
    return R.choice([
        f"docker.io/library/nginx:1.{R.randint(19, 27)}.{R.randint(0, 9)}",
        f"ghcr.io/acme/api:v{R.randint(1, 4)}.{R.randint(0, 20)}.{R.randint(0, 9)}",
        f"registry.example.com/team/worker:2024-0{R.randint(1, 9)}-1{R.randint(0, 9)}",
        f"quay.io/prometheus/node-exporter:v1.{R.randint(1, 8)}.{R.randint(0, 3)}",
    ])


def b64key() -> str:
    return base64.b64encode(R.randbytes(32)).decode().rstrip("=")


VALUES: dict[str, Callable[[], str]] = {
    "ip": ip,
    "port": num(1024, 65535),
    "pid": num(100, 99999),
    "n": num(1, 999),
    "big": num(10000, 99999999),
    "uid": num(0, 60000),
    "user": pick("root", "admin", "oracle", "test", "ubuntu", "git", "deploy", "postgres", "alice",
                 "bob", "jenkins", "nagios", "ftpuser", "guest", "backup", "ec2-user", "support"),
    "host": pick("web-01", "db1", "app-prod-3", "ip-10-0-3-17", "lb02", "kafka-2", "node7", "worker-12"),
    "fqdn": pick("api.example.com", "shop.example.org", "www.acme.io", "static.cdn.example.net",
                 "auth.internal.acme.io", "billing.example.com"),
    "node": pick("ip-10-0-1-23.ec2.internal", "gke-prod-pool-1-3f2a9c1d-x7k2", "worker-3", "node-2",
                 "aks-nodepool1-12345678-vmss000002", "ip-172-31-9-200.eu-west-1.compute.internal"),
    "path": path,
    "unit": pick("nginx", "postgresql", "docker", "kubelet", "redis-server", "app-worker", "haproxy"),
    "proc": pick("java", "python3", "postgres", "nginx", "node", "mysqld", "chrome", "redis-server"),
    "dev": pick("sda", "sdb1", "sdc2", "nvme0n1", "nvme1n1p2", "vda1", "xvdf"),
    "nic": pick("eth0", "eth1", "ens3", "enp0s31f6", "eno1"),
    "hex": hexs(12),
    "hex8": hexs(8),
    "kb": num(1000, 99999999),
    "uuid": lambda: str(uuid.UUID(int=R.getrandbits(128), version=4)),
    "pod": pod,
    "ns": pick("default", "prod", "payments", "staging", "kube-system", "monitoring"),
    "container": pick("app", "nginx", "sidecar", "istio-proxy", "redis", "worker", "api"),
    "image": image,
    "vol": pick("config", "data", "tls-certs", "kube-api-access-x7k2p", "secrets-store"),
    "cm": pick("app-config", "nginx-conf", "feature-flags", "env-prod"),
    "db": pick("orders", "users", "billing", "analytics", "app_production"),
    "table": pick("orders", "public.users", "line_items", "audit_log", "sessions"),
    "constraint": pick("orders_pkey", "users_email_key", "line_items_order_id_sku_key", "sessions_pkey"),
    "thread": pick("main", "pool-1-thread-3", "http-nio-8080-exec-7", "kafka-producer-network-thread",
                   "IPC Server handler 5 on 8020", "RMCommunicator Allocator"),
    "cls": pick("com.acme.orders.OrderService", "java.util.Map", "org.example.Cache", "com.acme.User"),
    "meth": pick("get", "getId", "size", "process"),
    "var": pick("order", "this.cache", "user", "<local4>"),
    "blk": lambda: f"{R.choice(['', '-'])}{R.randint(10**17, 10**19)}",
    "ms": num(1, 99999),
    "sec": num(1, 600),
    "zone": pick("api_limit", "one", "login", "perip"),
    "method": pick("GET", "POST", "PUT"),
    "b64": b64key,
    "float": lambda: f"{R.uniform(0, 500):.3f}",
    "script": pick("index.php", "cgi-bin/report.cgi", "app.py", "status.pl"),
    "ua": pick("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
               "curl/7.68.0", "python-requests/2.31.0", "Go-http-client/1.1",
               "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"),
    "ref": lambda: R.choice(["-", f"https://{VALUES['fqdn']()}{path()}"]),
}


class Fill(dict[str, str]):
    """Fresh random value per placeholder name, the same for repeats within a line."""

    def __missing__(self, key: str) -> str:
        value = VALUES[key if key in VALUES else re.sub(r"\d+$", "", key)]()
        self[key] = value
        return value


def fill(text: str) -> str:
    return string.Formatter().vformat(text, (), Fill())


# --- prefixes (each returns a fresh header for one line) ---------------------------------
def syslog_ts() -> str:
    return f"{R.choice(MONTHS)} {R.randint(1, 28):>2} {R.randint(0, 23):02}:{R.randint(0, 59):02}:{R.randint(0, 59):02}"


def iso(sep: str = "T", frac: str = ".", zone: str = "") -> str:
    return (f"20{R.randint(20, 26)}-{R.randint(1, 12):02}-{R.randint(1, 28):02}{sep}"
            f"{R.randint(0, 23):02}:{R.randint(0, 59):02}:{R.randint(0, 59):02}{frac}{R.randint(0, 999):03}{zone}")


def syslog_header(tag: str) -> str:
    host = VALUES["host"]()
    if "[" in tag and R.random() < 0.4:
        return f"{iso(zone='+00:00')} {host} {tag}: "
    return f"{syslog_ts()} {host} {tag}: "


def kernel_prefix() -> str:
    stamp = f"[{R.randint(1, 9999999):>5}.{R.randint(0, 999999):06}]"
    return R.choice([f"{syslog_ts()} {VALUES['host']()} kernel: {stamp} ", f"{stamp} "])


def nginx_prefix(level: str) -> str:
    pid = R.randint(1, 9999)
    return (f"20{R.randint(20, 26)}/{R.randint(1, 12):02}/{R.randint(1, 28):02} {R.randint(0, 23):02}:"
            f"{R.randint(0, 59):02}:{R.randint(0, 59):02} [{level}] {pid}#{R.choice([pid, 0])}: *{R.randint(1, 999999)} ")


def apache_prefix(module: str) -> str:
    when = f"{R.choice(DAYS)} {R.choice(MONTHS)} {R.randint(1, 28):02} {R.randint(0, 23):02}:{R.randint(0, 59):02}:{R.randint(0, 59):02}"
    if module:
        return (f"[{when}.{R.randint(0, 999999):06} 20{R.randint(10, 26)}] [{module}] [pid {R.randint(100, 99999)}"
                f":tid {R.randint(10**14, 10**15)}] [client {ip()}:{R.randint(1024, 65535)}] ")
    return f"[{when} 20{R.randint(5, 9):02}] [error] [client {ip()}] "


def pg_prefix() -> str:
    who = R.choice(["", f"{VALUES['user']()}@{VALUES['db']()} "])
    return f"{iso(' ', zone=' UTC')} [{R.randint(100, 99999)}] {who}"


def java_prefix(level: str) -> str:
    return f"{iso(' ', ',')} {level} [{VALUES['thread']()}] "


def hdfs_prefix() -> str:
    return f"{R.randint(8, 9):02}{R.randint(1, 12):02}{R.randint(1, 28):02} {R.randint(0, 235959):06} {R.randint(1, 9999)} INFO "


def k8s_prefix(reason: str) -> str:
    age = f"{R.randint(1, 59)}{R.choice('smh')}"
    obj = f"pod/{pod()}"
    return R.choice([
        f"{age}  Warning  {reason}  {obj}  ",
        f"{VALUES['ns']()}  {age}  Warning  {reason}  {obj}  ",
        f"Warning  {reason}  {age} (x{R.randint(2, 40)} over {R.randint(2, 59)}m)  kubelet  ",
        "",
    ])


# --- formats: (template_id, header kind, message) and near misses -------------------------
Spec = tuple[str, Callable[[], str], str]


def fmt(header: Callable[[], str], items: list[tuple[str, str]]) -> list[Spec]:
    return [(tid, header, msg) for tid, msg in items]


SSH = lambda: syslog_header(f"sshd[{R.randint(100, 99999)}]")  # noqa: E731
FORMATS: dict[str, tuple[list[Spec], list[Spec]]] = {
    "sshd": (fmt(SSH, [
        ("ssh_failed_password", "Failed password for {user} from {ip} port {port} ssh2"),
        ("ssh_failed_invalid", "Failed password for invalid user {user} from {ip} port {port} ssh2"),
        ("ssh_accepted_password", "Accepted password for {user} from {ip} port {port} ssh2"),
        ("ssh_accepted_publickey", "Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{b64}"),
        ("ssh_invalid_user", "Invalid user {user} from {ip} port {port}"),
        ("ssh_closed_preauth", "Connection closed by {ip} port {port} [preauth]"),
        ("ssh_closed_auth_user", "Connection closed by authenticating user {user} {ip} port {port} [preauth]"),
        ("ssh_max_auth", "error: maximum authentication attempts exceeded for {user} from {ip} port {port} ssh2 [preauth]"),
        ("ssh_disconnect_bye", "Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
        ("ssh_pam_auth_failure", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"),
        ("ssh_session_opened", "pam_unix(sshd:session): session opened for user {user} by (uid=0)"),
    ]), fmt(SSH, [
        ("nm_ssh_failed_publickey", "Failed publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{b64}"),
        ("nm_ssh_accepted_kbd", "Accepted keyboard-interactive/pam for {user} from {ip} port {port} ssh2"),
        ("nm_ssh_reset_preauth", "Connection reset by {ip} port {port} [preauth]"),
        ("nm_ssh_disconnect_user", "Received disconnect from {ip} port {port}:11: disconnected by user"),
        ("nm_ssh_session_closed", "pam_unix(sshd:session): session closed for user {user}"),
        ("nm_ssh_disconnected_invalid", "Disconnected from invalid user {user} {ip} port {port} [preauth]"),
        ("nm_ssh_pam_check_pass", "pam_unix(sshd:auth): check pass; user unknown"),
    ])),
    "syslog": ([
        ("sys_unit_failed_exit", lambda: syslog_header("systemd[1]"), "{unit}.service: Failed with result 'exit-code'."),
        ("sys_main_exited_failure", lambda: syslog_header("systemd[1]"), "{unit}.service: Main process exited, code=exited, status=1/FAILURE"),
        ("sys_main_killed", lambda: syslog_header("systemd[1]"), "{unit}.service: Main process exited, code=killed, status=9/KILL"),
        ("sys_start_limit", lambda: syslog_header("systemd[1]"), "{unit}.service: Start request repeated too quickly."),
        ("sys_cron_session", lambda: syslog_header(f"CRON[{R.randint(100, 99999)}]"), "pam_unix(cron:session): session opened for user {user} by (uid=0)"),
        ("sys_logind_new_session", lambda: syslog_header(f"systemd-logind[{R.randint(100, 9999)}]"), "New session {n} of user {user}."),
        ("sys_started_session", lambda: syslog_header("systemd[1]"), "Started Session {n} of user {user}."),
        ("sys_dhcp_request", lambda: syslog_header(f"dhclient[{R.randint(100, 9999)}]"), "DHCPREQUEST on {nic} to {ip} port 67 (xid=0x{hex8})"),
        ("sys_smart_pending", lambda: syslog_header(f"smartd[{R.randint(100, 9999)}]"), "Device: /dev/{dev} [SAT], {n} Currently unreadable (pending) sectors"),
        ("sys_sudo_auth_failure", lambda: syslog_header("sudo"), "pam_unix(sudo:auth): authentication failure; logname={user} uid={uid} euid=0 tty=/dev/pts/{n} ruser={user} rhost=  user={user}"),
    ], [
        ("nm_sys_unit_failed_timeout", lambda: syslog_header("systemd[1]"), "{unit}.service: Failed with result 'timeout'."),
        ("nm_sys_unit_failed_oom", lambda: syslog_header("systemd[1]"), "{unit}.service: Failed with result 'oom-kill'."),
        ("nm_sys_main_dumped", lambda: syslog_header("systemd[1]"), "{unit}.service: Main process exited, code=dumped, status=11/SEGV"),
        ("nm_sys_logind_removed", lambda: syslog_header(f"systemd-logind[{R.randint(100, 9999)}]"), "Removed session {n}."),
        ("nm_sys_smart_offline", lambda: syslog_header(f"smartd[{R.randint(100, 9999)}]"), "Device: /dev/{dev} [SAT], {n} Offline uncorrectable sectors"),
        ("nm_sys_dhcp_ack", lambda: syslog_header(f"dhclient[{R.randint(100, 9999)}]"), "DHCPACK of {ip} from {ip2} (xid=0x{hex8})"),
        ("nm_sys_stopped_session", lambda: syslog_header("systemd[1]"), "Stopped Session {n} of user {user}."),
    ]),
    "kernel": (fmt(kernel_prefix, [
        ("k_oom_killed", "Out of memory: Killed process {pid} ({proc}) total-vm:{kb}kB, anon-rss:{kb2}kB, file-rss:{kb3}kB, shmem-rss:0kB, UID:{uid} pgtables:{kb4}kB oom_score_adj:0"),
        ("k_segfault", "{proc}[{pid}]: segfault at {hex} ip {hex2} sp {hex3} error 4 in libc.so.6[{hex4}+1bc000]"),
        ("k_hung_task", "INFO: task {proc}:{pid} blocked for more than {sec} seconds."),
        ("k_ext4_find_entry", "EXT4-fs error (device {dev}): ext4_find_entry:1463: inode #{big}: comm {proc}: reading directory lblock 0"),
        ("k_io_error", "blk_update_request: I/O error, dev {dev}, sector {big} op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0"),
        ("k_conntrack_full", "nf_conntrack: nf_conntrack: table full, dropping packet"),
        ("k_link_down", "e1000e: {nic} NIC Link is Down"),
        ("k_soft_lockup", "watchdog: BUG: soft lockup - CPU#{n} stuck for {n2}s! [{proc}:{pid}]"),
        ("k_syn_flood", "TCP: request_sock_TCP: Possible SYN flooding on port {port}. Sending cookies.  Check SNMP counters."),
    ]), fmt(kernel_prefix, [
        ("nm_k_ext4_lookup", "EXT4-fs error (device {dev}): ext4_lookup:1700: inode #{big}: comm {proc}: deleted inode referenced: {big2}"),
        ("nm_k_medium_error", "blk_update_request: critical medium error, dev {dev}, sector {big} op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0"),
        ("nm_k_syn_drop", "TCP: request_sock_TCP: Possible SYN flooding on port {port}. Dropping request.  Check SNMP counters."),
        ("nm_k_link_up", "e1000e: {nic} NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"),
        ("nm_k_hard_lockup", "watchdog: Watchdog detected hard LOCKUP on cpu {n}"),
        ("nm_k_rcu_stall", "rcu: INFO: rcu_sched self-detected stall on CPU"),
    ])),
    "nginx_error": (fmt(lambda: nginx_prefix("error"), [
        ("ng_upstream_refused", 'connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("ng_upstream_timeout", 'upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("ng_upstream_reset", 'recv() failed (104: Connection reset by peer) while reading response header from upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("ng_open_enoent", 'open() "{path}" failed (2: No such file or directory), client: {ip}, server: {fqdn}, request: "GET {path} HTTP/1.1", host: "{fqdn}"'),
        ("ng_open_eacces", 'open() "{path}" failed (13: Permission denied), client: {ip}, server: {fqdn}, request: "GET {path} HTTP/1.1", host: "{fqdn}"'),
        ("ng_no_live_upstreams", 'no live upstreams while connecting to upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://backend{path2}", host: "{fqdn}"'),
        ("ng_body_too_large", 'client intended to send too large body: {big} bytes, client: {ip}, server: {fqdn}, request: "POST {path} HTTP/1.1", host: "{fqdn}"'),
        ("ng_limit_req", 'limiting requests, excess: {float} by zone "{zone}", client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", host: "{fqdn}"'),
        ("ng_ssl_bad_cert", "SSL_do_handshake() failed (SSL: error:14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:SSL alert number 42) while SSL handshaking, client: {ip}, server: 0.0.0.0:443"),
    ]), fmt(lambda: nginx_prefix("error"), [
        ("nm_ng_no_route", 'connect() failed (113: No route to host) while connecting to upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("nm_ng_premature_close", 'upstream prematurely closed connection while reading response header from upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("nm_ng_big_header", 'upstream sent too big header while reading response header from upstream, client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", upstream: "http://{ip2}:{port}{path2}", host: "{fqdn}"'),
        ("nm_ng_limit_conn", 'limiting connections by zone "{zone}", client: {ip}, server: {fqdn}, request: "{method} {path} HTTP/1.1", host: "{fqdn}"'),
        ("nm_ng_ssl_no_cipher", "SSL_do_handshake() failed (SSL: error:1408A0C1:SSL routines:ssl3_get_client_hello:no shared cipher) while SSL handshaking, client: {ip}, server: 0.0.0.0:443"),
        ("nm_ng_open_eisdir", 'open() "{path}" failed (21: Is a directory), client: {ip}, server: {fqdn}, request: "GET {path} HTTP/1.1", host: "{fqdn}"'),
    ])),
    "access": (fmt(lambda: "", [
        (f"acc_{m.lower()}_{s}", f'{{ip}} - {{cuser}} [{{clf}}] "{m} {{path}} HTTP/{{httpv}}" {s} {{n}} "{{ref}}" "{{ua}}"')
        for m, s in [("GET", 502), ("POST", 502), ("GET", 504), ("POST", 500), ("GET", 404),
                     ("GET", 499), ("PUT", 503), ("GET", 429), ("DELETE", 403)]
    ]), fmt(lambda: "", [
        (f"nm_acc_{m.lower()}_{s}", f'{{ip}} - {{cuser}} [{{clf}}] "{m} {{path}} HTTP/{{httpv}}" {s} {{n}} "{{ref}}" "{{ua}}"')
        for m, s in [("GET", 200), ("POST", 201), ("HEAD", 200), ("GET", 301), ("POST", 503), ("PUT", 502)]
    ])),
    "apache_error": ([
        ("ap_symlink", lambda: apache_prefix("core:error"), "AH00037: Symbolic link not allowed or link target not accessible: {path}"),
        ("ap_file_not_exist", lambda: apache_prefix(""), "File does not exist: {path}"),
        ("ap_script_headers", lambda: apache_prefix("cgi:error"), "End of script output before headers: {script}"),
        ("ap_max_workers", lambda: apache_prefix("mpm_event:error"), "AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"),
        ("ap_proxy_refused", lambda: apache_prefix("proxy:error"), "(111)Connection refused: AH00957: HTTP: attempt to connect to {ip}:{port} ({fqdn}) failed"),
        ("ap_proxy_timeout", lambda: apache_prefix("proxy_http:error"), "(70007)The timeout specified has expired: AH01102: error reading status line from remote server {fqdn}:{port}"),
        ("ap_client_denied", lambda: apache_prefix("authz_core:error"), "AH01630: client denied by server configuration: {path}"),
        ("ap_mod_jk_error_state", lambda: apache_prefix(""), "mod_jk child workerEnv in error state {n}"),
        ("ap_jk2_found_child", lambda: apache_prefix(""), "jk2_init() Found child {n} in scoreboard slot {n2}"),
    ], [
        ("nm_ap_fcgi_refused", lambda: apache_prefix("proxy:error"), "(111)Connection refused: AH00957: FCGI: attempt to connect to {ip}:{port} (*) failed"),
        ("nm_ap_no_route", lambda: apache_prefix("proxy:error"), "(113)No route to host: AH00957: HTTP: attempt to connect to {ip}:{port} ({fqdn}) failed"),
        ("nm_ap_mod_jk_init", lambda: apache_prefix(""), "mod_jk child init {n} {n2}"),
        ("nm_ap_jk2_cant_find", lambda: apache_prefix(""), "jk2_init() Can't find child {n} in scoreboard"),
        ("nm_ap_dir_index", lambda: apache_prefix("autoindex:error"), "AH01276: Cannot serve directory {path}: No matching DirectoryIndex (index.html) found, and server-generated directory index forbidden by Options directive"),
        ("nm_ap_script_not_found", lambda: apache_prefix("cgi:error"), "script not found or unable to stat: {path}"),
    ]),
    "postgresql": (fmt(pg_prefix, [
        ("pg_deadlock_detail", "DETAIL:  Process {pid} waits for ShareLock on transaction {big}; blocked by process {pid2}."),
        ("pg_too_many_clients", "FATAL:  sorry, too many clients already"),
        ("pg_auth_failed", 'FATAL:  password authentication failed for user "{user}"'),
        ("pg_db_not_exist", 'FATAL:  database "{db}" does not exist'),
        ("pg_role_not_exist", 'FATAL:  role "{user}" does not exist'),
        ("pg_relation_not_exist", 'ERROR:  relation "{table}" does not exist at character {n}'),
        ("pg_unique_violation", 'ERROR:  duplicate key value violates unique constraint "{constraint}"'),
        ("pg_statement_timeout", "ERROR:  canceling statement due to statement timeout"),
        ("pg_lock_timeout", "ERROR:  canceling statement due to lock timeout"),
        ("pg_checkpoints_frequent", "LOG:  checkpoints are occurring too frequently ({n} seconds apart)"),
        ("pg_no_space", 'PANIC:  could not write to file "{path}": No space left on device'),
        ("pg_admin_terminate", "FATAL:  terminating connection due to administrator command"),
        ("pg_hba_no_entry", 'FATAL:  no pg_hba.conf entry for host "{ip}", user "{user}", database "{db}", SSL off'),
    ]), fmt(pg_prefix, [
        ("nm_pg_user_cancel", "ERROR:  canceling statement due to user request"),
        ("nm_pg_idle_terminate", "FATAL:  terminating connection due to idle-in-transaction timeout"),
        ("nm_pg_reserved_slots", "FATAL:  remaining connection slots are reserved for non-replication superuser connections"),
        ("nm_pg_ident_failed", 'FATAL:  Ident authentication failed for user "{user}"'),
        ("nm_pg_column_not_exist", 'ERROR:  column "{table}" does not exist at character {n}'),
        ("nm_pg_fk_violation", 'ERROR:  insert or update on table "{table}" violates foreign key constraint "{constraint}"'),
        ("nm_pg_exclusive_tuple", "DETAIL:  Process {pid} waits for ExclusiveLock on tuple ({n},{n2}) of relation {big} of database {big2}; blocked by process {pid2}."),
        ("nm_pg_io_error", 'PANIC:  could not write to file "{path}": Input/output error'),
        ("nm_pg_hba_ssl_on", 'FATAL:  no pg_hba.conf entry for host "{ip}", user "{user}", database "{db}", SSL encryption'),
    ])),
    "java": ([
        ("j_oom_heap", lambda: R.choice(["", java_prefix("ERROR")]), 'Exception in thread "{thread}" java.lang.OutOfMemoryError: Java heap space'),
        ("j_oom_gc", lambda: R.choice(["", "Caused by: ", java_prefix("ERROR")]), "java.lang.OutOfMemoryError: GC overhead limit exceeded"),
        ("j_oom_metaspace", lambda: R.choice(["", "Caused by: "]), "java.lang.OutOfMemoryError: Metaspace"),
        ("j_conn_refused", lambda: R.choice(["", "Caused by: ", java_prefix("WARN")]), "java.net.ConnectException: Connection refused (Connection refused)"),
        ("j_read_timeout", lambda: R.choice(["", "Caused by: "]), "java.net.SocketTimeoutException: Read timed out"),
        ("j_npe_invoke", lambda: R.choice(["", java_prefix("ERROR")]), 'java.lang.NullPointerException: Cannot invoke "{cls}.{meth}()" because "{var}" is null'),
        ("j_pg_too_many", lambda: R.choice(["", "Caused by: "]), "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already"),
        ("j_no_space", lambda: R.choice(["", "Caused by: "]), "java.io.IOException: No space left on device"),
        ("h_lease_renew", lambda: java_prefix("WARN"), "org.apache.hadoop.hdfs.LeaseRenewer: Failed to renew lease for [DFSClient_NONMAPREDUCE_{big}_{n}] for {sec} seconds.  Will retry shortly ..."),
        ("h_rm_contact", lambda: java_prefix("ERROR"), "org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: ERROR IN CONTACTING RM."),
        ("h_retry_connect", lambda: java_prefix("INFO"), "org.apache.hadoop.ipc.Client: Retrying connect to server: {node}/{ip}:{port}. Already tried {n} time(s); retry policy is RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)"),
        ("hdfs_receiving", hdfs_prefix, "dfs.DataNode$DataXceiver: Receiving block blk_{blk} src: /{ip}:{port} dest: /{ip2}:50010"),
        ("hdfs_serving_exception", hdfs_prefix, "dfs.DataNode$DataXceiver: {ip}:50010:Got exception while serving blk_{blk} to /{ip2}:"),
        ("hdfs_responder_terminating", hdfs_prefix, "dfs.DataNode$PacketResponder: PacketResponder {n} for block blk_{blk} terminating"),
    ], [
        ("nm_j_oom_native", lambda: "", "java.lang.OutOfMemoryError: unable to create new native thread"),
        ("nm_j_oom_direct", lambda: "", "java.lang.OutOfMemoryError: Direct buffer memory"),
        ("nm_j_conn_timeout", lambda: "", "java.net.ConnectException: Connection timed out (Connection timed out)"),
        ("nm_j_connect_timeout", lambda: "", "java.net.SocketTimeoutException: connect timed out"),
        ("nm_j_socket_reset", lambda: "", "java.net.SocketException: Connection reset"),
        ("nm_j_broken_pipe", lambda: "", "java.io.IOException: Broken pipe"),
        ("nm_j_pg_starting", lambda: "", "org.postgresql.util.PSQLException: FATAL: the database system is starting up"),
        ("nm_hdfs_received", hdfs_prefix, "dfs.DataNode$PacketResponder: Received block blk_{blk} of size {big} from /{ip}"),
        ("nm_hdfs_responder_exception", hdfs_prefix, "dfs.DataNode$PacketResponder: PacketResponder {n} for block blk_{blk} Interrupted."),
    ]),
    "k8s": ([
        ("k8s_backoff_restart", lambda: k8s_prefix("BackOff"), "Back-off restarting failed container {container} in pod {pod}_{ns}({uuid})"),
        ("k8s_backoff_pull", lambda: k8s_prefix("BackOff"), 'Back-off pulling image "{image}"'),
        ("k8s_pull_not_found", lambda: k8s_prefix("Failed"), 'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve reference "{image}": {image}: not found'),
        ("k8s_insufficient_cpu", lambda: k8s_prefix("FailedScheduling"), "0/{n} nodes are available: {n2} Insufficient cpu."),
        ("k8s_liveness_status", lambda: k8s_prefix("Unhealthy"), "Liveness probe failed: HTTP probe failed with statuscode: {n}"),
        ("k8s_readiness_refused", lambda: k8s_prefix("Unhealthy"), 'Readiness probe failed: Get "http://{ip}:{port}/healthz": dial tcp {ip}:{port}: connect: connection refused'),
        ("k8s_configmap_missing", lambda: k8s_prefix("FailedMount"), 'MountVolume.SetUp failed for volume "{vol}" : configmap "{cm}" not found'),
        ("k8s_evicted_memory", lambda: k8s_prefix("Evicted"), "The node was low on resource: memory. Container {container} was using {kb}Ki, which exceeds its request of {n}Mi."),
        ("k8s_node_not_ready", lambda: k8s_prefix("NodeNotReady"), "Node {node} status is now: NodeNotReady"),
        ("k8s_liveness_restart", lambda: k8s_prefix("Killing"), "Container {container} failed liveness probe, will be restarted"),
    ], [
        ("nm_k8s_insufficient_memory", lambda: k8s_prefix("FailedScheduling"), "0/{n} nodes are available: {n2} Insufficient memory."),
        ("nm_k8s_readiness_status", lambda: k8s_prefix("Unhealthy"), "Readiness probe failed: HTTP probe failed with statuscode: {n}"),
        ("nm_k8s_liveness_deadline", lambda: k8s_prefix("Unhealthy"), 'Liveness probe failed: Get "http://{ip}:{port}/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'),
        ("nm_k8s_secret_missing", lambda: k8s_prefix("FailedMount"), 'MountVolume.SetUp failed for volume "{vol}" : secret "{cm}" not found'),
        ("nm_k8s_evicted_storage", lambda: k8s_prefix("Evicted"), "The node was low on resource: ephemeral-storage. Container {container} was using {kb}Ki, which exceeds its request of {n}Mi."),
        ("nm_k8s_node_ready", lambda: k8s_prefix("NodeReady"), "Node {node} status is now: NodeReady"),
        ("nm_k8s_pulling", lambda: k8s_prefix("Pulling"), 'Pulling image "{image}"'),
        ("nm_k8s_readiness_restart", lambda: k8s_prefix("Killing"), "Container {container} failed startup probe, will be restarted"),
    ]),
}


# --- holdout: written after the masking rules were tuned on FORMATS, never tuned on ---------
def mysql_prefix() -> str:
    return R.choice(["", f"{iso()}{R.randint(100, 999)}Z {R.randint(1, 99)} [ERROR] [MY-0{R.randint(10000, 13999)}] [Server] "])


def redis_prefix() -> str:
    return f"{R.randint(1, 99999)}:M {R.randint(1, 28):02} {R.choice(MONTHS)} 20{R.randint(20, 26)} {R.randint(0, 23):02}:{R.randint(0, 59):02}:{R.randint(0, 59):02}.{R.randint(0, 999):03} # "


def haproxy_prefix() -> str:
    return syslog_header(f"haproxy[{R.randint(100, 99999)}]")


def dockerd_prefix() -> str:
    return syslog_header(f"dockerd[{R.randint(100, 99999)}]") + f'time="{iso(zone="Z")}" level=error msg='


VALUES["be"] = pick("app_backend", "api", "static-be", "web_servers")
VALUES["srv"] = pick("web1", "web2", "app-3", "node-a", "srv04")
VALUES["hex64"] = hexs(64)
VALUES["rdb"] = pick("dump.rdb", "temp-1234.rdb", "backup.rdb")
HOLDOUT: dict[str, tuple[list[Spec], list[Spec]]] = {
    "mysql": (fmt(mysql_prefix, [
        ("my_access_denied_pw", "Access denied for user '{user}'@'{ip}' (using password: YES)"),
        ("my_aborted_reading", "Aborted connection {n} to db: '{db}' user: '{user}' host: '{ip}' (Got an error reading communication packets)"),
        ("my_too_many", "Too many connections"),
        ("my_innodb_buffer_pool", "InnoDB: Cannot allocate memory for the buffer pool"),
        ("my_deadlock", "Deadlock found when trying to get lock; try restarting transaction"),
        ("my_lock_wait", "Lock wait timeout exceeded; try restarting transaction"),
        ("my_table_missing", "Table '{db}.{table}' doesn't exist"),
        ("my_disk_full", "Disk is full writing './{db}/{table}.ibd' (OS errno 28 - No space left on device). Waiting for someone to free space..."),
    ]), fmt(mysql_prefix, [
        ("nm_my_access_denied_nopw", "Access denied for user '{user}'@'{ip}' (using password: NO)"),
        ("nm_my_aborted_timeout", "Aborted connection {n} to db: '{db}' user: '{user}' host: '{ip}' (Got timeout reading communication packets)"),
        ("nm_my_table_crashed", "Table '{db}.{table}' is marked as crashed and should be repaired"),
        ("nm_my_too_many_user", "User {user} already has more than 'max_user_connections' active connections"),
    ])),
    "redis": (fmt(redis_prefix, [
        ("rd_bgsave_fork", "Can't save in background: fork: Cannot allocate memory"),
        ("rd_misconf", "MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk."),
        ("rd_master_lost", "Connection with master lost."),
        ("rd_sync_refused", "Error condition on socket for SYNC: Connection refused"),
        ("rd_overcommit", "WARNING overcommit_memory is set to 0! Background save may fail under low memory condition."),
        ("rd_aof_slow", "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis."),
        ("rd_rdb_permission", "Failed opening the RDB file {rdb} (in server root dir {path}) for saving: Permission denied"),
        ("rd_oom_command", "OOM command not allowed when used memory > 'maxmemory'."),
    ]), fmt(redis_prefix, [
        ("nm_rd_sync_no_route", "Error condition on socket for SYNC: No route to host"),
        ("nm_rd_rdb_no_space", "Failed opening the RDB file {rdb} (in server root dir {path}) for saving: No space left on device"),
        ("nm_rd_bgsave_started", "Background saving started by pid {pid}"),
        ("nm_rd_replica_lost", "Connection with replica {ip}:{port} lost."),
    ])),
    "haproxy": (fmt(haproxy_prefix, [
        ("hp_server_down", 'Server {be}/{srv} is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: {n}ms. {n2} active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.'),
        ("hp_no_server", "backend {be} has no server available!"),
        ("hp_server_down_timeout", 'Server {be}/{srv} is DOWN, reason: Layer4 timeout, check duration: {n}ms. {n2} active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.'),
    ]), fmt(haproxy_prefix, [
        ("nm_hp_server_up", "Server {be}/{srv} is UP, reason: Layer7 check passed, code: 200, check duration: {n}ms. {n2} active and 0 backup servers online. 0 sessions requeued, 0 total in queue."),
        ("nm_hp_proxy_stopped", "Proxy {be} stopped (cumulated conns: FE: {n}, BE: {n2})."),
    ])),
    "dockerd": (fmt(dockerd_prefix, [
        ("dk_port_allocated", '"Handler for POST /v1.43/containers/{hex64}/start returned error: driver failed programming external connectivity on endpoint {container} ({hex64}): Bind for 0.0.0.0:{port} failed: port is already allocated"'),
        ("dk_no_space", '"Error writing log: write /var/lib/docker/containers/{hex64}/{hex64}-json.log: no space left on device"'),
        ("dk_oom", '"OOM killed container {hex64}"'),
    ]), fmt(dockerd_prefix, [
        ("nm_dk_port_in_use", '"Handler for POST /v1.43/containers/{hex64}/start returned error: driver failed programming external connectivity on endpoint {container} ({hex64}): Error starting userland proxy: listen tcp4 0.0.0.0:{port}: bind: address already in use"'),
        ("nm_dk_read_only", '"Error writing log: write /var/lib/docker/containers/{hex64}/{hex64}-json.log: read-only file system"'),
    ])),
}

VALUES["clf"] = lambda: f"{R.randint(1, 28):02}/{R.choice(MONTHS)}/20{R.randint(20, 26)}:{R.randint(0, 23):02}:{R.randint(0, 59):02}:{R.randint(0, 59):02} {R.choice(['+0000', '-0700', '+0100'])}"
VALUES["httpv"] = pick("1.1", "1.1", "2.0", "1.0")
VALUES["cuser"] = pick("-", "-", "-", "frank", "alice", "api-client")


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, (templates, near_misses) in [*FORMATS.items(), *HOLDOUT.items()]:
        split = "holdout" if name in HOLDOUT else "tuning"
        for i, (tid, header, message) in enumerate(templates):
            bare = i % 2 == 1  # every other symptom is pasted without its log header
            example = fill(message) if bare and header() else header() + fill(message)
            out.append({"format": name, "template_id": tid, "role": "example", "line": example, "label": tid, "split": split})
            for _ in range(POSITIVES):
                line = header() + fill(message)
                out.append({"format": name, "template_id": tid, "role": "positive", "line": line, "label": tid, "split": split})
        for tid, header, message in near_misses:
            for _ in range(NEGATIVES):
                line = header() + fill(message)
                out.append({"format": name, "template_id": tid, "role": "negative", "line": line, "label": None, "split": split})
    return out


def main() -> None:
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows()), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
