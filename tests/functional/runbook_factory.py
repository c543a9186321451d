"""Build real runbook pairs on disk for tests (through the same writer the scribe uses)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from reifier.adapters.notebooks import draft_to_notebook, write_pair
from reifier.core.constraints import propose
from reifier.core.models import DraftCell, RunbookDraft
from reifier.core.params import render_parameters_cell


def make_runbook(
    ws: Path,
    rid: str,
    *,
    symptoms: Sequence[str] = (),
    cells: Sequence[str] = ("echo fixed",),
    params: dict[str, str] | None = None,
    autonomy: str = "suggest",
    alerts: Sequence[dict[str, str]] = (),
    session_user: str = "alice",
    folder: str = "drafts",
    constraints: dict[str, object] | None = None,
) -> Path:
    """Write runbooks/<folder>/<rid>.md + .ipynb and return the .md path.

    Parameters get the constraints a draft would propose for their values unless
    ``constraints`` says otherwise (``{}``: none).
    """
    body = [DraftCell("markdown", f"# {rid}")]
    body.append(DraftCell("code", render_parameters_cell(params or {}), tags=("parameters",)))
    body += [DraftCell("code", src, tags=("fix",), meta={"role": "fix"}) for src in cells]
    meta: dict[str, object] = {
        "id": rid, "title": rid, "status": "draft", "symptoms": list(symptoms),
        "alerts": [dict(a) for a in alerts], "autonomy": autonomy,
        "session": {"id": "s-" + rid, "host": "h", "user": session_user},
    }
    if constraints is None:
        constraints = {n: c for n, v in (params or {}).items() if (c := propose(n, v))}
    if constraints:
        meta["parameters"] = constraints
    md, _ = write_pair(draft_to_notebook(RunbookDraft(rid, rid, tuple(body), meta)),
                       ws / "runbooks" / folder / f"{rid}.ipynb")
    return md


def approve(env: dict[str, str], *paths: Path, by: str = "bob", second: str = "carol") -> None:
    """Approve runbooks with the real CLI; ``autonomy: auto`` ones get a second approver
    (another principal with another key), as four-eyes requires."""
    cmd = [sys.executable, "-m", "reifier", "approve"]
    subprocess.run([*cmd, *map(str, paths), "--by", by], env=env, check=True,
                   capture_output=True, text=True)
    auto = [p for p in paths if "autonomy: auto" in p.with_suffix(".md").read_text()]
    if auto:
        env2 = {**env, "REIFIER_SIGNING_KEY": env["REIFIER_TEST_SECOND_KEY"]}
        subprocess.run([*cmd, *map(str, auto), "--by", second], env=env2, check=True,
                       capture_output=True, text=True)
