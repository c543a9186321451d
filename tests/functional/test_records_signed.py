"""Signed, anchored run evidence: each manipulation of issue 15 is caught by ``--verify``.

Real ``ssh-keygen`` keys throughout. The attacker in these tests can write the
workspace (index, records, allowed_signers is reviewed so it stays honest) and
knows the format: they recompute hashes and chains, and sign with keys of their
own. What they do not have is this host's key or the store under REIFIER_HOME.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters import records
from reifier.adapters.settings import Context, load_context
from reifier.adapters.sshsig import SshSigner, fingerprint
from reifier.adapters.store import Store
from tests.functional.test_approve_cli import invoke
from tests.integration.test_records import executed, prov

PRINCIPAL = f"host:{socket.gethostname()}"


@pytest.fixture
def ctx(reifier_env: dict[str, str]) -> Context:
    """A workspace with three honest runs: ok, ok, failed (the last one)."""
    context = load_context()
    for n, status in enumerate(("ok", "ok", "failed")):
        records.keep(context, executed(f"out{n}"),
                     prov(f"2026112{n}T100000Z-00000{n}", status=status))
    return context


def keygen(path: Path) -> Path:
    """Make a fresh ed25519 key (someone else's: not this host's, not in allowed_signers)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "evil", "-f", str(path)],
                   check=True)
    return path


def lines(ctx: Context) -> list[dict[str, Any]]:
    return [json.loads(x) for x in index_path(ctx).read_text().splitlines()]


def index_path(ctx: Context) -> Path:
    return records.records_dir(ctx) / records.INDEX


def write_lines(ctx: Context, parsed: list[dict[str, Any]]) -> None:
    index_path(ctx).write_text("".join(records._canonical(x) + "\n" for x in parsed))


def reseal(line: dict[str, Any], key: Path | None = None) -> dict[str, Any]:
    """Recompute the line's hash over all its fields; re-sign with ``key`` (or drop the sig)."""
    line = {k: v for k, v in line.items() if k not in ("hash", "sig", "sig_error")}
    if key is not None:
        line["key"] = fingerprint(key)
    body = records.line_body(line)
    line["hash"] = hashlib.sha256(body.encode()).hexdigest()
    line["sig"] = SshSigner(key, records.RECORD_NAMESPACE)(body)[0] if key else ""
    return line


def rechain(parsed: list[dict[str, Any]], key: Path | None = None,
            start: int = 0) -> list[dict[str, Any]]:
    """Recompute every ``prev`` and hash from line ``start`` on, the way a forger would."""
    out = parsed[:start]
    for line in parsed[start:]:
        prev = records._line_sha(records._canonical(out[-1])) if out else records.GENESIS
        out.append(reseal({**line, "prev": prev}, key))
    return out


def check(ctx: Context) -> records.Verification:
    store = Store(ctx.db_path)
    try:
        return records.check(ctx, store)
    finally:
        store.close()


def fabricated_files(ctx: Context, run_id: str) -> dict[str, Any]:
    """Write a plausible record + HTML for a run that never happened; return its index fields."""
    base = records.records_dir(ctx)
    ipynb, page = records.record_paths(ctx, "demo", run_id)
    ipynb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    page.write_text("<html>all fine</html>")
    return {"run_id": run_id, "runbook": "demo", "status": "ok", "trigger": "human",
            "started": "2026-11-24T10:00:00Z", "ended": "2026-11-24T10:00:01Z",
            "digest": "sha256:" + "a" * 64, "record": str(ipynb.relative_to(base)),
            "html": str(page.relative_to(base)),
            "sha256": {"ipynb": records.sha256_file(ipynb), "html": records.sha256_file(page)}}


def test_honest_runs_verify_and_name_their_signer(ctx: Context) -> None:
    key = records.host_key_path(ctx)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    found = check(ctx)
    assert found.problems == []
    assert found.anchored == 3
    assert [(r.principal, r.fingerprint, r.trusted_by) for r in found.runs] == \
        [(PRINCIPAL, fingerprint(key), "this host")] * 3
    assert all(line["signer"] == PRINCIPAL and line["sig"].startswith("-----BEGIN SSH SIGNATURE")
               for line in lines(ctx))
    result = invoke("records", "--verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(f"signed by {PRINCIPAL} ({fingerprint(key)}, trusted: this host)") \
        == 3
    assert "3 runs, chain, hashes and signatures verified, chain head anchored" in result.stdout


def test_flipping_the_last_status_is_detected(ctx: Context) -> None:
    parsed = lines(ctx)
    parsed[-1]["status"] = "ok"  # the hole found by hand: the last line had no successor
    write_lines(ctx, parsed)
    rid = parsed[-1]["run_id"]
    assert check(ctx).problems == [
        f"index line 3 (run {rid}): its fields do not match its hash (edited after it was "
        "written)",
        f"index line 3 is not the line the store anchored (run {rid}): the index was "
        "rewritten or re-chained"]


def test_flipping_the_last_status_and_recomputing_the_hash_is_detected(ctx: Context) -> None:
    parsed = lines(ctx)
    parsed[-1]["status"] = "ok"
    parsed[-1] = reseal(parsed[-1])  # hash recomputed; the signature cannot be
    write_lines(ctx, parsed)
    found = check(ctx)
    assert f"index line 3 (run {parsed[-1]['run_id']}): unsigned (no signature)" in found.problems
    assert any("not the line the store anchored" in p for p in found.problems)
    result = invoke("records", "--verify")
    assert result.exit_code == 1
    assert f"{parsed[-1]['run_id']}  demo  ok            NOT TRUSTED" in result.stdout
    assert len([x for x in result.stdout.splitlines() if x.startswith("ALTERED:")]) == 2


def test_rewriting_a_failed_run_and_rechaining_everything_is_detected(
        ctx: Context, tmp_path: Path) -> None:
    """The forger rewrites the failure as ok and re-signs every line with their own key."""
    evil = keygen(tmp_path / "evil")
    parsed = lines(ctx)
    parsed[-1]["status"] = "ok"
    forged = rechain([{**x, "signer": PRINCIPAL} for x in parsed], evil)
    write_lines(ctx, forged)
    found = check(ctx)
    assert [r.trusted_by for r in found.runs] == ["", "", ""]
    untrusted = [p for p in found.problems if "not trusted" in p]
    assert len(untrusted) == 3
    assert f"signature by {PRINCIPAL} ({fingerprint(evil)}) not trusted" in untrusted[0]
    assert "not in allowed_signers" in untrusted[0]  # the reason, without the temp file name
    assert any("index line 3 is not the line the store anchored" in p for p in found.problems)


def test_resigning_with_a_key_trusted_only_for_approvals_is_detected(
        ctx: Context, approver_key: Path) -> None:
    """allowed_signers trusts the approver's key for namespace reifier-approval only."""
    parsed = lines(ctx)
    parsed[-1]["status"] = "ok"
    parsed[-1] = reseal(parsed[-1], approver_key)
    write_lines(ctx, parsed)
    found = check(ctx)
    assert found.runs[-1].trusted_by == ""
    assert any(p.startswith(f"index line 3 (run {parsed[-1]['run_id']}): signature by "
                            f"{PRINCIPAL} ({fingerprint(approver_key)}) not trusted")
               for p in found.problems), found.problems


def test_appending_a_fabricated_ok_run_is_detected(ctx: Context, tmp_path: Path) -> None:
    parsed = lines(ctx)
    fake = fabricated_files(ctx, "20261124T110000Z-fa4e00")
    # fresh chain hash, hash over every field, no signature: only the host key could sign
    unsigned = rechain([*parsed, {**fake, "signer": PRINCIPAL,
                                  "key": parsed[0]["key"]}], start=3)
    write_lines(ctx, unsigned)
    assert check(ctx).problems == [
        "index line 4 (run 20261124T110000Z-fa4e00): unsigned (no signature)"]
    # ... and signed with a key of their own, claiming this host's principal
    evil = keygen(tmp_path / "evil")
    write_lines(ctx, rechain(unsigned, evil, start=3))
    found = check(ctx)
    assert len(found.problems) == 1
    assert found.problems[0].startswith("index line 4 (run 20261124T110000Z-fa4e00): signature "
                                        f"by {PRINCIPAL} ({fingerprint(evil)}) not trusted")
    assert [r.trusted_by for r in found.runs] == ["this host"] * 3 + [""]


def test_wiping_index_records_and_executions_is_detected(ctx: Context) -> None:
    base = records.records_dir(ctx)
    for file in base.glob("*/*"):
        file.unlink()
    index_path(ctx).unlink()
    store = Store(ctx.db_path)
    store.db.execute("DELETE FROM nodes WHERE kind = 'Execution'")
    store.close()
    assert check(ctx).problems == [
        "the index has 0 line(s) but the store anchored 3 (last run 20261122T100000Z-000002): "
        "runs were removed (index truncated or wiped)"]
    result = invoke("records", "--verify")
    assert result.exit_code == 1
    assert "intact" not in result.stdout


def test_truncating_the_last_line_is_detected(ctx: Context) -> None:
    raw = index_path(ctx).read_text().splitlines()
    last = json.loads(raw.pop())
    index_path(ctx).write_text("\n".join(raw) + "\n")
    for rel in (last["record"], last["html"]):  # a careful forger removes the files too
        (records.records_dir(ctx) / rel).unlink()
    store = Store(ctx.db_path)
    store.db.execute("DELETE FROM nodes WHERE kind = 'Execution' AND key = ?", (last["run_id"],))
    store.close()
    assert check(ctx).problems == [
        f"the index has 2 line(s) but the store anchored 3 (last run {last['run_id']}): "
        "runs were removed (index truncated or wiped)"]


def test_replacing_the_last_run_with_a_forged_one_is_detected(
        ctx: Context, tmp_path: Path) -> None:
    """Same length as anchored, chain intact, files consistent: the anchor still disagrees."""
    parsed = lines(ctx)
    failed = parsed.pop()
    for rel in (failed["record"], failed["html"]):
        (records.records_dir(ctx) / rel).unlink()
    store = Store(ctx.db_path)
    store.db.execute("DELETE FROM nodes WHERE kind = 'Execution' AND key = ?",
                     (failed["run_id"],))
    store.close()
    evil = keygen(tmp_path / "evil")
    fake = {**fabricated_files(ctx, "20261124T120000Z-0000aa"), "signer": PRINCIPAL}
    write_lines(ctx, rechain([*parsed, fake], evil, start=2))
    found = check(ctx)
    assert len(found.problems) == 2, found.problems
    assert "index line 3 (run 20261124T120000Z-0000aa): signature by" in found.problems[0]
    assert found.problems[1] == (f"index line 3 is not the line the store anchored (run "
                                 f"{failed['run_id']}): the index was rewritten or re-chained")


def test_a_host_key_swapped_in_is_not_trusted(ctx: Context, tmp_path: Path) -> None:
    key = records.host_key_path(ctx)
    registered = fingerprint(key)
    evil = keygen(tmp_path / "evil")
    key.write_bytes(evil.read_bytes())
    key.chmod(0o600)
    key.with_name(key.name + ".pub").write_bytes(evil.with_suffix(".pub").read_bytes())
    records.keep(ctx, executed("later"), prov("20261124T130000Z-000003"))
    found = check(ctx)
    assert found.runs[-1].fingerprint == fingerprint(evil)
    assert found.runs[-1].trusted_by == ""
    assert f"host key {key} is {fingerprint(evil)}, not the key this store registered " \
        f"({registered}): it was replaced" in found.problems


def test_other_hosts_verify_with_public_keys_only(ctx: Context, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another host (its own REIFIER_HOME and store) trusts the runs via allowed_signers."""
    printed = invoke("records", "--host-key")
    assert printed.exit_code == 0
    line = printed.stdout.strip()
    assert line.startswith(f'{PRINCIPAL} namespaces="reifier-record" ssh-ed25519 ')
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("REIFIER_HOME", str(other))
    there = load_context()
    found = check(there)
    assert len(found.problems) == 3 and all("not trusted" in p for p in found.problems)
    signers = there.workspace / "runbooks" / "allowed_signers"
    with signers.open("a") as fh:
        fh.write(line + "\n")
    found = check(there)
    assert found.problems == []
    assert [r.trusted_by for r in found.runs] == ["allowed_signers"] * 3
    assert not (other / records.HOST_KEY).exists()  # verifying never needed a private key


def test_unsigned_when_no_key_can_sign_is_still_recorded(reifier_env: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The run happened: its evidence is written, and --verify says it is unsigned."""
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", "/nonexistent")  # no ssh-keygen
    context = load_context()
    line = records.keep(context, executed(), prov("20261124T140000Z-000009"))
    assert line["sig"] == "" and "ssh-keygen" in line["sig_error"]
    monkeypatch.setenv("PATH", path)
    found = check(context)
    assert found.problems[0].startswith("index line 1 (run 20261124T140000Z-000009): unsigned "
                                        "(cannot create a host key")


def test_host_key_flag_and_verify_do_not_combine(reifier_env: dict[str, str]) -> None:
    result = invoke("records", "--verify", "--host-key")
    assert result.exit_code == 2
