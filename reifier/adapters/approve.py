"""Approve, revoke and inspect runbooks on disk, always as a Jupytext pair.

A runbook is two files (``X.md`` and ``X.ipynb``); either name works. Approval
reads the file that was named (the one the human reviewed), checks it with the
guard and the four-eyes rule, signs it and rewrites *both* files from it, so
the pair can never disagree about what was approved. Status looks at both
files: if either one's code no longer matches the signed digest, the runbook
is stale. The CLI, the watcher and the server all call these functions.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reifier.adapters import keys, notebooks
from reifier.adapters.settings import Context
from reifier.adapters.sshsig import SshSigner, SshVerifier
from reifier.adapters.store import Store
from reifier.adapters.store_approvals import ApprovalEvent
from reifier.core import approval as core
from reifier.core.approval import ApprovalState
from reifier.core.params import INJECTED_TAG, PARAMETERS_TAG
from reifier.errors import BadInput, ConfigError, NotFound, Refused

_SEVERITY = {"revoked": 3, "superseded": 3, "bad-signature": 3, "needs-signatures": 2,
             "stale": 2, "draft": 1, "approved": 0}


@dataclass(frozen=True)
class PairStatus:
    """The approval state of a runbook pair, and of each of its files."""

    path: Path
    state: ApprovalState
    files: dict[str, ApprovalState] = field(default_factory=dict)
    approval: dict[str, Any] = field(default_factory=dict)
    author: core.Author | None = None
    #: the latest recorded revocation: by (principal (fingerprint)), at, problem
    revocation: dict[str, str] = field(default_factory=dict)

    def signers(self) -> list[dict[str, str]]:
        """Return each approval signature's principal, key fingerprint and time."""
        return [{k: str(s.get(k, "")) for k in ("principal", "fingerprint", "at")}
                for s in self.approval.get("signatures") or () if isinstance(s, dict)]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        author = None if self.author is None else {
            "principal": self.author.principal, "fingerprint": self.author.fingerprint,
            "how": self.author.reason}
        return {
            "path": str(self.path),
            "status": self.state.status,
            "changed_cells": list(self.state.changed_cells),
            "reason": self.state.reason,
            "files": {name: {"status": s.status, "changed_cells": list(s.changed_cells),
                             "reason": s.reason} for name, s in self.files.items()},
            "approval": {**{k: self.approval.get(k) for k in ("by", "at", "digest", "allow")
                            if k in self.approval},
                         **({"signatures": self.signers()} if self.signers() else {})},
            "author": author,
            **({"revocation": self.revocation} if self.revocation else {}),
        }


def now_iso() -> str:
    """Return the current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


existing_pair = notebooks.existing_pair


def machine_key(ctx: Context) -> core.Trust | None:
    """Return how approvals are checked here (SSH verifier, or the local HMAC key)."""
    return keys.trust(ctx.workspace, ctx.home, ctx.settings)


def namespaced(key: core.Trust | None, namespace: str) -> core.SignatureCheck | None:
    """Return the SSH check of ``key``'s allowed_signers in another namespace (None: HMAC)."""
    if not isinstance(key, SshVerifier):
        return None
    return keys.verifier(key.allowed_signers, key.revoked, namespace)


def _verify(ctx: Context, nb: notebooks.NB, key: core.Trust | None) -> ApprovalState:
    if key is None and core.meta(nb).get("status") == "approved":
        return ApprovalState("bad-signature", reason="no approval key on this machine "
                             "(approved elsewhere: re-approve here)")
    return core.verify(nb, key or b"", signers_for_auto=ctx.settings.signers_for_auto,
                       author_check=namespaced(key, core.AUTHOR_NAMESPACE))


def runbook_id(nb: notebooks.NB) -> str:
    """Return the id approvals are recorded under (``metadata.reifier.id``, signed)."""
    return str(core.meta(nb).get("id") or "")


def latest_approval(store: Store, rid: str) -> tuple[str, str, str, str] | None:
    """Return the last recorded (action, signature, by, at) of runbook ``rid``."""
    event = store.latest_approval(rid) if rid else None
    return None if event is None else (event.action, event.signature, event.by, event.at)


def _history(ctx: Context, rid: str, store: Store | None) -> ApprovalEvent | None:
    if not rid:
        return None
    if store is not None:
        return store.latest_approval(rid)
    opened = Store(ctx.db_path)
    try:
        return opened.latest_approval(rid)
    finally:
        opened.close()


def record_history(ctx: Context, nb: notebooks.NB, action: str, by: str, *,
                   signature: str | None = None, at: str | None = None) -> None:
    """Append an approval or revocation of ``nb``'s runbook id to the store.

    ``signature`` and ``at`` override the approval's own (a signed revocation).
    """
    rid = runbook_id(nb)
    if not rid:
        return
    approval = core.meta(nb).get("approval") or {}
    store = Store(ctx.db_path)
    try:
        store.record_approval(rid, action, digest=str(approval.get("digest", "")),
                              signature=core.approval_token(approval) if signature is None
                              else signature, by=by,
                              at=at or str(approval.get("at") or now_iso()))
    finally:
        store.close()


def revocation_of(key: core.Trust | None, rid: str, event: ApprovalEvent) -> dict[str, str]:
    """Describe a recorded revocation: who (principal and key), when, and any problem."""
    by, problem = core.revoker(rid, event.digest, event.by, event.at, event.signature,
                               namespaced(key, core.REVOKE_NAMESPACE))
    return {"by": by, "at": event.at, "problem": problem}


def pair_status(ctx: Context, path: Path, key: core.Trust | None = None,
                store: Store | None = None) -> PairStatus:
    """Return the combined status of both files of ``path``'s pair.

    A valid signature also has to be the runbook's latest recorded approval:
    restored older or revoked copies are ``superseded`` or ``revoked``.
    """
    key = machine_key(ctx) if key is None else key
    files = existing_pair(path)
    states: dict[str, ApprovalState] = {}
    approval: dict[str, Any] = {}
    rid = ""
    writer: core.Author | None = None
    for file in files:
        nb = notebooks.read(file)
        states[file.name] = _verify(ctx, nb, key)
        approval = approval or dict(core.meta(nb).get("approval") or {})
        rid = rid or runbook_id(nb)
        writer = writer or core.established_author(
            nb, namespaced(key, core.AUTHOR_NAMESPACE))
    worst = max(states.values(), key=lambda s: _SEVERITY.get(s.status, 3))
    if worst.status != "approved" and len(set(states.values())) > 1:
        name = next(n for n, s in states.items() if s is worst)
        worst = ApprovalState(worst.status, worst.changed_cells, f"{name}: {worst.reason}")
    if {s.status for s in states.values()} == {"approved", "draft"}:
        draft = next(n for n, s in states.items() if s.status == "draft")
        worst = ApprovalState("stale", (), f"{draft} is not approved but its twin is")
    event = _history(ctx, rid, store)
    revocation = revocation_of(key, rid, event) if event and event.action == "revoke" else {}
    if worst.ok and event is not None:
        worst = core.against_history(worst, approval, (event.action, event.signature, event.by,
                                                       event.at), revocation.get("by", ""))
    if revocation and worst.status in {"revoked", "draft"}:
        extra = (f"revoked by {revocation['by']} at {revocation['at']}"
                 if worst.status == "draft" else "")
        extra = "; ".join(x for x in (extra, revocation["problem"]) if x)
        worst = ApprovalState(worst.status, worst.changed_cells, f"{worst.reason}; {extra}")
    return PairStatus(files[0], worst, states, approval, writer, revocation)


def _with_outputs(nb: notebooks.NB, other: Path) -> notebooks.NB:
    """Keep the ``.ipynb``'s outputs when approving its unchanged ``.md`` twin."""
    if not other.is_file():
        return nb
    old = notebooks.read(other)
    if core.cell_digests(old) != core.cell_digests(nb):
        return nb  # the text twin was edited: its inputs win, stale outputs go
    old_code = iter(core.code_cells(old))
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            prior = next(old_code)
            for key in ("outputs", "execution_count", "id"):
                if key in prior:
                    cell[key] = prior[key]
    return nb


def _keep_metadata_in_markdown(nb: notebooks.NB) -> None:
    """Make Jupytext write ``metadata.reifier`` into the ``.md`` header (it drops it otherwise)."""
    jt = nb.setdefault("metadata", {}).setdefault("jupytext", {})
    jt.setdefault("formats", notebooks.JUPYTEXT["formats"])
    kept = [f for f in str(jt.get("notebook_metadata_filter", "")).split(",") if f]
    if "reifier" not in kept and "all" not in kept:
        jt["notebook_metadata_filter"] = ",".join([*kept, "reifier"])


def _check_rules(allow: dict[str, list[str]]) -> None:
    from reifier.core.guard import RULE_NAMES

    for rules in allow.values():
        for rule in rules:
            if rule not in RULE_NAMES:
                valid = ", ".join(sorted(RULE_NAMES))
                raise BadInput(f"unknown guard rule {rule!r} (valid: {valid})")


def parse_allow(specs: Iterable[str]) -> list[tuple[str, str]]:
    """Parse ``CELL:RULE`` strings from the command line."""
    pairs = []
    for spec in specs:
        cell, sep, rule = spec.partition(":")
        if not sep or not cell or not rule:
            raise BadInput(f"--allow {spec!r}: expected CELL:RULE (e.g. 3:rm_empty_var)")
        pairs.append((cell.strip(), rule.strip()))
    return pairs


def prepare_approval(ctx: Context, path: Path, by: str, allow: Sequence[tuple[str, str]],
                     key: bytes | core.Signer) -> notebooks.NB:
    """Return the approved notebook for ``path`` (nothing written), or raise Refused."""
    existing_pair(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    nb = notebooks.read(path)
    if any(INJECTED_TAG in (c.get("metadata", {}).get("tags") or []) for c in nb["cells"]):
        raise BadInput(f"{path}: has papermill's injected-parameters cell (an output "
                       "notebook?); remove it before approving")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != notebooks.KERNELSPEC["name"]:
        raise BadInput(f"{path}: runbooks use the {notebooks.KERNELSPEC['name']} kernel, "
                       f"not {kernel!r}")
    allow_map = core.resolve_allow(nb, allow)
    _check_rules(allow_map)
    writer = core.established_author(
        nb, namespaced(keys.trust(ctx.workspace, ctx.home, ctx.settings), core.AUTHOR_NAMESPACE))
    core.check_approver(nb, by, four_eyes=ctx.settings.four_eyes,
                        signatures=not isinstance(key, bytes), writer=writer,
                        key_fingerprint=_fingerprint(key))
    refused = core.guard_refusals(nb, allow_map)
    if refused:
        first = refused[0]
        flags = " ".join(f"--allow {r.cell}:{rule}" for r in refused for rule in r.rules)
        more = f" (+{len(refused) - 1} more cells)" if len(refused) > 1 else ""
        raise Refused(f"{path}: code cell {first.cell}: {first.reason}{more}; if intended, "
                      f"approve with {flags}")
    if path.suffix == ".md":
        nb = _with_outputs(nb, path.with_suffix(".ipynb"))
    _keep_metadata_in_markdown(nb)
    from reifier.core.draft import approved_note  # the scribe's tables: only when approving

    at = now_iso()
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = approved_note(str(text), by, at)
    return core.approve(nb, by=by, at=at, allow=allow_map, key=key)


def _fingerprint(key: bytes | core.Signer) -> str:
    """Return the fingerprint of an SSH signing key ('' for HMAC or an unreadable key)."""
    if not isinstance(key, SshSigner):
        return ""
    from reifier.adapters.sshsig import fingerprint

    try:
        return fingerprint(key.key)
    except ConfigError:
        return ""  # signing will say what is wrong with the key


def _check_runnable_and_unique(ready: Sequence[tuple[Path, notebooks.NB]],
                               ids: dict[str, set[Path]], allow_empty: bool) -> None:
    """Refuse a runbook with nothing to run, or whose id another runbook already has.

    Records, Execution nodes, approval history and matching are keyed by the id:
    two runbooks sharing one would count each other's runs and replace each
    other's matches.
    """
    for path, nb in ready:
        steps = [c for c in core.code_cells(nb)
                 if PARAMETERS_TAG not in (c.get("metadata", {}).get("tags") or [])]
        if not steps and not allow_empty:
            raise Refused(f"{path}: has no code cells to run (a \"did you fix this via a "
                          "GUI?\" draft?): add the steps as bash cells, or approve with "
                          "--allow-empty")
        rid = runbook_id(nb)
        if not rid:
            raise BadInput(f"{path}: has no metadata reifier.id; give it a unique id")
        mine = {p.with_suffix("") for p in notebooks.pair_paths(path)}
        others = sorted(p for p in ids.get(rid, set()) if p.with_suffix("") not in mine)
        if others:
            raise Refused(f"{path}: id {rid!r} is also the id of {others[0]}; ids key records, "
                          "runs and matches: give one of them another id")
        ids.setdefault(rid, set()).update(notebooks.pair_paths(path))


def workspace_ids(ctx: Context) -> dict[str, set[Path]]:
    """Map each runbook id in the workspace to the files that carry it."""
    out: dict[str, set[Path]] = {}
    for path in notebooks.runbook_files(ctx.runbooks):
        try:
            rid = runbook_id(notebooks.read(path))
        except (BadInput, Refused):
            continue  # an unreadable file has no id to clash with
        if rid:
            out.setdefault(rid, set()).add(path.resolve())
    return out


def approve_paths(ctx: Context, paths: Sequence[Path], by: str,
                  allow: Sequence[tuple[str, str]] = (), *,
                  allow_empty: bool = False) -> list[PairStatus]:
    """Approve several runbooks all-or-nothing: every check passes before any write."""
    if allow and len(paths) > 1:
        raise BadInput("--allow names cells of one runbook: approve one path at a time")
    key = keys.signer(ctx.home, ctx.settings)
    ready = [(p, prepare_approval(ctx, p, by, allow, key)) for p in paths]
    _check_runnable_and_unique([(p.resolve(), nb) for p, nb in ready], workspace_ids(ctx),
                               allow_empty)
    for path, nb in ready:
        notebooks.write_pair(nb, path)
        record_history(ctx, nb, "approve", by)
    return [pair_status(ctx, p) for p, _ in ready]


def _revoke_signer(ctx: Context) -> tuple[SshSigner | None, str]:
    """Return the revoker's SSH signer in the revocation namespace, or (None, why not)."""
    if keys.mode(ctx.settings) != "ssh":
        return None, ""
    try:
        key = keys.signing_key(ctx.settings)
    except ConfigError as exc:
        return None, str(exc)
    return SshSigner(key, core.REVOKE_NAMESPACE), ""


def unapprove_paths(ctx: Context, paths: Sequence[Path],
                    by: str | None = None) -> list[PairStatus]:
    """Put runbooks back in draft (both files), removing their approval.

    In SSH mode each revocation is signed by the revoker's key (runbook id,
    the revoked approval's digest, principal, time) and recorded in the
    approval history, where it sticks: a restored approved copy is refused.
    Without a usable key the revocation is still recorded (it blocks) but unsigned.
    """
    by = by or getpass.getuser()
    signer, why_unsigned = _revoke_signer(ctx)
    for path in paths:
        existing_pair(path)
        source = path if path.is_file() else existing_pair(path)[0]
        old = notebooks.read(source)
        nb = core.unapprove(old)
        at = now_iso()
        record = ""
        if signer is not None:
            digest = str((core.meta(old).get("approval") or {}).get("digest", ""))
            try:
                signature, fp = signer(core.revoke_message(runbook_id(old), digest, by, at))
                record = core.revocation_record(signature, fp)
            except ConfigError as exc:
                why_unsigned = str(exc)
        _keep_metadata_in_markdown(nb)
        notebooks.write_pair(nb, path)
        record_history(ctx, old, "revoke", by, signature=record, at=at)
    results = [pair_status(ctx, p) for p in paths]
    if why_unsigned:
        results = [replace(r, revocation={**r.revocation, "unsigned": why_unsigned})
                   for r in results]
    return results


@dataclass(frozen=True)
class CheckResult:
    """What ``reifier check`` reports for one runbook: approval state and guard refusals."""

    path: Path
    status: PairStatus
    refusals: tuple[core.Refusal, ...]

    @property
    def ok(self) -> bool:
        """Return whether the runbook is approved and the guard lets every cell run."""
        return self.status.state.ok and not self.refusals

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        return {**self.status.to_json(), "ok": self.ok,
                "refusals": [{"cell": r.cell, "reason": r.reason, "rules": list(r.rules)}
                             for r in self.refusals]}


def check_paths(ctx: Context, paths: Sequence[Path],
                require_resolvable: bool = False) -> list[CheckResult]:
    """Check runbooks without running them: pair approval state plus the guard per cell."""
    key = machine_key(ctx)
    out = []
    for path in paths:
        status = pair_status(ctx, path, key)
        nb = notebooks.read(path if path.is_file() else existing_pair(path)[0])
        allow = core.meta(nb).get("approval", {}).get("allow", {}) if status.state.ok else {}
        refusals = core.guard_refusals(nb, allow, require_resolvable=require_resolvable)
        out.append(CheckResult(path, status, tuple(refusals)))
    return out


def ensure_runnable(ctx: Context, path: Path) -> PairStatus:
    """Raise Refused unless ``path``'s pair is approved and its signature is valid."""
    status = pair_status(ctx, path)
    if not status.state.ok:
        raise Refused(f"{path}: runbook is {status.state.status}: {status.state.reason}")
    return status
