"""`reifier status`: each pair once, and never a file that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

from tests.functional.cli import run
from tests.functional.runbook_factory import make_runbook


def test_both_files_of_a_pair_print_it_once(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "restart-cache", cells=["systemctl restart memcached"])
    other = make_runbook(ws, "other", cells=["echo other"])
    nb = md.with_suffix(".ipynb")
    out = run("status", str(md), str(nb), str(other), str(md), env=reifier_env).stdout
    draft = "draft (status is 'draft')"
    heads = [line for line in out.splitlines() if not line.startswith(" ")]  # details indent
    assert heads == [f"{md}: {draft}", f"{other}: {draft}"]
    data = json.loads(run("status", str(nb), str(md), "--json", env=reifier_env).stdout)
    assert [d["path"] for d in data] == [str(md)]  # named by its .md, whichever was given
    assert set(data[0]["files"]) == {md.name, nb.name}


def test_a_lone_notebook_is_named_not_a_missing_md(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "only-nb", cells=["echo hi"])
    md.unlink()
    nb = md.with_suffix(".ipynb")
    out = run("status", str(nb), env=reifier_env).stdout
    assert out.startswith(f"{nb}: draft")
    assert ".md" not in out
    (data,) = json.loads(run("status", str(nb), "--json", env=reifier_env).stdout)
    assert data["path"] == str(nb) and list(data["files"]) == [nb.name]
    missing = run("status", str(md), env=reifier_env, check=False)  # the .md named: still found
    assert missing.returncode == 0 and str(nb) in missing.stdout


def test_missing_runbook_exits_2_with_one_line(reifier_env: dict[str, str], tmp_path: Path) -> None:
    proc = run("status", str(tmp_path / "nope.md"), env=reifier_env, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nope" in proc.stderr
