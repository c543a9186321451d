"""``reifier run`` and the papermill engine, with the real reifier-bash kernel.

Kernels find the spec through JUPYTER_PATH (the repository's ``kernels/``) and
get HOME set to a temp dir holding a marker file, so a quoting or guard bug
cannot touch the real home. Every test here starts at least one kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters import notebooks
from reifier.adapters.settings import load_context
from reifier.adapters.store import Store
from tests.functional.test_approve_cli import invoke
from tests.unit.test_approval import cell, runbook

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def env(reifier_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the kernel findable and HOME disposable; return the scratch directory."""
    monkeypatch.setenv("JUPYTER_PATH", str(ROOT))
    home = tmp_path / "userhome"
    home.mkdir()
    (home / "MARKER").write_text("keep me\n")
    monkeypatch.setenv("HOME", str(home))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return scratch


def write_approved(name: str, nb: dict[str, Any], *allow: str) -> Path:
    """Write a runbook pair into the workspace and approve it with the CLI."""
    path = load_context().runbooks / "approved" / f"{name}.md"
    notebooks.write_pair(nb, path)
    flags = [a for spec in allow for a in ("--allow", spec)]
    result = invoke("approve", str(path), "--by", "alice", *flags)
    assert result.exit_code == 0, result.output
    return path


def record(result_output: str) -> dict[str, Any]:
    """Load the record notebook named in ``reifier run --json`` output."""
    data = json.loads(result_output)
    nb: dict[str, Any] = json.loads(Path(data["record"]).read_text())
    return nb


def outputs(nb: dict[str, Any]) -> str:
    """Return all stream text of a record notebook."""
    text = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            t = o.get("text", "")
            text.append("".join(t) if isinstance(t, list) else t)
    return "".join(text)


def echo_book(scratch: Path) -> dict[str, Any]:
    """A runbook that writes its MSG parameter to a file, after a precondition."""
    return runbook(
        cell("markdown", "# Echo"),
        cell("code", f"DIR='{scratch}'\nMSG=hello", "parameters"),
        cell("code", 'echo "fix ran" > "$DIR/fix-ran"'),
        cell("markdown", "Only do this if the gate file exists"),
        cell("code", 'test -e "$DIR/gate"', "precondition"),
        cell("code", 'printf "%s" "$MSG" > "$DIR/msg"; echo "[$MSG]"'),
        parameters={"DIR": {"path": {"under": ["/tmp/"]}}, "MSG": {"pattern": "(?s).*"}},
    )


def test_run_md_writes_records_and_keeps_values_as_data(env: Path) -> None:
    (env / "gate").touch()
    path = write_approved("echo", echo_book(env))
    pwned = env / "pwned"
    value = f"$(touch {pwned}); rm -rf ~"
    result = invoke("run", str(path), "-p", "MSG", value, "--trigger", "alert:Demo#42", "--json")
    assert result.exit_code == 0, result.output
    assert not pwned.exists()
    assert (env / "msg").read_text() == value
    assert (Path(os.environ["HOME"]) / "MARKER").exists()
    rec = record(result.stdout)
    assert "jupytext" not in rec["metadata"]
    run = rec["metadata"]["reifier"]["run"]
    assert run["status"] == "ok" and run["trigger"] == "alert:Demo#42"
    assert run["parameters"] == {"DIR": str(env), "MSG": value}
    assert run["digest"].startswith("sha256:") and run["approved_by"] == "alice"
    assert [c["status"] for c in run["cells"]] == ["ok"] * 5
    assert rec["cells"][0]["cell_type"] == "markdown" and "Run record" in rec["cells"][0]["source"]
    assert f"[{value}]" in outputs(rec)
    html = Path(json.loads(result.stdout)["html"]).read_text()
    assert "Run record" in html and "alert:Demo#42" in html


def test_run_reports_each_cell_as_it_ends_and_why_it_failed(env: Path) -> None:
    nb = runbook(cell("code", f"DIR='{env}'", "parameters"),
                 cell("code", 'echo "step one" > "$DIR/one"'),
                 cell("code", 'echo "about to fail"\necho "on stderr" >&2\nfalse'),
                 cell("code", 'touch "$DIR/never"'),
                 parameters={"DIR": {"path": {"under": ["/tmp/"]}}})
    path = write_approved("noisy", nb)
    result = invoke("run", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # one line per code cell as it ended, in run order, then the reason and last output
    assert [ln.split()[:3] for ln in lines[:3]] == [
        ["code", "cell", "1"], ["code", "cell", "2"], ["code", "cell", "3"]]
    assert " ok " in lines[1] and "failed" in lines[2] and 'echo "about to fail"' in lines[2]
    assert "CellFailed: exit status 1 from: false" in result.stderr
    assert "| about to fail" in result.stderr
    assert "failed at code cell 3: CellFailed: exit status 1 from: false" in lines[-1]
    assert not (env / "never").exists()
    quiet = invoke("run", str(path), "--quiet")
    assert quiet.exit_code == 1 and "code cell 1" not in quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].endswith("CellFailed: exit status 1 from: false")


def test_precondition_failure_stops_before_the_fix(env: Path) -> None:
    path = write_approved("echo", echo_book(env))
    result = invoke("run", str(path.with_suffix(".ipynb")), "--json")
    assert result.exit_code == 1
    assert not (env / "fix-ran").exists()  # the fix cell comes first in the file
    rec = record(result.stdout)
    run = rec["metadata"]["reifier"]["run"]
    assert run["status"] == "precondition-failed" and run["failed_cell"] == 3
    statuses = {c["cell"]: c["status"] for c in run["cells"]}
    assert statuses == {1: "ok", 2: "not-run", 3: "failed", 4: "not-run"}
    papermill = {c["source"]: c["metadata"]["papermill"]["status"]
                 for c in rec["cells"] if c["cell_type"] == "code"}
    assert papermill['echo "fix ran" > "$DIR/fix-ran"'] == "pending"
    assert papermill['test -e "$DIR/gate"'] == "failed"


def test_failed_cell_keeps_partial_output_and_is_stored(env: Path) -> None:
    nb = runbook(cell("code", "X=1", "parameters"), cell("code", "echo partial-output"),
                 cell("code", "echo before; false; echo never"), cell("code", "echo skipped"))
    path = write_approved("fails", nb)
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "failed" and data["failed_cell"] == 3
    text = outputs(record(result.stdout))
    assert "partial-output" in text and "before" in text
    assert "never" not in text and "skipped" not in text
    store = Store(load_context().db_path)
    try:
        [node] = store.nodes("Execution")
        assert node["key"] == data["run_id"] and node["props"]["status"] == "failed"
        [runbook_node] = store.nodes("Runbook")
        assert {"src": node["id"], "rel": "ran", "dst": runbook_node["id"], "props": {}} \
            in store.edges()
    finally:
        store.close()


def test_cell_timeout_kills_the_cell(env: Path) -> None:
    nb = runbook(cell("code", f"D='{env}'", "parameters"),
                 cell("code", 'echo started; (sleep 30; touch "$D/late") & sleep 30'),
                 cell("code", 'touch "$D/next"'))
    path = write_approved("slow", nb)
    result = invoke("run", str(path), "--timeout", "1", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "timeout" and data["failed_cell"] == 2
    assert "started" in outputs(record(result.stdout))
    assert not (env / "next").exists()


def test_guarded_cell_runs_only_with_the_signed_allowance(env: Path) -> None:
    cache = env / "cache"
    cache.mkdir()
    (cache / "a").touch()
    nb = runbook(cell("code", f"DIR='{cache}'", "parameters"), cell("code", 'rm -rf "$DIR"/*'))
    # DIR is unconstrained: approval needs every rule a hostile DIR could trip allowed
    path = write_approved("wipe", nb, "2:rm_catastrophic", "2:rm_outside_scratch")
    assert invoke("run", str(path)).exit_code == 0
    assert cache.exists() and not (cache / "a").exists()


def test_engine_checks_the_object_it_executes(env: Path) -> None:
    """An approved file on disk does not let a different in-memory notebook run."""
    import nbformat
    import papermill

    from reifier.errors import Refused

    (env / "gate").touch()
    path = write_approved("echo", echo_book(env))
    nb = notebooks.read(path.with_suffix(".ipynb"))
    nb["cells"][5]["source"] = f"touch {env / 'owned'}"  # swapped after approval
    with pytest.raises(Refused, match="stale"):
        papermill.execute_notebook(nbformat.from_dict(nb), str(env / "out.ipynb"),
                                   engine_name="reifier", kernel_name="reifier-bash",
                                   progress_bar=False)
    with pytest.raises(Refused, match="reifier-bash kernel"):
        papermill.execute_notebook(str(path.with_suffix(".ipynb")), str(env / "out.ipynb"),
                                   engine_name="reifier", kernel_name="python3",
                                   progress_bar=False)
    assert not (env / "owned").exists() and not (env / "fix-ran").exists()


def test_plain_papermill_still_runs_an_approved_runbook(env: Path) -> None:
    (env / "gate").touch()
    path = write_approved("echo", echo_book(env))
    out = env / "out.ipynb"
    proc = subprocess.run([str(BIN / "papermill"), str(path.with_suffix(".ipynb")), str(out),
                           "-p", "MSG", "it's $(id)", "--no-progress-bar"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (env / "msg").read_text() == "it's $(id)"


def test_engine_entry_point_is_registered() -> None:
    import entrypoints

    assert "reifier" in entrypoints.get_group_named("papermill.engine")


def test_papermill_cli_with_the_reifier_engine(env: Path) -> None:
    (env / "gate").touch()
    path = write_approved("echo", echo_book(env))
    out = env / "out.ipynb"
    proc = subprocess.run([str(BIN / "papermill"), "--engine", "reifier",
                           str(path.with_suffix(".ipynb")), str(out), "-p", "MSG", "$(id)",
                           "--no-progress-bar"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (env / "msg").read_text() == "$(id)"
    assert json.loads(out.read_text())["metadata"]["reifier"]["run"]["status"] == "ok"
    draft = load_context().runbooks / "draft.ipynb"
    notebooks.write_pair(echo_book(env), draft)
    refused = subprocess.run([str(BIN / "papermill"), "--engine", "reifier", str(draft),
                              str(out)], capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "Refused" in refused.stderr


@pytest.mark.parametrize("first", ["reifier.adapters.engine", "reifier.adapters.runner",
                                   "reifier.adapters.jobs", "papermill"])
def test_engine_imports_in_any_order(first: str) -> None:
    code = (f"import {first}\nimport papermill.engines as e\n"
            "print(e.papermill_engines.get_engine('reifier').__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ReifierEngine"


def test_a_value_set_by_an_earlier_cell_is_judged_live_and_refused_exit_3(env: Path) -> None:
    """Approval cannot see T's value; the kernel judges the cell with it and refuses."""
    nb = runbook(cell("code", "X=1", "parameters"), cell("code", "T=/etc"),
                 cell("code", 'chmod -R 000 "$T"'), cell("code", f"touch {env}/after"))
    path = write_approved("live", nb)
    result = invoke("run", str(path))
    assert result.exit_code == 3
    assert "chmod_chown_system" in result.stderr and "T='/etc'" in result.stderr
    assert not (env / "after").exists()


def test_a_terminal_gets_a_progress_bar_and_the_cell_lines(env: Path) -> None:
    import pexpect

    nb = runbook(cell("code", "X=1", "parameters"), *[cell("code", f"sleep 0.2; echo {i}")
                                                      for i in range(4)])
    path = write_approved("bar", nb)
    child = pexpect.spawn(sys.executable, ["-m", "reifier", "run", str(path)],
                          env=dict(os.environ), encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    out = child.before or ""
    assert "cell/s" in out or "s/cell" in out  # tqdm's bar, on a terminal only
    assert "code cell 5" in out.replace("\r", "\n") and "demo: ok" in out
