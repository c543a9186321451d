"""Authors proven by a signature, revocations signed and sticky (issue 15), with real keys.

The author four-eyes excludes is whoever signed the draft (``reifier-author``),
not the editable ``session.user``; a revoke is a record signed in
``reifier-revoke`` that names its principal and key, and one that does not
verify is reported but still blocks.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reifier.adapters import notebooks
from reifier.adapters.settings import load_context
from reifier.adapters.sshsig import SshSigner, SshVerifier, fingerprint
from reifier.cli import cli
from reifier.core import approval as ap
from tests.functional.cli import run
from tests.functional.test_ssh_approval import keygen, pub
from tests.unit.test_approval import cell, runbook

ALL_NS = 'namespaces="reifier-approval,reifier-author,reifier-revoke"'
AT = "2026-12-03T10:00:00Z"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def trust_all(ws: Path, *keys: Path) -> Path:
    """Trust ``keys`` for any principal in approvals, authorship and revocations."""
    path = ws / "runbooks" / "allowed_signers"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"* {ALL_NS} {pub(k)}\n" for k in keys))
    return path


def book(autonomy: str = "auto", user: str = "someone-else") -> dict[str, Any]:
    return runbook(cell("code", "X=1", "parameters", cid="p"), cell("code", "df -h", cid="c"),
                   id="fix-disk", autonomy=autonomy, session={"id": "s-1", "user": user})


def authored(nb: dict[str, Any], who: str, key: Path) -> dict[str, Any]:
    return ap.sign_authorship(nb, who, SshSigner(key, ap.AUTHOR_NAMESPACE))


def approve(nb: dict[str, Any], who: str, key: Path) -> dict[str, Any]:
    return ap.approve(nb, by=who, at=AT, allow={}, key=SshSigner(key))


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("people")
    return {name: keygen(folder, name) for name in ("erin", "bob", "carol")}


@pytest.fixture
def signers(people: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f"erin,eve {ALL_NS} {pub(people['erin'])}\n"
                    f"bob {ALL_NS} {pub(people['bob'])}\n"
                    f"carol {ALL_NS} {pub(people['carol'])}\n")
    return path


def checks(signers: Path) -> tuple[SshVerifier, SshVerifier]:
    return SshVerifier(signers), SshVerifier(signers, namespace=ap.AUTHOR_NAMESPACE)


def test_the_signed_author_is_excluded_whatever_session_user_says(
        people: dict[str, Path], signers: Path) -> None:
    verifier, author_check = checks(signers)
    nb = authored(book(), "erin", people["erin"])
    erin_fp = fingerprint(people["erin"])
    writer = ap.established_author(nb, author_check)
    assert (writer.principal, writer.fingerprint) == ("erin", erin_fp)
    # erin's own signature does not count, though session.user names someone else
    both = approve(approve(nb, "erin", people["erin"]), "carol", people["carol"])
    state = ap.verify(both, verifier, author_check=author_check)
    assert state.status == "needs-signatures"
    assert f"none of them the author erin ({erin_fp})" in state.reason
    # the same key under another principal name (eve) is still the author
    alias = approve(approve(nb, "eve", people["erin"]), "carol", people["carol"])
    assert ap.verify(alias, verifier, author_check=author_check).status == "needs-signatures"
    # without the authorship check, only the editable session.user was excluded
    assert ap.verify(both, verifier).ok
    # two people who did not write it
    good = approve(approve(nb, "bob", people["bob"]), "carol", people["carol"])
    assert ap.verify(good, verifier, author_check=author_check).ok
    # editing the draft afterwards keeps its author: drafts are meant to be edited
    edited = authored(book(), "erin", people["erin"])
    edited["cells"][1]["source"] = "df -h /var"
    assert ap.established_author(edited, author_check).principal == "erin"


@pytest.mark.parametrize(("tamper", "why"), [
    (lambda a, m: a.update(principal="carol"), "does not verify"),
    (lambda a, m: m["session"].update(id="s-2"), "is for session 's-1'"),
    (lambda a, m: a.update(runbook="other"), "does not verify"),
    (lambda a, m: a.update(signature="junk"), "does not verify"),
])
def test_an_authorship_that_does_not_verify_falls_back_to_session_user(
        people: dict[str, Path], signers: Path, tamper: Any, why: str) -> None:
    _, author_check = checks(signers)
    nb = authored(book(user="dan"), "erin", people["erin"])
    info = nb["metadata"]["reifier"]
    tamper(info["authorship"], info)
    writer = ap.established_author(nb, author_check)
    assert writer.principal == "dan" and writer.fingerprint == ""
    assert "session.user" in writer.reason and why in writer.reason
    assert "dan (session.user" in writer.describe()


def test_no_authorship_is_the_session_user_and_says_so(signers: Path) -> None:
    writer = ap.established_author(book(user="dan"), checks(signers)[1])
    assert writer.principal == "dan" and "no authorship signature" in writer.reason


def test_a_draft_is_signed_by_its_engineer(reifier_env: dict[str, str], fixtures_dir: Path,
                                           approver_key: Path, second_key: Path) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    signers = trust_all(ws, approver_key, second_key)
    env = {**reifier_env, "USER": "erin"}
    run("import", str(fixtures_dir / "histories" / "db_lockup_bash_history"), env=env)
    sessions = json.loads(run("sessions", "--json", env=env).stdout)
    first = min(sessions, key=lambda s: s["started"])
    out = json.loads(run("draft", first["id"], "--json", env=env).stdout)
    md = Path(out["md"]) if "md" in out else next((ws / "runbooks" / "drafts").glob("*.md"))
    for path in (md, md.with_suffix(".ipynb")):  # both twins carry it (Jupytext keeps it)
        nb = notebooks.read(path)
        block = nb["metadata"]["reifier"]["authorship"]
        assert block["principal"] == "erin"
        assert block["fingerprint"] == fingerprint(approver_key)
        writer = ap.established_author(nb, checks(signers)[1])
        assert (writer.principal, writer.fingerprint) == ("erin", fingerprint(approver_key))
    text = run("status", str(md), env=env).stdout
    assert f"author: erin ({fingerprint(approver_key)})" in text


def test_no_key_means_an_unsigned_draft(reifier_env: dict[str, str], fixtures_dir: Path,
                                        tmp_path: Path) -> None:
    env = {**reifier_env, "REIFIER_SIGNING_KEY": str(tmp_path / "no-such-key")}
    run("import", str(fixtures_dir / "histories" / "db_lockup_bash_history"), env=env)
    sessions = json.loads(run("sessions", "--json", env=env).stdout)
    run("draft", min(sessions, key=lambda s: s["started"])["id"], env=env)
    drafts = list((Path(env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts").glob("*.ipynb"))
    assert drafts and "authorship" not in notebooks.read(drafts[0])["metadata"]["reifier"]


def test_the_author_approving_their_auto_runbook_is_refused(
        reifier_env: dict[str, str], approver_key: Path, second_key: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    trust_all(ws, approver_key, second_key)
    path = ws / "runbooks" / "approved" / "fix-disk.md"
    notebooks.write_pair(authored(book(), "erin", approver_key), path)
    refused = invoke("approve", str(path), "--by", "erin")
    assert refused.exit_code == 3
    assert "erin is the author of this autonomy: auto runbook (erin (SHA256:" in refused.output
    other_name = invoke("approve", str(path), "--by", "bob")  # erin's key, another name
    assert other_name.exit_code == 3
    assert f"key {fingerprint(approver_key)} signed this autonomy: auto" in other_name.output
    monkeypatch.setenv("REIFIER_SIGNING_KEY", str(second_key))
    assert invoke("approve", str(path), "--by", "carol").exit_code == 0
    data = json.loads(invoke("status", str(path), "--json").output)[0]
    assert data["status"] == "needs-signatures"
    assert data["author"]["principal"] == "erin"
    assert data["approval"]["signatures"][0]["fingerprint"] == fingerprint(second_key)


# --- revocations ---------------------------------------------------------------------


@pytest.fixture
def approved(reifier_env: dict[str, str], approver_key: Path, second_key: Path) -> Path:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    trust_all(ws, approver_key, second_key)
    path = ws / "runbooks" / "approved" / "fix-disk.md"
    notebooks.write_pair(book(autonomy="suggest", user="dan"), path)
    assert invoke("approve", str(path), "--by", "alice").exit_code == 0
    return path


def _restore(path: Path, saved: Path) -> None:
    for suffix in (".md", ".ipynb"):
        shutil.copy(saved.with_suffix(suffix), path.with_suffix(suffix))


def test_a_revoke_is_signed_shown_and_sticks(approved: Path, approver_key: Path,
                                             tmp_path: Path) -> None:
    saved = tmp_path / "saved.md"
    for suffix in (".md", ".ipynb"):
        shutil.copy(approved.with_suffix(suffix), saved.with_suffix(suffix))
    fp = fingerprint(approver_key)
    out = invoke("approve", "--revoke", str(approved), "--by", "dave")
    assert out.exit_code == 0
    assert f"revoked by dave ({fp}); back to draft" in out.output
    text = invoke("status", str(approved)).output
    assert "draft" in text and f"revoked by dave ({fp})" in text
    _restore(approved, saved)  # the approved copy comes back from git: still revoked
    data = json.loads(invoke("status", str(approved), "--json").output)[0]
    assert data["status"] == "revoked" and f"revoked by dave ({fp})" in data["reason"]
    assert data["revocation"]["problem"] == ""
    check = invoke("check", str(approved))
    assert check.exit_code != 0 and f"dave ({fp})" in check.output


def test_a_revocation_that_does_not_verify_is_reported_and_still_blocks(
        approved: Path, reifier_env: dict[str, str], tmp_path: Path) -> None:
    saved = tmp_path / "saved.md"
    for suffix in (".md", ".ipynb"):
        shutil.copy(approved.with_suffix(suffix), saved.with_suffix(suffix))
    assert invoke("approve", "--revoke", str(approved), "--by", "dave").exit_code == 0
    db = sqlite3.connect(load_context(reifier_env["REIFIER_WORKSPACE"]).db_path)
    with db:
        db.execute("UPDATE approvals SET by = 'mallory' WHERE action = 'revoke'")
    db.close()
    _restore(approved, saved)
    data = json.loads(invoke("status", str(approved), "--json").output)[0]
    assert data["status"] == "revoked"
    assert "revoked by mallory (claimed key SHA256:" in data["reason"]
    assert "the revocation's signature does not verify" in data["reason"]


def test_a_revocation_outside_allowed_signers_namespaces_is_reported(
        approved: Path, reifier_env: dict[str, str], approver_key: Path) -> None:
    signers = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks" / "allowed_signers"
    out = invoke("approve", "--revoke", str(approved), "--by", "dave")
    assert out.exit_code == 0
    signers.write_text(f'* namespaces="reifier-approval" {pub(approver_key)}\n')
    text = invoke("status", str(approved)).output
    assert "revoked by dave" in text and "does not verify" in text
