"""`reifier import` then `reifier draft`: a real Jupytext pair on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.cli import run


@pytest.fixture
def drafted(reifier_env: dict[str, str], fixtures_dir: Path) -> tuple[dict[str, str], dict[str, object]]:
    run("import", str(fixtures_dir / "histories" / "db_lockup_bash_history"), env=reifier_env)
    sessions = json.loads(run("sessions", "--json", env=reifier_env).stdout)
    lockup = min(sessions, key=lambda s: s["started"])
    out = json.loads(run("draft", lockup["id"], "--json", env=reifier_env).stdout)
    return reifier_env, out


def test_draft_pair_is_valid_and_round_trips(drafted: tuple[dict[str, str], dict[str, object]], tmp_path: Path) -> None:
    import nbformat

    env, out = drafted
    md, ipynb = Path(str(out["md"])), Path(str(out["ipynb"]))
    assert md.parent.name == "drafts" and md.stem == ipynb.stem
    assert out["fix"] == ['systemctl stop "$SERVICE"', 'rm "$LOCK_FILE"', 'systemctl start "$SERVICE"']
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "reifier-bash"
    assert nb.metadata.jupytext.formats == "ipynb,md"
    assert nb.metadata.reifier.status == "draft"
    text = md.read_text()
    for heading in ("# Recover app", "## Symptom", "## Diagnosis", "## Parameters", "## Fix",
                    "## Verify", "## Related files", "## Origin"):
        assert heading in text
    assert "```bash" in text and "```sh\n" not in text
    assert "reifier:" in text.split("---", 2)[1]  # metadata in the Markdown header
    # jupytext --to ipynb of the Markdown gives back the same cells, tags and metadata
    out_nb = tmp_path / "back.ipynb"
    subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", str(md), "-o", str(out_nb)],
                   check=True, capture_output=True)
    back = nbformat.read(out_nb, as_version=4)
    assert back.metadata.reifier == nb.metadata.reifier
    assert [(c.cell_type, c.source, c.metadata) for c in back.cells] == [
        (c.cell_type, c.source, c.metadata) for c in nb.cells
    ]


def test_redrafting_a_session_never_overwrites(drafted: tuple[dict[str, str], dict[str, object]]) -> None:
    env, out = drafted
    md = Path(str(out["md"]))
    md.write_text(md.read_text() + "\nHuman note: check the replica too.\n")
    sessions = json.loads(run("sessions", "--json", env=env).stdout)
    lockup = min(sessions, key=lambda s: s["started"])
    again = json.loads(run("draft", lockup["id"], "--json", env=env).stdout)
    assert again["created"] is False and again["md"] == str(md)
    assert "Human note" in md.read_text()
    assert len(list(md.parent.glob("*.md"))) == 1
    # another symptom without --force is an error, not a silent no-op
    refused = run("draft", lockup["id"], "--symptom", "disk full", env=env, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert "Human note" in md.read_text()
    forced = json.loads(run("draft", lockup["id"], "--force", "--symptom",
                            "ERROR: could not obtain lock on relation orders", "--json",
                            env=env).stdout)
    assert forced["created"] is True and forced["md"] == str(md)
    text = md.read_text()
    assert "Human note" not in text and "could not obtain lock on relation orders" in text
    assert len(list(md.parent.glob("*.md"))) == 1


def test_same_symptom_later_gets_own_draft_linking_earlier(drafted: tuple[dict[str, str], dict[str, object]]) -> None:
    env, first = drafted
    sessions = json.loads(run("sessions", "--json", env=env).stdout)
    later = max(sessions, key=lambda s: s["started"])
    # give both the same symptom: the second links the first
    md1 = Path(str(first["md"]))
    nb1 = json.loads(Path(str(first["ipynb"])).read_text())
    nb1["metadata"]["reifier"]["symptoms"] = ["ERROR: deadlock detected"]
    Path(str(first["ipynb"])).write_text(json.dumps(nb1))
    second = json.loads(run("draft", later["id"], "--symptom", "ERROR: deadlock detected", "--json", env=env).stdout)
    assert second["created"] and second["md"] != str(md1)
    nb2 = json.loads(Path(second["ipynb"]).read_text())
    assert nb2["metadata"]["reifier"]["related_runbooks"] == [first["id"]]


def test_draft_unknown_session_is_exit_2(reifier_env: dict[str, str]) -> None:
    proc = run("draft", "nope", env=reifier_env, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("reifier: error:") and proc.stderr.count("\n") == 1
