"""Approvals as OpenSSH signatures, checked with real ``ssh-keygen`` keys (issue 15).

Every refusal is a one-line reason naming the principal and the key.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reifier.adapters.sshsig import SshSigner, SshVerifier
from reifier.cli import cli
from reifier.core import approval as ap
from tests.unit.test_approval import cell, runbook

NS = 'namespaces="reifier-approval"'


def keygen(folder: Path, name: str, kind: str = "ed25519") -> Path:
    key = folder / name
    bits = ["-b", "3072"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key


def pub(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text().strip()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    out = {"alice": keygen(folder, "alice"), "bob": keygen(folder, "bob", "ecdsa"),
           "carol": keygen(folder, "carol", "rsa"), "mallory": keygen(folder, "mallory"),
           "ca": keygen(folder, "ca"), "dave": keygen(folder, "dave")}
    subprocess.run(["ssh-keygen", "-q", "-s", str(out["ca"]), "-I", "dave", "-n", "dave",
                    "-V", "-1d:+1d", str(out["dave"]) + ".pub"], check=True)
    out["dave-cert"] = folder / "dave-cert.pub"
    return out


def signers_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text("\n".join(lines) + "\n")
    return path


def book(autonomy: str = "suggest", rid: str = "fix-disk", engineer: str = "erin") -> dict[str, Any]:
    return runbook(cell("code", "X=1", "parameters"), cell("code", "df -h"), id=rid,
                   autonomy=autonomy, session={"user": engineer})


def sign(nb: dict[str, Any], who: str, key: Path) -> dict[str, Any]:
    return ap.approve(nb, by=who, at="2026-12-03T10:00:00Z", allow={}, key=SshSigner(key))


def test_good_signatures_of_each_key_type_verify(keys: dict[str, Path], tmp_path: Path) -> None:
    verifier = SshVerifier(signers_file(tmp_path, [
        f"alice {NS} {pub(keys['alice'])}", f"bob {NS} {pub(keys['bob'])}",
        f"carol {NS} {pub(keys['carol'])}",
        f"dave cert-authority,{NS} {pub(keys['ca'])}"]))
    for who, key in (("alice", keys["alice"]), ("bob", keys["bob"]), ("carol", keys["carol"]),
                     ("dave", keys["dave-cert"])):
        state = ap.verify(sign(book(), who, key), verifier)
        assert state.status == "approved", (who, state.reason)
        assert who in state.reason and "SHA256:" in state.reason


@pytest.mark.parametrize(("line", "why"), [
    ('alice namespaces="git" {alice}', "namespace"),
    ('alice {ns},valid-before="20200101" {alice}', "expired"),
    ("bob {ns} {alice}", "principal not allowed"),
])
def test_refused_signatures(keys: dict[str, Path], tmp_path: Path, line: str, why: str) -> None:
    text = line.format(ns=NS, alice=pub(keys["alice"]))
    state = ap.verify(sign(book(), "alice", keys["alice"]), SshVerifier(signers_file(tmp_path,
                                                                                     [text])))
    assert state.status == "bad-signature", why
    assert state.reason.startswith("alice's signature (SHA256:") and "\n" not in state.reason


def test_a_revoked_key_is_refused(keys: dict[str, Path], tmp_path: Path) -> None:
    allowed = signers_file(tmp_path, [f"alice {NS} {pub(keys['alice'])}"])
    revoked = tmp_path / "revoked.krl"
    subprocess.run(["ssh-keygen", "-q", "-k", "-f", str(revoked),
                    str(keys["alice"]) + ".pub"], check=True)
    nb = sign(book(), "alice", keys["alice"])
    assert ap.verify(nb, SshVerifier(allowed)).ok
    state = ap.verify(nb, SshVerifier(allowed, revoked))
    assert state.status == "bad-signature" and "revoked" in state.reason.lower()


def test_a_signature_cannot_move_to_another_runbook(keys: dict[str, Path], tmp_path: Path) -> None:
    verifier = SshVerifier(signers_file(tmp_path, [f"alice {NS} {pub(keys['alice'])}"]))
    signed = sign(book(rid="a"), "alice", keys["alice"])
    other = sign(book(rid="b"), "alice", keys["alice"])
    # copy a's signature block into b: it covers a's digest, not b's
    stolen = json.loads(json.dumps(other))
    stolen["metadata"]["reifier"]["approval"]["signatures"] = (
        signed["metadata"]["reifier"]["approval"]["signatures"])
    assert ap.verify(stolen, verifier).status == "bad-signature"
    # and a's whole approval block on b's code: the digest no longer matches
    stolen["metadata"]["reifier"]["approval"] = signed["metadata"]["reifier"]["approval"]
    assert ap.verify(stolen, verifier).status in {"stale", "bad-signature"}


def test_auto_needs_two_distinct_principals_with_distinct_keys_not_the_author(
        keys: dict[str, Path], tmp_path: Path) -> None:
    verifier = SshVerifier(signers_file(tmp_path, [
        f"alice,alias {NS} {pub(keys['alice'])}", f"bob {NS} {pub(keys['bob'])}",
        f"erin {NS} {pub(keys['mallory'])}"]))
    one = sign(book("auto"), "alice", keys["alice"])
    state = ap.verify(one, verifier)
    assert state.status == "needs-signatures" and "needs 2 signatures" in state.reason
    same_key = sign(one, "alias", keys["alice"])  # one key under two names: one approver
    assert ap.verify(same_key, verifier).status == "needs-signatures"
    author = sign(one, "erin", keys["mallory"])  # the session's engineer does not count
    assert ap.verify(author, verifier).status == "needs-signatures"
    two = sign(one, "bob", keys["bob"])
    state = ap.verify(two, verifier)
    assert state.ok and "alice" in state.reason and "bob" in state.reason
    # editing any signed field (here the id) voids every signature's digest
    edited = json.loads(json.dumps(two))
    edited["metadata"]["reifier"]["alert_params"] = {"X": "instance"}
    assert ap.verify(edited, verifier).status == "stale"


def test_a_verifier_alone_cannot_approve(reifier_env: dict[str, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server holding only allowed_signers has no key to sign with."""
    path = Path(reifier_env["REIFIER_WORKSPACE"]) / "runbooks" / "drafts" / "x.md"
    from reifier.adapters import notebooks

    notebooks.write_pair(book(), path)
    monkeypatch.setenv("REIFIER_SIGNING_KEY", str(tmp_path / "no-such-key"))
    result = CliRunner().invoke(cli, ["approve", str(path), "--by", "alice"])
    assert result.exit_code == 2 and "no SSH key" in result.stderr
    status = CliRunner().invoke(cli, ["status", str(path), "--json"])
    assert json.loads(status.stdout)[0]["status"] == "draft"


def test_cli_approve_status_and_run_refusal_name_principal_and_key(
        reifier_env: dict[str, str], keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    (ws / "runbooks" / "allowed_signers").write_text(f"alice {NS} {pub(keys['alice'])}\n")
    monkeypatch.setenv("REIFIER_SIGNING_KEY", str(keys["alice"]))
    from reifier.adapters import notebooks

    path = ws / "runbooks" / "approved" / "x.md"
    notebooks.write_pair(book(), path)
    bob = CliRunner().invoke(cli, ["approve", str(path), "--by", "bob"])  # alice's key, bob's name
    assert bob.exit_code == 0  # signing works; verification is what counts
    status = json.loads(CliRunner().invoke(cli, ["status", str(path), "--json"]).stdout)[0]
    assert status["status"] == "bad-signature" and "bob's signature (SHA256:" in status["reason"]
    run = CliRunner().invoke(cli, ["run", str(path), "--dry-run"])
    assert run.exit_code == 3 and "bob's signature" in run.stderr
    assert CliRunner().invoke(cli, ["approve", str(path), "--by", "alice"]).exit_code == 0
    status = json.loads(CliRunner().invoke(cli, ["status", str(path), "--json"]).stdout)[0]
    assert status["status"] == "approved", status
