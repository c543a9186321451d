"""Parameter values cannot turn an approved runbook destructive (issue 21), end to end.

Through the real CLI: approval flags unconstrained parameters that reach a
destructive position, constraints refuse hostile values before anything runs
(``run``, ``--dry-run``, ``papermill --engine reifier``), ``check --strict``
reports them, replayed or revoked approvals are refused, and code hidden in an
HTML comment never gets signed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reifier.cli import cli
from tests.functional.runbook_factory import make_runbook


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI in-process (the same code path; no interpreter start per call)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    proc = subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
    if check and proc.returncode:
        raise AssertionError(f"{args}: exit {proc.returncode}\n{proc.stderr}")
    return proc

#: (cell, parameter, safe default, hostile value, rule, constraint that clears it)
CASES: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ('rm -rf -- "${DIR:?}"', "DIR", "/tmp/reifier-t/cache", "/etc", "rm_catastrophic",
     {"path": {"under": ["/tmp/reifier-t/"]}}),
    ('dd if=/dev/zero of="$DEV" bs=1M count=1', "DEV", "/tmp/reifier-t/disk.img", "/dev/sda",
     "dd_device", {"path": {"under": ["/tmp/reifier-t/"]}}),
    ('terraform "$ACTION" -auto-approve', "ACTION", "plan", "destroy", "terraform_destroy",
     {"enum": ["plan", "apply"]}),
    ('kubectl delete "$KIND" web-0 -n prod', "KIND", "pod", "ns", "kubectl_delete",
     {"enum": ["pod"]}),
    ('psql -c "$SQL"', "SQL", "SELECT 1", "DROP DATABASE prod", "sql_destructive",
     {"enum": ["SELECT 1", "VACUUM ANALYZE"]}),
    ('find "$DIR" -mtime +7 -delete', "DIR", "/srv/app/cache", "/", "find_delete",
     {"path": {"under": ["/srv/app/"]}}),
    ('chmod -R 000 "$DIR"', "DIR", "/tmp/reifier-t/x", "/etc", "chmod_chown_system",
     {"path": {"under": ["/tmp/reifier-t/"]}}),
]


def book(env: dict[str, str], rid: str, cell: str, params: dict[str, str],
         constraints: dict[str, Any]) -> Path:
    return make_runbook(Path(env["REIFIER_WORKSPACE"]), rid, cells=[cell], params=params,
                        constraints=constraints)


@pytest.mark.parametrize(("cell", "name", "default", "hostile", "rule", "constraint"), CASES)
def test_unconstrained_parameter_is_flagged_at_approval(
        reifier_env: dict[str, str], cell: str, name: str, default: str, hostile: str,
        rule: str, constraint: dict[str, Any]) -> None:
    md = book(reifier_env, "t", cell, {name: default}, {})
    refused = run("approve", str(md), "--by", "bob", env=reifier_env, check=False)
    assert refused.returncode == 3, refused.stderr
    assert f"parameter {name} has no constraint" in refused.stderr, refused.stderr
    assert rule in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    strict = run("check", "--strict", str(md), env=reifier_env, check=False)
    assert strict.returncode == 3 and f"parameter {name}" in strict.stdout


@pytest.mark.parametrize(("cell", "name", "default", "hostile", "rule", "constraint"), CASES)
def test_constrained_runbook_refuses_hostile_values_and_takes_safe_ones(
        reifier_env: dict[str, str], cell: str, name: str, default: str, hostile: str,
        rule: str, constraint: dict[str, Any]) -> None:
    md = book(reifier_env, "t", cell, {name: default}, {name: constraint})
    run("approve", str(md), "--by", "bob", env=reifier_env)
    assert run("check", "--strict", str(md), env=reifier_env, check=False).returncode == 0
    for args in (["run", str(md), "--dry-run"], ["run", str(md)]):
        out = run(*args, "-p", name, hostile, env=reifier_env, check=False)
        assert out.returncode == 3, out.stderr
        assert f"parameter {name}={hostile!r} refused" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    dry = run("run", str(md), "--dry-run", "-p", name, default, env=reifier_env)
    assert "guard passed" in dry.stdout and default in dry.stdout
    records = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks" / "records"
    assert not records.exists()  # nothing ran


def test_papermill_engine_refuses_a_hostile_value(reifier_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    cell, name, default, hostile, _, constraint = CASES[2]
    md = book(reifier_env, "tf", cell, {name: default}, {name: constraint})
    run("approve", str(md), "--by", "bob", env=reifier_env)
    papermill = shutil.which("papermill", path=str(Path(sys.executable).parent))
    assert papermill is not None
    proc = subprocess.run([papermill, "--engine", "reifier", str(md.with_suffix(".ipynb")),
                           str(tmp_path / "out.ipynb"), "-p", name, hostile],
                          env=reifier_env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"parameter {name}={hostile!r} refused" in proc.stderr


def test_a_restored_older_or_revoked_approval_is_refused(reifier_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    md = book(reifier_env, "replay", "echo v1", {}, {})
    run("approve", str(md), "--by", "bob", env=reifier_env)
    v1 = {p.suffix: p.read_bytes() for p in (md, md.with_suffix(".ipynb"))}
    book(reifier_env, "replay", "echo v2", {}, {})
    run("approve", str(md), "--by", "bob", env=reifier_env)
    for suffix, data in v1.items():  # restore v1 "from git"
        md.with_suffix(suffix).write_bytes(data)
    status = json.loads(run("status", str(md), "--json", env=reifier_env, check=False).stdout)
    assert status[0]["status"] == "superseded", status
    out = run("run", str(md), "--dry-run", env=reifier_env, check=False)
    assert out.returncode == 3 and "newer approval" in out.stderr
    run("approve", str(md), "--by", "bob", env=reifier_env)  # re-approving v1 is a decision
    v1 = {p.suffix: p.read_bytes() for p in (md, md.with_suffix(".ipynb"))}
    run("approve", "--revoke", str(md), env=reifier_env)
    for suffix, data in v1.items():
        md.with_suffix(suffix).write_bytes(data)
    out = run("run", str(md), "--dry-run", env=reifier_env, check=False)
    assert out.returncode == 3 and "revoked" in out.stderr


def test_code_hidden_in_an_html_comment_is_never_signed(reifier_env: dict[str, str]) -> None:
    md = book(reifier_env, "hidden", "echo visible", {}, {})
    md.write_text(md.read_text() + "\n<!--\n```bash\nrm -rf /srv/app/data\n```\n-->\n")
    out = run("approve", str(md), "--by", "bob", env=reifier_env, check=False)
    assert out.returncode == 3
    assert "does not render" in out.stderr and "rm -rf /srv/app/data" in out.stderr
