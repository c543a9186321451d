"""A redacted value becomes a declared parameter the runbook reads from the environment."""

from __future__ import annotations

import os
import subprocess

import pytest

from reifier.core.classify import assign_roles
from reifier.core.draft import build_draft
from reifier.core.models import CommandEvent, Session
from reifier.core.redact import param_name, redact, render_secret_parameters, secret_parameters

T0 = 1763978400.0


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("mysql -u root -pS3cr3t!Pass -h db1", "MYSQL_PASSWORD"),
        ("PGPASSWORD=CorrectHorse99 psql -h db1", "PGPASSWORD"),
        ("gitlab-runner register --registration-token aY25V5FDwgN9", "REGISTRATION_TOKEN"),
        ("lambo new --db-password=WDpraFr37Qq app", "DB_PASSWORD"),
        ("redis-cli -a hunter2-prod -h cache1 ping", "REDIS_CLI_PASSWORD"),
        ("echo 9UGqhqQhctD4 | gh auth login --with-token", "GH_TOKEN"),
        ("git clone https://ghp_sMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8@github.com/a/b.git", "GITHUB_TOKEN"),
        ("sudo xfreerdp /u:ops /p:xtKTaT#iSYnn /v:host", "XFREERDP_PASSWORD"),
        ("secretsdump.py CORP/ops:szgDGK.zANuy@dc1", "SECRETSDUMP_PY_PASSWORD"),
    ],
)
def test_parameter_name_from_context(typed: str, name: str) -> None:
    text = redact(typed).text
    start = text.index("<REDACTED:")
    rule = text[start + len("<REDACTED:") : text.index(">", start)]
    assert param_name(text, start, rule) == name


def test_placeholders_become_quoted_references_in_every_quote_context() -> None:
    sources = [
        redact("mysql -u root -pS3cr3tPass -h db1").text,
        redact("curl -H 'Authorization: Bearer abc.def.ghi' https://api/x").text,
        redact('curl -H "X-Api-Key: 0123456789abcdef" https://api/x').text,
        redact("mc alias set local https://m:9000 LWqT5fSigPo SqiRWZ!NMbLr").text,
    ]
    out, names = secret_parameters(sources)
    assert out[0] == 'mysql -u root -p"$MYSQL_PASSWORD" -h db1'
    assert out[1] == "curl -H 'Authorization: Bearer '\"$CURL_TOKEN\"'' https://api/x"
    assert out[2] == 'curl -H "X-Api-Key: ${API_KEY}" https://api/x'
    assert out[3].endswith('"$MC_SECRET" "$MC_SECRET_2"')  # two secrets, two names
    assert list(names) == ["MYSQL_PASSWORD", "CURL_TOKEN", "API_KEY", "MC_SECRET", "MC_SECRET_2"]
    assert not any("<REDACTED:" in s for s in out)
    cell = render_secret_parameters(names)
    assert 'MYSQL_PASSWORD="${MYSQL_PASSWORD:-}"' in cell.splitlines()[1]


def _echo_tools(cell: str) -> str:
    return "mysql() { printf '<%s>' \"$@\"; }; curl() { printf '<%s>' \"$@\"; }\n" + cell


def test_rewritten_cells_read_the_secret_from_the_environment_at_run_time() -> None:
    out, names = secret_parameters([
        redact("mysql -u root -pS3cr3tPass -h db1").text,
        redact("curl -H 'Authorization: Bearer abc.def.ghi' https://api/x").text,
    ])
    script = _echo_tools(render_secret_parameters(names) + "\n".join(out))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MYSQL_PASSWORD": "from env 1",
           "CURL_TOKEN": "tok$en"}  # fmt: skip
    got = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert got.stdout == (
        "<-u><root><-pfrom env 1><-h><db1><-H><Authorization: Bearer tok$en><https://api/x>"
    )


def test_draft_declares_each_redacted_value_as_an_environment_parameter() -> None:
    typed = [
        "systemctl status app",
        "mysql -u root -pS3cr3tPass -h db1 -e 'kill 42'",
        "sshpass -p 'Hunter2Secret' ssh ops@web1 'systemctl restart app'",
        "systemctl restart app",
        "curl -fsS http://localhost/health",
    ]
    events = [
        CommandEvent(command=redact(c).text, started=T0 + 10 * i, shell_session="s", host="db1",
                     user="ops", cwd="/root", exit_code=0, seq=i, redactions=redact(c).rules)
        for i, c in enumerate(typed)
    ]  # fmt: skip
    cmds = assign_roles(events)
    session = Session(id="s1", shell_session="s", host="db1", user="ops", started=T0,
                      ended=T0 + 40, commands=cmds)  # fmt: skip
    draft = build_draft(session)
    code = [c.source for c in draft.cells if c.kind == "code"]
    (params,) = [c.source for c in draft.cells if "parameters" in c.tags]
    assert 'MYSQL_PASSWORD="${MYSQL_PASSWORD:-}"' in params
    assert 'SSHPASS_PASSWORD="${SSHPASS_PASSWORD:-}"' in params
    assert not any("<REDACTED:" in src for src in code)
    assert any('-p"$MYSQL_PASSWORD"' in src for src in code)
    assert any("sshpass -p \"$SSHPASS_PASSWORD\" ssh" in src for src in code)
    assert "S3cr3tPass" not in str(draft) and "Hunter2Secret" not in str(draft)
