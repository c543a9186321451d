"""Approval: a digest of what a runbook will run, signed with a local HMAC key.

The digest covers what changes behaviour and nothing else: the kernel, every
code cell's source and tags in order, the parameter defaults and constraints,
the autonomy level, the approver's allow-list of guard rules, and what decides
when and with what the runbook runs unattended (its id, symptoms, alert
matchers, ``alert_params`` and ``silence``). Outputs and Markdown are
left out, so re-running a notebook or rewording its prose keeps it approved.
Everything is hashed as canonical JSON of ordered lists, never a concatenation,
so moving text across a cell boundary changes the digest.

The signature (HMAC-SHA256) covers the digest, the per-cell digests (kept so a
stale runbook can name the cells that changed), the approver and the time.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reifier.core import constraints as cons
from reifier.core.bind import references
from reifier.core.guard import evaluate
from reifier.core.params import (
    INJECTED_TAG,
    PARAMETERS_TAG,
    dynamic_names,
    parse_parameters_cell,
    render_parameters_cell,
    validate_name,
)
from reifier.errors import BadInput, Refused

NB = Mapping[str, Any]
STATUSES = ("draft", "approved", "stale", "bad-signature", "needs-signatures", "superseded",
            "revoked")
#: the OpenSSH signature namespace of approvals (``ssh-keygen -Y sign -n``)
SIG_NAMESPACE = "reifier-approval"
#: the namespace of a draft's authorship signature (who wrote it, proven by their key)
AUTHOR_NAMESPACE = "reifier-author"
#: the namespace of a signed revocation (``reifier approve --revoke``)
REVOKE_NAMESPACE = "reifier-revoke"
#: what a person's allowed_signers line lists: approve, author drafts, revoke
PERSON_NAMESPACES = ",".join((SIG_NAMESPACE, AUTHOR_NAMESPACE, REVOKE_NAMESPACE))
#: verify(message, armored signature, principal) -> (key fingerprint, "") or ("", reason)
SignatureCheck = Callable[[str, str, str], tuple[str, str]]
#: sign(message) -> (armored signature, key fingerprint)
Signer = Callable[[str], tuple[str, str]]
#: how approvals are checked: a local HMAC key (single-user mode) or SSH signatures
Trust = bytes | SignatureCheck
DIGEST_VERSION = 2
#: metadata fields that decide when and with what a runbook runs: signed as they are
SIGNED_METADATA = ("id", "symptoms", "alerts", "alert_params", "silence", "parameters")


@dataclass(frozen=True)
class ApprovalState:
    """Where a runbook stands: draft, approved, stale (which cells) or bad-signature."""

    status: str
    changed_cells: tuple[int, ...] = ()  # 1-based code-cell numbers
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the runbook may run."""
        return self.status == "approved"


def canonical(obj: Any) -> str:
    """Serialise ``obj`` as the canonical JSON every hash here is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(obj: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()


def meta(nb: NB) -> dict[str, Any]:
    """Return ``metadata.reifier`` of a notebook dict (empty when absent)."""
    value = nb.get("metadata", {}).get("reifier", {})
    return value if isinstance(value, dict) else {}


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    text = "".join(src) if isinstance(src, list) else str(src)
    # Jupytext drops a cell's trailing newlines: they never change what bash runs.
    return text.rstrip("\n")


def code_cells(nb: NB, skip_injected: bool = False) -> list[Mapping[str, Any]]:
    """Return the code cells approval covers, optionally without papermill's injected cell.

    Only the engine skips the injected cell, after checking that it holds nothing
    but literal assignments; in a file on disk it counts like any other cell.
    """
    return [
        c for c in nb.get("cells", [])
        if c.get("cell_type") == "code" and not (skip_injected and INJECTED_TAG in _tags(c))
    ]


def cell_form(cell: Mapping[str, Any]) -> dict[str, Any]:
    """Return the part of a code cell that approval covers."""
    return {"source": _source(cell), "tags": _tags(cell)}


def cell_digests(nb: NB, skip_injected: bool = False) -> list[str]:
    """Return one digest per covered code cell, in order."""
    return [_sha(cell_form(c)) for c in code_cells(nb, skip_injected)]


def parameter_defaults(nb: NB) -> dict[str, str]:
    """Return the defaults of the first ``parameters``-tagged cell."""
    for cell in code_cells(nb):
        if PARAMETERS_TAG in _tags(cell):
            return parse_parameters_cell(_source(cell))
    return {}


def literal_defaults(nb: NB) -> dict[str, str]:
    """Return the defaults whose value is known before bash runs (no ``$``, no backquote).

    ``DB_PASSWORD="${DB_PASSWORD:-}"`` reads the environment at run time: the
    guard must not judge the text ``${DB_PASSWORD:-}`` as its value (the kernel
    judges the live value instead).
    """
    for cell in code_cells(nb):
        if PARAMETERS_TAG in _tags(cell):
            source = _source(cell)
            dynamic = dynamic_names(source)
            return {k: v for k, v in parse_parameters_cell(source).items() if k not in dynamic}
    return {}


def digest(
    nb: NB, allow: Mapping[str, Iterable[str]] | None = None, skip_injected: bool = False
) -> str:
    """Return ``sha256:<hex>`` of what the runbook runs (``allow`` defaults to its own)."""
    if allow is None:
        allow = meta(nb).get("approval", {}).get("allow", {}) or {}
    kernelspec = nb.get("metadata", {}).get("kernelspec", {}) or {}
    return _sha(
        {
            "v": DIGEST_VERSION,
            "kernel": kernelspec.get("name", ""),
            "autonomy": meta(nb).get("autonomy", "suggest"),
            "cells": [cell_form(c) for c in code_cells(nb, skip_injected)],
            "parameters": parameter_defaults(nb),
            "allow": {str(k): sorted(set(v)) for k, v in allow.items()},
            "metadata": {k: meta(nb).get(k) for k in SIGNED_METADATA},
        }
    )


def sign(message: str, key: bytes) -> str:
    """Return ``hmac-sha256:<hex>`` of ``message`` under ``key``."""
    return "hmac-sha256:" + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_message(approval: Mapping[str, Any]) -> str:
    """Return the text a signature covers: digest, cell digests, approver, time, four-eyes."""
    return canonical(
        {
            "digest": approval.get("digest"),
            "cells": approval.get("cells"),
            "by": approval.get("by"),
            "at": approval.get("at"),
            "four_eyes": approval.get("four_eyes"),
        }
    )


def ssh_message(approval: Mapping[str, Any], principal: str, at: str) -> str:
    """Return what one approver's SSH signature covers: the digest (which covers the
    code, the allow-list and the signed metadata, the runbook id included, so a
    signature cannot be copied to another runbook), the per-cell digests, who and when."""
    return canonical({"namespace": SIG_NAMESPACE, "digest": approval.get("digest"),
                      "cells": approval.get("cells"), "principal": principal, "at": at})


def _well_formed(approval: Any) -> bool:
    if not isinstance(approval, dict):
        return False
    signed = isinstance(approval.get("signature"), str) or (
        isinstance(approval.get("signatures"), list) and all(
            isinstance(sig, dict) and all(isinstance(sig.get(k), str)
                                          for k in ("principal", "at", "signature"))
            for sig in approval["signatures"]))
    texts = signed and all(isinstance(approval.get(k), str) for k in ("by", "at", "digest"))
    cells = approval.get("cells")
    allow = approval.get("allow", {})
    return (
        texts
        and isinstance(cells, list)
        and all(isinstance(c, str) for c in cells)
        and isinstance(allow, dict)
        and all(isinstance(v, list) for v in allow.values())
    )


def changed_cells(old: list[str], new: list[str]) -> tuple[tuple[int, ...], int]:
    """Return (1-based numbers of new or edited cells, count of removed cells)."""
    changed: list[int] = []
    removed = 0
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in {"replace", "insert"}:
            changed.extend(range(j1 + 1, j2 + 1))
        if op in {"replace", "delete"}:
            removed += max(0, (i2 - i1) - (j2 - j1))
    return tuple(changed), removed


def verify(nb: NB, key: Trust, skip_injected: bool = False,
           signers_for_auto: int = 2, author_check: SignatureCheck | None = None) -> ApprovalState:
    """Check a notebook's approval against its content and ``key``.

    ``key`` is either the local HMAC key (single-user mode) or a function that
    checks one OpenSSH signature against the workspace's ``allowed_signers``.
    With signatures, a runbook is approved when at least one approver's
    signature verifies (``signers_for_auto`` distinct principals with distinct
    keys, none of them the runbook's author, for ``autonomy: auto``). The author
    is established by the draft's authorship signature when ``author_check``
    (a check in :data:`AUTHOR_NAMESPACE`) verifies it, else it is the editable
    ``session.user`` (see :func:`established_author`).
    """
    info = meta(nb)
    approval = info.get("approval")
    if info.get("status") != "approved":
        return ApprovalState("draft", reason=f"status is {info.get('status') or 'draft'!r}")
    if not _well_formed(approval):
        return ApprovalState("bad-signature", reason="status is approved but the approval "
                             "block is missing or malformed")
    assert isinstance(approval, dict)
    if isinstance(key, bytes):
        if not isinstance(approval.get("signature"), str) or not hmac.compare_digest(
                sign(signed_message(approval), key), approval["signature"]):
            return ApprovalState("bad-signature", reason="approval signature does not match "
                                 "this machine's key (edited, or approved elsewhere: re-approve)")
        signed_by = f"approved by {approval['by']} at {approval['at']}"
    else:
        named = ", ".join(str(sig.get("principal")) for sig in approval.get("signatures") or ())
        if approval.get("signatures") and approval["by"] != named:
            return ApprovalState("bad-signature", reason=f"approval.by says {approval['by']!r} "
                                 f"but the signatures are by {named!r} (edited)")
        good, problem = _ssh_signers(nb, approval, key, signers_for_auto,
                                     established_author(nb, author_check))
        if problem:
            status = "needs-signatures" if good else "bad-signature"
            return ApprovalState(status, reason=problem)
        signed_by = "signed by " + ", ".join(f"{p} ({fp})" for p, fp in good)
    now = digest(nb, approval.get("allow", {}), skip_injected)
    if hmac.compare_digest(now, approval["digest"]):
        return ApprovalState("approved", reason=signed_by)
    cells, removed = changed_cells(approval["cells"], cell_digests(nb, skip_injected))
    parts = []
    if cells:
        parts.append("code cell" + ("s " if len(cells) > 1 else " ") + ", ".join(map(str, cells))
                     + " changed")
    if removed:
        parts.append(f"{removed} code cell{'s' if removed > 1 else ''} removed")
    if not parts:
        parts.append("kernel, autonomy, allow-list, parameter defaults or constraints, "
                     "id, symptoms or alert settings changed")
    return ApprovalState("stale", cells, "; ".join(parts) + " since approval")


def author(nb: NB) -> str:
    """Return the engineer whose session produced the runbook ('' if unknown)."""
    session = meta(nb).get("session") or {}
    user = session.get("user") if isinstance(session, dict) else None
    return str(user or "")


@dataclass(frozen=True)
class Author:
    """Who wrote a runbook: a principal, the key that proved it ('' if unsigned), how known."""

    principal: str
    fingerprint: str = ""
    reason: str = ""

    def describe(self) -> str:
        """Return ``principal (fingerprint)`` or the principal and why it is only claimed."""
        if self.fingerprint:
            return f"{self.principal} ({self.fingerprint})"
        return f"{self.principal or '(unknown)'} ({self.reason})"


def authorship_message(session: str, runbook: str, cells: Iterable[str]) -> str:
    """Return what a draft's authorship signature covers: session id, runbook id, cells."""
    return canonical({"namespace": AUTHOR_NAMESPACE, "session": session, "runbook": runbook,
                      "cells": list(cells)})


def _session_id(nb: NB) -> str:
    session = meta(nb).get("session") or {}
    return str(session.get("id") or "") if isinstance(session, dict) else ""


def sign_authorship(nb: NB, principal: str, signer: Signer) -> dict[str, Any]:
    """Return a copy of the draft ``nb`` carrying its engineer's authorship signature.

    The signer must sign in :data:`AUTHOR_NAMESPACE`. The signed session id,
    runbook id and code-cell digests are kept beside the signature: editing the
    draft afterwards (drafts are meant to be edited) keeps its author known,
    while copying the block into another session's runbook does not verify.
    """
    out: dict[str, Any] = copy.deepcopy(dict(nb))
    info = out.setdefault("metadata", {}).setdefault("reifier", {})
    cells = cell_digests(out)
    session, runbook = _session_id(out), str(info.get("id") or "")
    signature, fingerprint = signer(authorship_message(session, runbook, cells))
    info["authorship"] = {"principal": principal, "fingerprint": fingerprint,
                          "signature": signature, "session": session, "runbook": runbook,
                          "cells": cells}
    return out


def established_author(nb: NB, check: SignatureCheck | None) -> Author:
    """Return the runbook's author: the authorship principal if its signature verifies.

    Otherwise the author is ``metadata.reifier.session.user``, which anyone can
    edit, and the reason says so. ``check`` verifies in :data:`AUTHOR_NAMESPACE`.
    """
    user = author(nb)
    block = meta(nb).get("authorship")
    if not isinstance(block, dict):
        return Author(user, "", "session.user, no authorship signature")
    principal, cells = str(block.get("principal") or ""), block.get("cells")
    if check is None:
        why = "authorship signature not checked here"
    elif not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
        why = "authorship block is malformed"
    elif str(block.get("session") or "") != _session_id(nb):
        why = (f"authorship signature is for session {block.get('session')!r}, not "
               f"{_session_id(nb)!r}")
    else:
        fingerprint, why = check(authorship_message(_session_id(nb), str(block.get("runbook")
                                                                          or ""), cells),
                                 str(block.get("signature") or ""), principal)
        if fingerprint:
            return Author(principal, fingerprint, "signed the draft")
        why = f"authorship signature of {principal} does not verify: {why}"
    return Author(user, "", f"session.user; {why}")


def _ssh_signers(nb: NB, approval: Mapping[str, Any], check: SignatureCheck,
                 needed_for_auto: int, writer: Author | None = None
                 ) -> tuple[list[tuple[str, str]], str]:
    """Verify every SSH signature; return the good (principal, fingerprint)s and a problem.

    Distinct principals with distinct keys count once each: one key signing
    under two names, or two keys of one principal, is one approver.
    """
    good: list[tuple[str, str]] = []
    bad: list[str] = []
    for sig in approval.get("signatures") or ():
        if not isinstance(sig, dict):
            continue
        principal, at = str(sig.get("principal", "")), str(sig.get("at", ""))
        fingerprint, why = check(ssh_message(approval, principal, at), str(sig.get("signature")),
                                 principal)
        if fingerprint:
            good.append((principal, fingerprint))
        else:
            bad.append(f"{principal}'s signature ({sig.get('fingerprint', '?')}): {why}")
    if not approval.get("signatures"):
        return [], ("approved with a local HMAC key, but this workspace checks SSH signatures "
                    "(approval = \"ssh\"): approve again with your SSH key")
    if bad and not good:
        return [], "; ".join(bad)
    auto = meta(nb).get("autonomy") == "auto"
    writer = writer or Author(author(nb))
    engineer = writer.principal
    seen_principals: set[str] = set()
    seen_keys: set[str] = set()
    distinct = []
    for principal, fingerprint in good:
        if principal in seen_principals or fingerprint in seen_keys:
            continue
        if auto and (principal == engineer or fingerprint == writer.fingerprint):
            continue  # the author, under their name or with their key under another
        seen_principals.add(principal)
        seen_keys.add(fingerprint)
        distinct.append((principal, fingerprint))
    needed = needed_for_auto if auto else 1
    if len(distinct) < needed:
        have = ", ".join(f"{p} ({fp})" for p, fp in distinct) or "none"
        why = (f"autonomy: auto needs {needed} signatures from distinct principals with "
               f"distinct keys, none of them the author {writer.describe()}; "
               f"valid: {have}" if auto else "no valid signature")
        return good, "; ".join([why, *bad])
    return distinct, ""


def revoke_message(runbook: str, digest: str, principal: str, at: str) -> str:
    """Return what a revocation's signature covers: runbook id, revoked digest, who, when."""
    return canonical({"namespace": REVOKE_NAMESPACE, "runbook": runbook, "digest": digest,
                      "principal": principal, "at": at})


def revocation_record(signature: str, fingerprint: str) -> str:
    """Return how a signed revocation is kept in the history's ``signature`` column."""
    return canonical({"signature": signature, "fingerprint": fingerprint})


def revoker(runbook: str, digest: str, by: str, at: str, record: str,
            check: SignatureCheck | None) -> tuple[str, str]:
    """Return (who revoked, problem) of a recorded revocation; problem is '' when it verifies.

    Who is ``principal (fingerprint)``. A revocation that is unsigned, or whose
    signature does not verify, still blocks (fail safe): the problem says why.
    """
    try:
        parsed = json.loads(record) if record.startswith("{") else {}
    except ValueError:
        parsed = {}
    signature = str(parsed.get("signature") or "") if isinstance(parsed, dict) else ""
    claimed = str(parsed.get("fingerprint") or "") if isinstance(parsed, dict) else ""
    if not signature:
        return by, "the revocation is not signed"
    if check is None:
        return f"{by} ({claimed}, not checked)", "the revocation's signature was not checked"
    fingerprint, why = check(revoke_message(runbook, digest, by, at), signature, by)
    if fingerprint:
        return f"{by} ({fingerprint})", ""
    return (f"{by} (claimed key {claimed or '?'})",
            f"the revocation's signature does not verify: {why}")


def against_history(state: ApprovalState, approval: Mapping[str, Any],
                    latest: tuple[str, str, str, str] | None,
                    revoked_by: str = "") -> ApprovalState:
    """Refuse a valid signature that is not the runbook's latest approval (replay).

    ``latest`` is the last recorded ``(action, signature, by, at)`` for the
    runbook's id, or None when nothing was recorded. A signature proves these
    files were approved once; only the history says nothing was approved or
    revoked since. ``revoked_by`` (see :func:`revoker`) names a revocation's
    principal and key instead of the bare recorded name.
    """
    if not state.ok or latest is None:
        return state
    action, signature, by, at = latest
    mine = f"these files carry the approval of {approval.get('at')} by {approval.get('by')}"
    if action == "revoke":
        return ApprovalState("revoked", reason=f"revoked by {revoked_by or by} at {at}; {mine} "
                             "(restored from git or a backup?): review and approve again")
    if not hmac.compare_digest(signature, approval_token(approval)):
        return ApprovalState("superseded", reason=f"a newer approval exists ({by} at {at}); "
                             f"{mine} (an older copy, restored from git or a backup?): "
                             "review and approve again")
    return state


def four_eyes_ok(nb: NB, by: str) -> bool:
    """Return whether ``by`` is someone other than the engineer of the recorded session."""
    session = meta(nb).get("session") or {}
    user = session.get("user") if isinstance(session, dict) else None
    return bool(user) and user != by


def check_approver(nb: NB, by: str, *, four_eyes: bool, signatures: bool = False,
                   writer: Author | None = None, key_fingerprint: str = "") -> None:
    """Raise Refused when the approver may not approve this runbook.

    With SSH signatures an ``autonomy: auto`` runbook collects its signatures one
    approver at a time (it stays ``needs-signatures`` until there are enough), but
    its author's own signature never counts and is refused here. ``writer`` is the
    established author (:func:`established_author`); ``key_fingerprint`` is the
    approver's key, refused when it is the key that signed the draft.
    """
    if not by.strip():
        raise BadInput("approver name is empty (pass --by NAME)")
    session = meta(nb).get("session") or {}
    user = session.get("user") if isinstance(session, dict) else None
    if writer is not None and writer.fingerprint:
        user = writer.principal
    if four_eyes and user and user == by:
        raise Refused(f"four-eyes rule: {by} ran the session this runbook came from; "
                      "someone else must approve it")
    if signatures and meta(nb).get("autonomy") == "auto":
        if user and user == by:
            raise Refused(f"four-eyes rule: {by} is the author of this autonomy: auto runbook "
                          f"({writer.describe() if writer else 'session.user'}); their signature "
                          "does not count")
        if writer is not None and writer.fingerprint and key_fingerprint == writer.fingerprint:
            raise Refused(f"four-eyes rule: key {key_fingerprint} signed this autonomy: auto "
                          f"runbook's draft as {writer.principal}; its signature does not count, "
                          "whatever the name")
        return
    if meta(nb).get("autonomy") == "auto" and not four_eyes_ok(nb, by):
        raise Refused("autonomy: auto needs a four-eyes approval (an approver other than "
                      "the session's engineer, who must be recorded); set autonomy: suggest")


def resolve_allow(nb: NB, pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Turn ``(CELL, RULE)`` pairs (CELL = code-cell number or cell id) into the allow map."""
    cells = code_cells(nb)
    ids = {str(c.get("id")): n for n, c in enumerate(cells, 1) if c.get("id")}
    out: dict[str, set[str]] = {}
    for cell, rule in pairs:
        number = ids.get(cell)
        if number is None:
            if not cell.isdigit() or not 1 <= int(cell) <= len(cells):
                raise BadInput(f"--allow {cell}:{rule}: no code cell {cell!r} "
                               f"(use a number 1..{len(cells)} or a cell id)")
            number = int(cell)
        out.setdefault(str(number), set()).add(rule)
    return {k: sorted(v) for k, v in sorted(out.items(), key=lambda kv: int(kv[0]))}


def approve(
    nb: NB, *, by: str, at: str, allow: Mapping[str, list[str]], key: bytes | Signer
) -> dict[str, Any]:
    """Return a copy of ``nb`` marked approved and signed (checks are the caller's).

    With an SSH ``Signer``, a runbook already signed over the same digest keeps
    its other approvers' signatures and gains this one (a second approver adds a
    signature, as four-eyes needs); any change to what is signed starts over.
    """
    out: dict[str, Any] = copy.deepcopy(dict(nb))
    info = out.setdefault("metadata", {}).setdefault("reifier", {})
    previous = info.get("approval") if info.get("status") == "approved" else None
    approval: dict[str, Any] = {
        "by": by,
        "at": at,
        "allow": {k: list(v) for k, v in allow.items()},
        "four_eyes": four_eyes_ok(nb, by),
    }
    approval["digest"] = digest(out, approval["allow"])
    approval["cells"] = cell_digests(out)
    if isinstance(key, bytes):
        approval["signature"] = sign(signed_message(approval), key)
    else:
        kept = []
        if isinstance(previous, dict) and previous.get("digest") == approval["digest"]:
            kept = [s for s in previous.get("signatures") or []
                    if isinstance(s, dict) and s.get("principal") != by]
        signature, fingerprint = key(ssh_message(approval, by, at))
        approval["signatures"] = [*kept, {"principal": by, "at": at, "fingerprint": fingerprint,
                                          "signature": signature}]
        approval["by"] = ", ".join(str(s["principal"]) for s in approval["signatures"])
    info["status"] = "approved"
    info["approval"] = approval
    return out


def approval_token(approval: Mapping[str, Any]) -> str:
    """Return what identifies one approval in the history: its signature(s)."""
    if isinstance(approval.get("signature"), str):
        return str(approval["signature"])
    sigs = [str(s.get("signature", "")) for s in approval.get("signatures") or ()
            if isinstance(s, dict)]
    return "sshsig:" + hashlib.sha256("\n".join(sigs).encode()).hexdigest() if sigs else ""


def unapprove(nb: NB) -> dict[str, Any]:
    """Return a copy of ``nb`` back in draft, its approval removed."""
    out: dict[str, Any] = copy.deepcopy(dict(nb))
    info = out.setdefault("metadata", {}).setdefault("reifier", {})
    info["status"] = "draft"
    info.pop("approval", None)
    return out


# --- admission: may this exact notebook object run? ---------------------------------

PRECONDITION_TAG = "precondition"


@dataclass(frozen=True)
class RunPlan:
    """What the engine may run: cell order, allowances and parameters, all checked."""

    digest: str
    order: tuple[int, ...]  # indexes into nb["cells"], in run order
    numbers: dict[int, int]  # nb cell index -> 1-based code-cell number (approval numbering)
    allow: dict[int, frozenset[str]]  # nb cell index -> rules the approver allowed
    preconditions: frozenset[int]  # nb cell indexes
    given: dict[str, str]  # parameters injected for this run
    parameters: dict[str, str]  # effective values: defaults overridden by ``given``
    approved_by: str


def _injected(nb: NB) -> tuple[int | None, dict[str, str]]:
    """Find papermill's injected cell and prove it holds only literal assignments."""
    cells = list(nb.get("cells", []))
    found = [i for i, c in enumerate(cells) if INJECTED_TAG in _tags(c)]
    if not found:
        return None, {}
    if len(found) > 1:
        raise Refused("more than one injected-parameters cell")
    index = found[0]
    before = [i for i in range(index) if cells[i].get("cell_type") == "code"]
    if not before or PARAMETERS_TAG not in _tags(cells[before[-1]]):
        raise Refused("the injected-parameters cell does not follow the parameters cell")
    source = _source(cells[index])
    values = parse_parameters_cell(source)
    try:
        literal = render_parameters_cell(values).rstrip("\n") == source
    except BadInput:
        literal = False
    if not literal:
        raise Refused("the injected-parameters cell is not only NAME='value' lines")
    return index, values


def _rank(cell: Mapping[str, Any]) -> int:
    tags = _tags(cell)
    if PARAMETERS_TAG in tags or INJECTED_TAG in tags:
        return 0
    return 1 if PRECONDITION_TAG in tags else 2


def run_order(nb: NB) -> tuple[int, ...]:
    """Return cell indexes with parameters first, then preconditions, then the rest.

    A Markdown cell travels with the code cell after it ("Only do this if…").
    """
    cells = list(nb.get("cells", []))
    ranks = [2] * len(cells)
    following = 2
    for i in range(len(cells) - 1, -1, -1):
        if cells[i].get("cell_type") == "code":
            following = _rank(cells[i])
        ranks[i] = following
    return tuple(sorted(range(len(cells)), key=lambda i: (ranks[i], i)))


def plan_run(nb: NB, key: Trust, *, require_resolvable: bool = False,
             hosts_of: cons.HostsOf | None = None, signers_for_auto: int = 2,
             author_check: SignatureCheck | None = None) -> RunPlan:
    """Admit a (possibly parameterised) notebook for a run, or raise Refused / BadInput.

    Every effective parameter value (default or given) must satisfy its signed
    constraint, and every cell is judged with those values bound in: the guard
    sees ``rm -rf -- /etc``, not ``rm -rf -- "${DIR:?}"``.
    """
    injected, given = _injected(nb)
    defaults = parameter_defaults(nb)
    for name in given:
        validate_name(name)
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise BadInput(f"unknown parameter {name!r} (this runbook declares: {known})")
    state = verify(nb, key, skip_injected=True, signers_for_auto=signers_for_auto,
                   author_check=author_check)
    if not state.ok:
        raise Refused(f"runbook is {state.status}: {state.reason}")
    approval = meta(nb)["approval"]
    effective = {**defaults, **given}
    bindable = {**literal_defaults(nb), **given}  # values known before bash runs
    cons.check_values(cons.parse(meta(nb).get("parameters")), bindable, hosts_of)
    cells = list(nb.get("cells", []))
    numbers: dict[int, int] = {}
    allow: dict[int, frozenset[str]] = {}
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        if i != injected:
            numbers[i] = len(numbers) + 1
            allow[i] = frozenset(approval.get("allow", {}).get(str(numbers[i]), ()))
        bound = None if i == injected or PARAMETERS_TAG in _tags(cell) else bindable
        verdict = evaluate(_source(cell), allow=allow.get(i, frozenset()),
                           require_resolvable=require_resolvable, values=bound)
        if not verdict.allowed:
            where = f"code cell {numbers[i]}" if i in numbers else "injected parameters"
            raise Refused(f"{where}: {verdict.reason}")
    return RunPlan(
        digest=approval["digest"],
        order=run_order(nb),
        numbers=numbers,
        allow={i: rules for i, rules in allow.items() if rules},
        preconditions=frozenset(i for i, c in enumerate(cells)
                                if c.get("cell_type") == "code" and _rank(c) == 1),
        given=given,
        parameters=effective,
        approved_by=str(approval.get("by", "")),
    )


@dataclass(frozen=True)
class Refusal:
    """A code cell the guard refuses: its number, the reason and the rules that fired."""

    cell: int  # 1-based code-cell number
    reason: str
    rules: tuple[str, ...]


def guard_refusals(nb: NB, allow: Mapping[str, Iterable[str]],
                   require_resolvable: bool = False) -> list[Refusal]:
    """Return every code cell the guard refuses under the approver's ``allow`` map.

    Each cell is judged with the parameter defaults bound in, then once per
    value a parameter's constraint admits from :func:`constraints.candidates`
    (every hostile probe, for an unconstrained parameter): a parameter that
    can steer a cell into a destructive command is flagged here, at approval,
    not at 3 a.m. The fix is a constraint, or the approver's allowance.
    """
    defaults = literal_defaults(nb)
    declared = frozenset(parameter_defaults(nb))  # any of them can be set by -p or a label
    constraints = cons.parse(meta(nb).get("parameters"))
    out = []
    for number, cell in enumerate(code_cells(nb), 1):
        if PARAMETERS_TAG in _tags(cell):
            continue
        source = _source(cell)
        rules = frozenset(allow.get(str(number), ()))
        verdict = evaluate(source, allow=rules, require_resolvable=require_resolvable,
                           values=defaults)
        reason, found = verdict.reason, tuple(dict.fromkeys(f.rule for f in verdict.blocking))
        if verdict.allowed:
            reason, found = _exposure(source, rules, require_resolvable, defaults, declared,
                                      constraints)
        if found:
            out.append(Refusal(number, reason, found))
    return out


def _exposure(source: str, allow: frozenset[str], require_resolvable: bool,
              defaults: Mapping[str, str], declared: frozenset[str],
              constraints: Mapping[str, cons.Constraint]) -> tuple[str, tuple[str, ...]]:
    """Try the values each parameter's constraint admits.

    Returns the first refusal's reason and every rule any admitted value trips
    (so one ``--allow`` list, or one constraint, settles the cell), or ("", ()).
    """
    reason, rules = "", {}
    for name in sorted(references(source) & declared):
        constraint = constraints.get(name)
        for value in cons.candidates(constraint):
            verdict = evaluate(source, allow=allow, require_resolvable=require_resolvable,
                               values={**defaults, name: value})
            if verdict.allowed:
                continue
            rules.update(dict.fromkeys(f.rule for f in verdict.blocking))
            if not reason:
                why = (f"parameter {name} has no constraint" if constraint is None else
                       f"parameter {name}'s constraint ({constraint.describe()}) admits "
                       f"{value!r}")
                reason = (f"{why}, and with {name}={value!r} this cell is {verdict.reason}; "
                          f"constrain {name} in metadata reifier.parameters "
                          "(path/enum/pattern/int/host) or allow the rule for this cell")
    return reason, tuple(rules)
