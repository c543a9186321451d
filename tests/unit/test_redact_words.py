"""Word-level redaction (reifier.core.redact_words): each rule's examples as data, in
surrounding text too, its negatives, the options that only ask for a password, and
commands of tools the rule tables do not name (the rules must be general)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reifier.core import redact_tokens
from reifier.core.redact import redact
from reifier.core.redact_words import (
    FLAG_OPTIONS,
    ORDER,
    WORD_RULES,
    WordRule,
    looks_random,
    may_contain,
    secret_name,
)

AROUND = (
    "{}",
    "cd /srv/app && {} && echo done",
    "sudo {}",
    "( {} ) || true",
    "{} ; systemctl status app",
    "if true; then {}; fi",
)


def test_every_rule_has_examples_negatives_and_an_order() -> None:
    assert {r.name for r in WORD_RULES} == set(ORDER)
    for rule in WORD_RULES:
        assert rule.examples and rule.negatives, rule.name
        assert all(secret in cmd for cmd, secret in rule.examples), rule.name


@pytest.mark.parametrize("rule", WORD_RULES, ids=lambda r: r.name)
def test_rule_examples_redacted_and_named(rule: WordRule) -> None:
    for cmd, secret in rule.examples:
        out = redact(cmd)
        assert secret not in out.text, (cmd, out.text)
        assert rule.name in out.rules, (cmd, out.rules)
        assert f"<REDACTED:{rule.name}>" in out.text
        assert redact(out.text).text == out.text  # idempotent


@pytest.mark.parametrize("rule", WORD_RULES, ids=lambda r: r.name)
def test_rule_examples_caught_inside_surrounding_text(rule: WordRule) -> None:
    for cmd, secret in rule.examples:
        for around in AROUND:
            if rule.name == "secret-adjacent" and around != "{}":
                continue  # its example is a broken line; wrapping it changes what breaks
            line = around.format(cmd)
            assert secret not in redact(line).text, line


@pytest.mark.parametrize("rule", WORD_RULES, ids=lambda r: r.name)
def test_rule_negatives_unchanged(rule: WordRule) -> None:
    for cmd in rule.negatives:
        for around in AROUND[:3]:
            line = around.format(cmd)
            assert redact(line).text == line, (line, redact(line).text)


def test_command_kept_around_the_secret() -> None:
    assert (
        redact("gitlab-runner register --url https://gl --registration-token aY25V5FDwgN9 --name r").text
        == "gitlab-runner register --url https://gl --registration-token <REDACTED:secret-option> --name r"
    )
    assert redact("lambo new --dbuser=ops --dbpassword=WDpraFr37Qq app").text == (
        "lambo new --dbuser=ops --dbpassword=<REDACTED:secret-option> app"
    )
    assert redact("smbcacls //h/s /f --user ops%mW4pHC-SYNve 'ACL:DACL'").text == (
        "smbcacls //h/s /f --user ops%<REDACTED:credentials> 'ACL:DACL'"
    )
    assert redact("secretsdump.py CORP/ops:szgDGK.zANuy@dc1 -just-dc").text == (
        "secretsdump.py CORP/ops:<REDACTED:credentials>@dc1 -just-dc"
    )
    assert redact("printf 'ops:QCLo7M.A85fV\\nroot:QcVb9w+B38RF' | sudo chpasswd").text == (
        "printf 'ops:<REDACTED:stdin-secret>\\nroot:<REDACTED:stdin-secret>' | sudo chpasswd"
    )
    assert redact("xfreerdp /u:ops /p:xtKTaT#iSYnn /v:host").text == (
        "xfreerdp /u:ops /p:<REDACTED:secret-option> /v:host"
    )
    assert redact("mc alias set local https://m:9000 LWqT5fSigPo SqiRWZ!NMbLr").text == (
        "mc alias set local https://m:9000 <REDACTED:positional-secret> <REDACTED:positional-secret>"
    )


@pytest.mark.parametrize(
    "cmd",
    [
        "dropdb --password database_name",
        "psql --host db1.example.com --port 5432 --username ops --password database",
        "mysqldump --user ops --password database_name --result-file=/tmp/file_sql",
        "mysql -u root -p appdb",
        "pg_dump -U app -W appdb",
        "nxc smb 192.168.178.2 --username /tmp/usernames_txt --password /tmp/passwords_txt",
        "az login --service-principal --username app --password /tmp/cert.pem --tenant t",
        "aws secretsmanager describe-secret --secret-id prod/db",
        "aws secretsmanager delete-secret --secret-id name",
        "VBoxManage startvm vm_name --password-id password_id",
        "ansible-playbook site.yml --ask-become-pass -i hosts",
        "systemd-cryptenroll --password /dev/sda2",
        "age --passphrase --output secret.age secret.txt",
        "openvpn --config c.ovpn --auth-user-pass creds.txt",
        "kubectl get secret db-creds -o jsonpath='{.data.password}'",
        "vault kv get -field=password secret/db",
    ],
)
def test_asking_for_a_secret_or_naming_one_is_not_a_secret(cmd: str) -> None:
    assert redact(cmd).text == cmd


def test_flag_options_are_data() -> None:
    assert "--password" in FLAG_OPTIONS["psql"] and "--password" in FLAG_OPTIONS["dropdb"]
    assert "--with-token" in FLAG_OPTIONS["*"]
    # the same option with an attached value is a value
    assert redact("mysqldump --password=S3cr3tPw9 db").text == (
        "mysqldump --password=<REDACTED:secret-option> db"
    )


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("--registration-token", "token"),
        ("--secret-access-key", "secret"),
        ("--consumer-secret", "secret"),
        ("--refresh-token", "token"),
        ("--ftp-passwd", "passwd"),
        ("--auth_pass", "pass"),
        ("--api-secret", "secret"),
        ("--dbpassword", "password"),
        ("--otp", "otp"),
        ("-upw", "pw"),
        ("-computer-pass", "pass"),
        ("-deststorepass", "pass"),
        ("--api-key", "apikey"),
        ("ServerAdminPassword", "password"),
        ("apitoken", "token"),
    ],
)
def test_secret_names(name: str, word: str) -> None:
    assert secret_name(name) == word


@pytest.mark.parametrize(
    "name",
    ["--password-file", "--secret-id", "--token-ttl", "--no-password", "--passthrough",
     "--bypass", "--keyserver", "--key-file", "--author", "--ask-pass", "--secret-name",
     "--vault-password-file", "--password-stdin", "--keymap", "--passname"],
)  # fmt: skip
def test_not_secret_names(name: str) -> None:
    assert secret_name(name) is None


@pytest.mark.parametrize(
    "word", ["WKbsDE#ZoDiP", "2iXrQq-4R5by", "Y8GwMC_Hfhoi", "aY25V5@FDwgN", "4f9Q2mZ8kR7tW1bX"]
)
def test_looks_random(word: str) -> None:
    assert looks_random(word)


@pytest.mark.parametrize(
    "word",
    ["HKLM_SOFTWARE_Microsoft_", "getElementById", "GetUserSPNs.py", "Bridge_1.0.0_Servo_1.2.0",
     "3f2a9c1d8e7b6a5f", "web-7d4b9c8f6-x2x9z", "+%Y-%m-%dT%H:%M:%SZ", "NjM3YTQyNzQ1YTQ0NGUzMg",
     "AutomaticallyAfterDays", "X-My-Header_123", "ubuntu-22.04", "Python3.11"],
)  # fmt: skip
def test_does_not_look_random(word: str) -> None:
    assert not looks_random(word)


def test_gate_skips_plain_lines_and_opens_for_candidates() -> None:
    for line in ["ls -la", "systemctl restart nginx", "cd /var/log/app", "git pull", "df -h"]:
        assert not may_contain(line)
    for line in ["x --token y", "7z a f -pX", "echo hi | chpasswd", "tool ArX9-kQ2pZw7"]:
        assert may_contain(line)


def test_unparseable_line_is_redacted_conservatively() -> None:
    out = redact("vendor-cli set password Hunter2Secret (")
    assert "Hunter2Secret" not in out.text and "secret-adjacent" in out.rules
    broken = redact("deploy 'unterminated --api-secret Zq81-kLmN4x7 aB9$xQ2&mK7zPp")
    assert "Zq81-kLmN4x7" not in broken.text and "aB9$xQ2&mK7zPp" not in broken.text


def test_heredoc_and_herestring_fed_to_a_secret_reader() -> None:
    out = redact("cat <<EOF | gh auth login --with-token\nghTok-Heredoc-25\nEOF")
    assert "ghTok-Heredoc-25" not in out.text and out.text.endswith("\nEOF")
    assert "s3cretvaulttoken" not in redact("vault login - <<< s3cretvaulttoken").text


def test_known_tokens_from_detect_secrets() -> None:
    assert redact_tokens.candidate("SKa1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6")
    assert not redact_tokens.candidate("/var/lib/docker/overlay2/0123456789abcdef")
    assert redact_tokens.known_token("a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6-us12") is not None
    assert redact_tokens.known_token("kubernetes-dashboard-7b9f5c6d4f") is None


# Commands of tools the tables do not name, or name for another option: the general
# rules must hold on them (this list is not tuned against the shared corpora).
OTHER_TOOLS = [
    ("influx setup --username admin --password Influx-Pass-88 --org acme --force", "Influx-Pass-88"),
    ("psql 'host=db1 user=app password=S3cret-Pg dbname=app'", "S3cret-Pg"),
    ("keytool -importkeystore -srcstorepass Kx9-store -deststorepass Kx9-dest", "Kx9-dest"),
    ("ipmitool -I lanplus -H 10.0.0.5 -U admin -P Ipmi-Pass-1 chassis status", "Ipmi-Pass-1"),
    ("az storage blob upload --account-key Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1 -f x", "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1"),
    ("gh secret set DEPLOY_KEY --body 'dk-live-4433'", "dk-live-4433"),
    ("kubectl create secret generic db --from-literal=password=Kube-Pg-9", "Kube-Pg-9"),
    ("heroku config:set STRIPE_KEY=stripe-value-123 -a app", "stripe-value-123"),
    ("smbclient //fs/share -U 'CORP\\ops%Smb-Pass-4'", "Smb-Pass-4"),
    ("wget --http-user=ops --http-password=Wget-Pass-6 https://x/f", "Wget-Pass-6"),
    ("unzip -P Zip-Pass-8 out.zip", "Zip-Pass-8"),
    ("echo 'Vault-Tok-9xYz' | vault login -", "Vault-Tok-9xYz"),
    ("evil-winrm -i 10.0.0.9 -u Administrator -p 'Winrm!Pass10'", "Winrm!Pass10"),
    ("curl --oauth2-bearer Bearer-Tok-12x https://api", "Bearer-Tok-12x"),
    ("http -a ops:Httpie-Pass-13 https://api/x", "Httpie-Pass-13"),
    ("ansible-playbook site.yml -e ansible_password=Ans-Pass-15", "Ans-Pass-15"),
    ("gpg --batch --passphrase Gpg-Pass-18 -d f.gpg", "Gpg-Pass-18"),
    ("lftp -u ops,Lftp-Pass-22 ftp://h", "Lftp-Pass-22"),
    ("printf '%s' 'Tok-Printf-24' | docker login -u ops --password-stdin r.io", "Tok-Printf-24"),
    ("ncftp -u ops -p Ncftp-Pass-29 ftp.example.com", "Ncftp-Pass-29"),
    ("openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:P12-Pass-31", "P12-Pass-31"),
    ("grafana-cli admin reset-admin-password Graf-Pass-32", "Graf-Pass-32"),
    ("pulumi config set --secret dbPassword Pulumi-Pass-1", "Pulumi-Pass-1"),
    ("ansible-vault encrypt_string 'Vault-Str-2x' --name db_password", "Vault-Str-2x"),
    ("pdftk secured.pdf input_pw Pdftk-Pass-3 output plain.pdf", "Pdftk-Pass-3"),
    ("transmission-remote -n ops:Trans-Pass-4 -l", "Trans-Pass-4"),
    ("skopeo copy --src-creds ops:Skopeo-Pass-7 docker://a docker://b", "Skopeo-Pass-7"),
    ("etcdctl --user root:Etcd-Pass-8 get /x", "Etcd-Pass-8"),
    ("certbot certonly --eab-kid kid --eab-hmac-key Hmac-Key-10xYz", "Hmac-Key-10xYz"),
    ("rabbitmqadmin -u ops -p Rabbit-Pass-11 list queues", "Rabbit-Pass-11"),
    ("rpcclient -U 'ops%Rpc-Pass-14' 10.0.0.1", "Rpc-Pass-14"),
    ("doctl auth init -t Do-Tok-16abcdef", "Do-Tok-16abcdef"),
    ("mycli -u root -p Mycli-Pass-20 db", "Mycli-Pass-20"),
    ("nmcli con modify Home wifi-sec.psk Nm-Psk-22", "Nm-Psk-22"),
    ("mongodump --uri 'mongodb+srv://ops:Mongo-Pass-31@c0.x.net/db'", "Mongo-Pass-31"),
    ("ssh-keygen -p -P Old-Pass-33 -N New-Pass-34 -f key", "New-Pass-34"),
    ("ipa user-add ops --first o --last p --password <<< 'Ipa-Pass-41'", "Ipa-Pass-41"),
    ("sudo -S systemctl restart app <<< 'Sudo-Pass-42'", "Sudo-Pass-42"),
    ("echo 'Sudo-Pass-43' | sudo -S apt-get update", "Sudo-Pass-43"),
]

NOT_SECRETS = [
    "hashcat -m 0 -a 0 hash.txt rockyou.txt", "ssh-keygen -p -f ~/.ssh/id_ed25519",
    "pass insert email/work", "vault token lookup", "kubectl create token default",
    "openssl passwd -stdin", "grep -rn password_reset app/", "git log -S password --oneline",
    "sudo -S true", "sudo -u www-data php artisan key:generate", "curl -u ops https://x",
    "wget --ask-password https://x/f", "ssh -i ~/.ssh/deploy_key ops@web1",
    "echo 'select 1' | psql -U app -d appdb", "echo done | tee -a /var/log/deploy.log",
]


@pytest.mark.parametrize("cmd", NOT_SECRETS)
def test_other_tools_without_secrets_unchanged(cmd: str) -> None:
    assert redact(cmd).text == cmd


@pytest.mark.parametrize(("cmd", "secret"), OTHER_TOOLS)
def test_other_tools(cmd: str, secret: str) -> None:
    assert secret not in redact(cmd).text


def test_shared_fixture_secrets_with_word_rules(fixtures_dir: Path) -> None:
    rows = [json.loads(line) for line in (fixtures_dir / "secrets.jsonl").read_text().splitlines() if line]
    for row in rows:
        out = redact(row["cmd"])
        assert not any(s in out.text for s in row["secrets"]), out.text
        assert redact(out.text).text == out.text
