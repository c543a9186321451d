"""``reifier approve``, ``status``, and the refusals of ``run`` that need no kernel.

Runbooks are real Jupytext pairs written to a temp workspace; the approval key
lives in the temp REIFIER_HOME of the ``reifier_env`` fixture.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reifier.adapters import approve, notebooks
from reifier.adapters.settings import load_context
from reifier.cli import cli
from tests.unit.test_approval import cell, runbook

NB = dict[str, Any]


def invoke(*args: str) -> Result:
    """Run the CLI in-process and return click's result."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def demo() -> NB:
    """A runbook whose code cells are all allowed by the guard."""
    return runbook(
        cell("markdown", "# Demo\n\nSome prose.", cid="m1"),
        cell("code", "DIR='/tmp/x'\nMSG=hello", "parameters", cid="p"),
        cell("code", 'test -d "$DIR"', "precondition", cid="pre"),
        cell("code", 'echo "$MSG" > "$DIR/out"', cid="fix"),
        session={"user": "bob", "host": "web1"},
        parameters={"DIR": {"path": {"under": ["/tmp/"]}}, "MSG": {"pattern": "(?s).*"}},
    )


@pytest.fixture
def book(reifier_env: dict[str, str]) -> Path:
    """Write the demo pair into the workspace and return its ``.md`` path."""
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks" / "approved" / "demo.md"
    notebooks.write_pair(demo(), path)
    return path


def status(path: Path) -> dict[str, Any]:
    """Return ``reifier status --json`` for one path."""
    result = invoke("status", str(path), "--json")
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.output)
    return data[0]


def edit(path: Path, index: int, source: str) -> None:
    """Change one cell of one file of the pair (and only that file)."""
    nb = notebooks.read(path)
    nb["cells"][index]["source"] = source
    notebooks.write(nb, path)


@pytest.mark.parametrize("which", [".md", ".ipynb"])
def test_approve_either_file_signs_both(book: Path, which: str) -> None:
    result = invoke("approve", str(book.with_suffix(which)), "--by", "alice")
    assert result.exit_code == 0, result.output
    data = status(book)
    assert data["status"] == "approved"
    assert {f: s["status"] for f, s in data["files"].items()} == {
        "demo.md": "approved", "demo.ipynb": "approved"}
    for path in notebooks.pair_paths(book):
        block = notebooks.reifier_meta(notebooks.read(path))["approval"]
        assert block["by"] == "alice"
        assert block["digest"] == data["approval"]["digest"]
        assert block["at"].endswith("Z")
    assert "reifier:" in book.read_text()  # the Markdown header carries the approval


def test_draft_status_exits_zero(book: Path) -> None:
    assert status(book)["status"] == "draft"


def test_markdown_edit_stays_approved(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    edit(book, 0, "# Demo\n\nReworded prose, new paragraph.\n\nAnd another.")
    assert status(book)["status"] == "approved"


@pytest.mark.parametrize("which", [".md", ".ipynb"])
def test_code_edit_in_either_file_is_stale_naming_the_cell(book: Path, which: str) -> None:
    invoke("approve", str(book), "--by", "alice")
    edit(book.with_suffix(which), 3, 'echo "$MSG" > "$DIR/other"')
    data = status(book)
    assert data["status"] == "stale"
    assert data["changed_cells"] == [3]
    assert data["files"][f"demo{which}"]["status"] == "stale"
    text = invoke("status", str(book)).output
    assert "stale" in text and "code cell 3" in text


def test_tag_edit_is_stale(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    nb = notebooks.read(book)
    nb["cells"][2]["metadata"]["tags"] = []
    notebooks.write(nb, book)
    assert status(book)["changed_cells"] == [2]


def test_forged_signature_is_bad_signature(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    for path in notebooks.pair_paths(book):
        nb = notebooks.read(path)
        notebooks.reifier_meta(nb)["approval"]["by"] = "mallory"
        notebooks.write(nb, path)
    assert status(book)["status"] == "bad-signature"


def test_key_is_private_and_reused(book: Path, reifier_env: dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REIFIER_APPROVAL", "local-hmac")  # the single-user mode's key
    invoke("approve", str(book), "--by", "alice")
    key = Path(reifier_env["REIFIER_HOME"]) / "approval.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_text()
    invoke("approve", str(book), "--by", "carol")
    assert key.read_text() == first
    key.chmod(0o644)
    result = invoke("approve", str(book), "--by", "carol")
    assert result.exit_code == 3 and "chmod 600" in result.output


def test_guarded_cell_is_refused_unless_allowed(reifier_env: dict[str, str]) -> None:
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "wipe.md"
    notebooks.write_pair(runbook(cell("code", "DIR=/tmp/c", "parameters"),
                                 cell("code", 'rm -rf "$DIR"/*')), path)
    refused = invoke("approve", str(path), "--by", "alice")
    assert refused.exit_code == 3
    # DIR is unconstrained: an empty or hostile value makes the cell `rm -rf /*`
    assert "parameter DIR has no constraint" in refused.output
    assert "--allow 2:rm_catastrophic" in refused.output
    assert status(path)["status"] == "draft"
    flags = refused.output.split("approve with ", 1)[1].split()
    ok = invoke("approve", str(path), "--by", "alice", *flags)
    assert ok.exit_code == 0, ok.output
    data = status(path)
    assert data["status"] == "approved" and "rm_catastrophic" in data["approval"]["allow"]["2"]


@pytest.mark.parametrize(("spec", "message"), [("2:no_such_rule", "unknown guard rule"),
                                                ("9:rm_empty_var", "no code cell"),
                                                ("2", "expected CELL:RULE")])
def test_bad_allow_is_bad_input(book: Path, spec: str, message: str) -> None:
    result = invoke("approve", str(book), "--by", "alice", "--allow", spec)
    assert result.exit_code == 2 and message in result.output


def test_four_eyes(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REIFIER_FOUR_EYES", "1")
    refused = invoke("approve", str(book), "--by", "bob")
    assert refused.exit_code == 3 and "four-eyes" in refused.output
    assert invoke("approve", str(book), "--by", "alice").exit_code == 0


def test_default_approver_is_user(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "dora")
    assert invoke("approve", str(book)).exit_code == 0
    assert status(book)["approval"]["by"] == "dora"


def test_autonomy_auto_needs_four_eyes(reifier_env: dict[str, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "auto.md"
    notebooks.write_pair(runbook(cell("code", "uptime"), autonomy="auto",
                                 session={"user": "bob"}), path)
    assert invoke("approve", str(path), "--by", "bob").exit_code == 3
    assert invoke("approve", str(path), "--by", "alice").exit_code == 0
    # one signature is not enough for autonomy: auto; a second principal with another key is
    assert status(path)["status"] == "needs-signatures"
    monkeypatch.setenv("REIFIER_SIGNING_KEY", reifier_env["REIFIER_TEST_SECOND_KEY"])
    assert invoke("approve", str(path), "--by", "carol").exit_code == 0
    assert status(path)["status"] == "approved"


def test_several_paths_all_or_nothing(book: Path, reifier_env: dict[str, str]) -> None:
    bad = Path(reifier_env["REIFIER_WORKSPACE"]) / "bad.md"
    notebooks.write_pair(runbook(cell("code", "rm -rf /")), bad)
    assert invoke("approve", str(book), str(bad), "--by", "alice").exit_code == 3
    assert status(book)["status"] == "draft"
    other = Path(reifier_env["REIFIER_WORKSPACE"]) / "other.ipynb"
    notebooks.write_pair(runbook(cell("code", "uptime"), id="other"), other)
    assert invoke("approve", str(book), str(other), "--by", "alice").exit_code == 0
    assert [status(p)["status"] for p in (book, other)] == ["approved", "approved"]


def test_revoke(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    assert invoke("approve", "--revoke", str(book)).exit_code == 0
    assert status(book)["status"] == "draft"


def test_missing_and_wrong_files_are_bad_input(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    assert invoke("status", str(ws / "nope.md")).exit_code == 2
    (ws / "notes.txt").write_text("x")
    assert invoke("approve", str(ws / "notes.txt")).exit_code == 2
    (ws / "broken.ipynb").write_text("{not json")
    assert invoke("status", str(ws / "broken.ipynb")).exit_code == 2


def test_one_twin_approved_other_draft_is_stale(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    nb = notebooks.read(book)
    notebooks.reifier_meta(nb)["status"] = "draft"
    notebooks.write(nb, book)
    assert status(book)["status"] == "stale"


def test_check_paths_reports_state_and_refusals(book: Path, reifier_env: dict[str, str]) -> None:
    ctx = load_context()
    [draft] = approve.check_paths(ctx, [book])
    assert not draft.ok and draft.status.state.status == "draft" and draft.refusals == ()
    invoke("approve", str(book), "--by", "alice")
    [ok] = approve.check_paths(ctx, [book])
    assert ok.ok and ok.to_json()["ok"] is True
    edit(book, 3, "rm -rf /")
    [bad] = approve.check_paths(ctx, [book])
    assert not bad.ok and bad.refusals[0].cell == 3


# --- run: every refusal happens before a kernel starts -----------------------------------


def test_run_refuses_a_draft(book: Path) -> None:
    result = invoke("run", str(book))
    assert result.exit_code == 3 and "draft" in result.output


def test_run_refuses_stale(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    edit(book, 3, "echo changed")
    result = invoke("run", str(book))
    assert result.exit_code == 3 and "stale" in result.output


@pytest.mark.parametrize(("name", "message"), [("X;rm", "bad parameter name"),
                                               ("NOPE", "unknown parameter 'NOPE'"),
                                               ("1X", "bad parameter name")])
def test_run_refuses_bad_parameters(book: Path, name: str, message: str) -> None:
    invoke("approve", str(book), "--by", "alice")
    result = invoke("run", str(book), "-p", name, "1")
    assert result.exit_code == 2 and message in result.output


def test_dry_run_prints_commands_in_run_order(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    value = "$(touch /tmp/pwned); rm -rf ~"
    result = invoke("run", str(book.with_suffix(".ipynb")), "--dry-run", "-p", "MSG", value)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"MSG='{value}'" in out
    assert 'echo "\\$(touch /tmp/pwned); rm -rf ~" > "/tmp/x/out"' in out  # as judged
    order = [out.index(s) for s in ("code cell 1", "injected parameters",
                                    "code cell 2 precondition", "code cell 3")]
    assert order == sorted(order)
    assert not (Path(load_context().runbooks) / "records").exists()


def test_dry_run_json(book: Path) -> None:
    invoke("approve", str(book), "--by", "alice")
    data = json.loads(invoke("run", str(book), "--dry-run", "--json").output)
    assert data["status"] == "dry-run"
    assert data["parameters"] == {"DIR": "/tmp/x", "MSG": "hello"}
    assert [c["cell"] for c in data["commands"]] == ["code cell 1", "code cell 2 precondition",
                                                     "code cell 3"]


def test_records_empty(reifier_env: dict[str, str]) -> None:
    assert "no runs" in invoke("records").output
    result = invoke("records", "--verify", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["ok"] is True


def test_approval_reaches_markdown_even_without_pairing_metadata(
    reifier_env: dict[str, str],
) -> None:
    nb = runbook(cell("code", "uptime"))
    del nb["metadata"]["jupytext"]
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "bare.ipynb"
    notebooks.write(nb, path)
    assert invoke("approve", str(path), "--by", "alice").exit_code == 0
    assert notebooks.reifier_meta(notebooks.read(path.with_suffix(".md")))["status"] == "approved"
    assert status(path)["status"] == "approved"


def test_only_the_reifier_bash_kernel_is_approved(reifier_env: dict[str, str]) -> None:
    nb = runbook(cell("code", "print(1)"))
    nb["metadata"]["kernelspec"] = {"name": "python3", "language": "python",
                                    "display_name": "Python 3"}
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "py.ipynb"
    notebooks.write_pair(nb, path)
    result = invoke("approve", str(path), "--by", "alice")
    assert result.exit_code == 2 and "reifier-bash kernel" in result.output


def test_approve_refuses_an_id_another_runbook_has(reifier_env: dict[str, str]) -> None:
    base = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks"
    first, second = base / "approved" / "a.md", base / "drafts" / "b.md"
    notebooks.write_pair(runbook(cell("code", "uptime"), id="disk-full"), first)
    notebooks.write_pair(runbook(cell("code", "df -h"), id="disk-full"), second)
    refused = invoke("approve", str(second), "--by", "alice")
    assert refused.exit_code == 3
    assert "id 'disk-full' is also the id of" in refused.output and "a.ipynb" in refused.output
    assert status(second)["status"] == "draft"
    # the same id in one batch is refused too, before anything is written
    third = base / "drafts" / "c.md"
    notebooks.write_pair(runbook(cell("code", "true"), id="fresh"), third)
    notebooks.write_pair(runbook(cell("code", "false"), id="fresh"), base / "drafts" / "d.md")
    assert invoke("approve", str(third), str(base / "drafts" / "d.md"), "--by", "al").exit_code == 3
    assert status(third)["status"] == "draft"


def test_approve_refuses_a_runbook_with_nothing_to_run(reifier_env: dict[str, str]) -> None:
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts" / "gui.md"
    notebooks.write_pair(runbook(cell("markdown", "I saw no shell commands."),
                                 cell("code", "X=1", "parameters"), id="gui-fix"), path)
    refused = invoke("approve", str(path), "--by", "alice")
    assert refused.exit_code == 3 and "no code cells to run" in refused.output
    ok = invoke("approve", str(path), "--by", "alice", "--allow-empty")
    assert ok.exit_code == 0, ok.output
