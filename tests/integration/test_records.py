"""Run records: the notebook + HTML evidence and the hash-chained index.

Most tests build records from a real executed-looking notebook through the real
writer (nbconvert included) and then tamper with the files the way someone
covering their tracks would; one slow test goes through real runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters import records
from reifier.adapters.settings import Context, load_context
from reifier.adapters.store import Store
from tests.functional.test_approve_cli import invoke
from tests.unit.test_approval import cell, runbook


def executed(text: str = "hello") -> dict[str, Any]:
    """A notebook as papermill leaves it: outputs, line-list sources, Jupytext metadata."""
    nb = runbook(cell("markdown", "# T"), cell("code", "X=1", "parameters"),
                 cell("code", "echo hello"))
    nb["metadata"]["jupytext"] = {"formats": "ipynb,md"}
    nb["cells"][2]["source"] = ["echo ", "hello"]
    nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]
    return nb


def prov(run_id: str, **extra: Any) -> dict[str, Any]:
    """A provenance block like the one execute_runbook writes."""
    return {"run_id": run_id, "runbook": "demo", "title": "Demo", "source": "demo.md",
            "digest": "sha256:" + "a" * 64, "approved_by": "alice",
            "parameters": {"X": "1"}, "given": {}, "trigger": "human", "host": "h",
            "user": "u", "started": "2026-11-24T10:00:00Z", "ended": "2026-11-24T10:00:01Z",
            "status": "ok", "failed_cell": None, "error": "",
            "cells": [{"cell": 1, "index": 1, "status": "ok", "duration": 0.01,
                       "precondition": False}], **extra}


@pytest.fixture
def ctx(reifier_env: dict[str, str]) -> Context:
    """A workspace with three recorded runs."""
    context = load_context()
    for n in range(3):
        records.keep(context, executed(f"out{n}"), prov(f"2026112{n}T100000Z-00000{n}"))
    return context


def problems(ctx: Context) -> list[str]:
    """Run the verifier with the workspace's store."""
    store = Store(ctx.db_path)
    try:
        return records.verify(ctx, store)
    finally:
        store.close()


def index_lines(ctx: Context) -> list[str]:
    """Return the raw index lines."""
    return (records.records_dir(ctx) / records.INDEX).read_text().splitlines()


def test_records_are_plain_notebooks_with_provenance(ctx: Context) -> None:
    line = records.read_index(ctx)[0]
    base = records.records_dir(ctx)
    nb = json.loads((base / line["record"]).read_text())
    assert "jupytext" not in nb["metadata"]
    assert nb["metadata"]["reifier"]["run"]["run_id"] == line["run_id"]
    assert nb["cells"][0]["metadata"]["tags"] == [records.PROVENANCE_TAG]
    assert "sha256:" + "a" * 64 in nb["cells"][0]["source"]
    assert nb["cells"][3]["source"] == "echo hello"
    html = (base / line["html"]).read_text()
    assert "<html" in html and "Run record" in html and "out0" in html
    assert not (base / "demo").with_suffix(".md").exists()


def test_index_is_hash_chained(ctx: Context) -> None:
    lines = [json.loads(raw) for raw in index_lines(ctx)]
    assert lines[0]["prev"] == records.GENESIS
    for before, after in zip(index_lines(ctx), lines[1:], strict=False):
        assert after["prev"] == records._line_sha(before)
    assert set(lines[0]["sha256"]) == {"ipynb", "html"}
    assert problems(ctx) == []


def test_hostile_trigger_is_escaped_in_the_html(reifier_env: dict[str, str]) -> None:
    context = load_context()
    hostile = "<script>alert(1)</script> | `x`"
    records.keep(context, executed(), prov("20261124T100000Z-abcdef", trigger=hostile))
    line = records.read_index(context)[0]
    html = (records.records_dir(context) / line["html"]).read_text()
    assert "<script>alert(1)</script>" not in html
    assert line["trigger"] == hostile


def test_modified_html_is_detected(ctx: Context) -> None:
    line = records.read_index(ctx)[1]
    page = records.records_dir(ctx) / line["html"]
    page.write_text(page.read_text().replace("out1", "all fine"))
    assert problems(ctx) == [f"run {line['run_id']}: {line['html']} was modified"]


def test_deleted_record_is_detected(ctx: Context) -> None:
    line = records.read_index(ctx)[0]
    (records.records_dir(ctx) / line["record"]).unlink()
    assert problems(ctx) == [f"run {line['run_id']}: {line['record']} is missing"]


def test_edited_index_line_is_detected(ctx: Context) -> None:
    raw = index_lines(ctx)
    run_id = json.loads(raw[1])["run_id"]
    raw[1] = raw[1].replace('"status":"ok"', '"status":"failed"')
    (records.records_dir(ctx) / records.INDEX).write_text("\n".join(raw) + "\n")
    assert problems(ctx) == [f"index line 2 (run {run_id}): its fields do not match its hash "
                             "(edited after it was written)",
                             "index line 3 does not chain to the line before it "
                             "(a line was edited, inserted or removed)"]


def test_removed_middle_line_is_detected(ctx: Context) -> None:
    raw = index_lines(ctx)
    del raw[1]
    (records.records_dir(ctx) / records.INDEX).write_text("\n".join(raw) + "\n")
    found = problems(ctx)
    assert any("index line 2 does not chain" in p for p in found)
    assert any("is not in the index" in p for p in found)


def test_removed_last_line_and_its_files_is_caught_by_the_store(ctx: Context) -> None:
    raw = index_lines(ctx)
    last = json.loads(raw.pop())
    (records.records_dir(ctx) / records.INDEX).write_text("\n".join(raw) + "\n")
    for rel in (last["record"], last["html"]):
        (records.records_dir(ctx) / rel).unlink()
    assert problems(ctx) == [f"run {last['run_id']} is in the store but not in the index "
                             "(index truncated?)",
                             f"the index has 2 line(s) but the store anchored 3 (last run "
                             f"{last['run_id']}): runs were removed (index truncated or wiped)"]


def test_garbage_line_is_detected(ctx: Context) -> None:
    with (records.records_dir(ctx) / records.INDEX).open("a") as fh:
        fh.write("not json\n")
    assert problems(ctx) == ["index line 4: not a valid record line"]


def test_records_cli_lists_and_verifies(ctx: Context) -> None:
    listed = json.loads(invoke("records", "--json").stdout)
    assert [r["run_id"] for r in listed] == [json.loads(x)["run_id"] for x in index_lines(ctx)]
    verified = invoke("records", "--verify").stdout
    assert "3 runs" in verified and verified.count("signed by host:") == 3
    (records.records_dir(ctx) / listed[0]["html"]).write_text("tampered")
    result = invoke("records", "--verify")
    assert result.exit_code == 1
    assert "was modified" in result.stdout


def test_bad_runbook_id_cannot_escape_the_records_dir(reifier_env: dict[str, str]) -> None:
    from reifier.errors import BadInput

    with pytest.raises(BadInput):
        records.record_paths(load_context(), "../../etc", "r1")


@pytest.mark.slow
def test_real_runs_are_listed_and_verified(
    reifier_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reifier.adapters import notebooks

    monkeypatch.setenv("JUPYTER_PATH", str(Path(__file__).resolve().parents[2]))
    path = load_context().runbooks / "approved" / "two.md"
    notebooks.write_pair(runbook(cell("code", "N=1", "parameters"),
                                 cell("code", 'echo "n=$N"; test "$N" != 2')), path)
    assert invoke("approve", str(path), "--by", "alice").exit_code == 0
    assert invoke("run", str(path)).exit_code == 0
    assert invoke("run", str(path), "-p", "N", "2").exit_code == 1
    listed = json.loads(invoke("records", "--json").stdout)
    assert [r["status"] for r in listed] == ["ok", "failed"]
    assert invoke("records", "--verify").exit_code == 0
    html = (records.records_dir(load_context()) / listed[1]["html"]).read_text()
    assert "n=2" in html and "failed" in html
