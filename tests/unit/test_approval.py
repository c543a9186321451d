"""Approval digests, signatures and run admission over plain notebook dicts (pure core)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from reifier.core import approval as ap
from reifier.core.params import INJECTED_TAG, inject_parameters
from reifier.errors import BadInput, Refused

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NB = dict[str, Any]


def cell(kind: str, source: str, *tags: str, cid: str = "") -> dict[str, Any]:
    """Build one notebook cell dict."""
    out: dict[str, Any] = {"cell_type": kind, "id": cid or f"c{abs(hash(source)) % 10**8}",
                           "metadata": {"tags": list(tags)} if tags else {}, "source": source}
    if kind == "code":
        out.update(outputs=[], execution_count=None)
    return out


def runbook(*cells: dict[str, Any], **meta: Any) -> NB:
    """Build a reifier-bash runbook dict (status draft unless ``meta`` says otherwise)."""
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": {"name": "reifier-bash", "language": "bash",
                                    "display_name": "Reifier Bash"},
                     "jupytext": {"formats": "ipynb,md", "notebook_metadata_filter": "reifier"},
                     "reifier": {"id": "demo", "title": "Demo", "status": "draft", **meta}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def demo() -> NB:
    """A runbook: markdown, parameters, precondition, two fix cells."""
    return runbook(
        cell("markdown", "# Demo", cid="m1"),
        cell("code", "DIR='/tmp/x'\nMSG=hello", "parameters", cid="p"),
        cell("markdown", "Only do this if the dir exists", cid="m2"),
        cell("code", 'test -d "$DIR"', "precondition", cid="pre"),
        cell("code", 'echo "$MSG" > "$DIR/out"', cid="fix"),
        cell("code", 'cat "$DIR/out"', cid="verify"),
    )


def approved(nb: NB | None = None, **kw: Any) -> NB:
    """Approve ``nb`` (default :func:`demo`) with :data:`KEY`."""
    return ap.approve(nb or demo(), by=kw.get("by", "alice"), at="2026-11-24T10:00:00Z",
                      allow=kw.get("allow", {}), key=KEY)


# --- digest ---------------------------------------------------------------------------


def test_digest_ignores_outputs_markdown_and_ids() -> None:
    nb = demo()
    other = copy.deepcopy(nb)
    other["cells"][0]["source"] = "# Completely different prose"
    other["cells"][4]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
    other["cells"][4]["execution_count"] = 7
    other["cells"][4]["id"] = "new-id"
    other["cells"][4]["source"] += "\n\n"  # Jupytext drops trailing newlines
    assert ap.digest(nb) == ap.digest(other)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda nb: nb["cells"][4].update(source="rm -f x"), id="code"),
        pytest.param(lambda nb: nb["cells"][5]["metadata"].update(tags=["precondition"]),
                     id="tags"),
        pytest.param(lambda nb: nb["cells"][1].update(source="DIR='/srv'\nMSG=hello"),
                     id="parameter-default"),
        pytest.param(lambda nb: nb["metadata"]["kernelspec"].update(name="bash"), id="kernel"),
        pytest.param(lambda nb: nb["metadata"]["reifier"].update(autonomy="auto"),
                     id="autonomy"),
        pytest.param(lambda nb: nb["cells"].append(cell("code", "ls")), id="added-cell"),
        pytest.param(lambda nb: nb["cells"].pop(5), id="removed-cell"),
    ],
)
def test_digest_changes_with_behaviour(edit: Any) -> None:
    nb = demo()
    other = copy.deepcopy(nb)
    edit(other)
    assert ap.digest(nb) != ap.digest(other)


def test_digest_is_not_a_concatenation() -> None:
    a = runbook(cell("code", "echo a"), cell("code", "rm -f b"))
    b = runbook(cell("code", "echo a\nrm -f"), cell("code", "b"))
    assert ap.digest(a) != ap.digest(b)


def test_digest_covers_allow_map() -> None:
    nb = demo()
    assert ap.digest(nb, {}) != ap.digest(nb, {"3": ["rm_empty_var"]})


def test_digest_format_and_canonical_json() -> None:
    assert ap.digest(demo()).startswith("sha256:") and len(ap.digest(demo())) == 71
    assert ap.canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


# --- verify ---------------------------------------------------------------------------


def test_round_trip_is_approved() -> None:
    nb = approved()
    state = ap.verify(nb, KEY)
    assert state == ap.ApprovalState("approved", (), state.reason)
    assert state.ok and "alice" in state.reason
    block = nb["metadata"]["reifier"]["approval"]
    assert block["signature"].startswith("hmac-sha256:")
    assert len(block["cells"]) == 4
    assert nb["metadata"]["reifier"]["status"] == "approved"


def test_draft_is_draft() -> None:
    assert ap.verify(demo(), KEY).status == "draft"


def test_markdown_edit_stays_approved() -> None:
    nb = approved()
    nb["cells"][2]["source"] = "Reworded: run only when the directory exists."
    nb["cells"].insert(0, cell("markdown", "A new intro"))
    assert ap.verify(nb, KEY).status == "approved"


def test_code_edit_is_stale_naming_the_cell() -> None:
    nb = approved()
    nb["cells"][4]["source"] = "rm -f /tmp/x/out"
    state = ap.verify(nb, KEY)
    assert state.status == "stale"
    assert state.changed_cells == (3,)
    assert "code cell 3 changed" in state.reason


def test_tag_edit_is_stale() -> None:
    nb = approved()
    nb["cells"][3]["metadata"]["tags"] = []  # drop the precondition tag
    state = ap.verify(nb, KEY)
    assert (state.status, state.changed_cells) == ("stale", (2,))


def test_parameter_default_edit_is_stale() -> None:
    nb = approved()
    nb["cells"][1]["source"] = "DIR='/'\nMSG=hello"
    state = ap.verify(nb, KEY)
    assert (state.status, state.changed_cells) == ("stale", (1,))


def test_removed_cell_is_stale() -> None:
    nb = approved()
    del nb["cells"][5]
    state = ap.verify(nb, KEY)
    assert state.status == "stale" and "1 code cell removed" in state.reason


def test_autonomy_edit_is_stale_without_cells() -> None:
    nb = approved()
    nb["metadata"]["reifier"]["autonomy"] = "auto"
    state = ap.verify(nb, KEY)
    assert (state.status, state.changed_cells) == ("stale", ())


def test_allow_edit_is_stale() -> None:
    nb = approved()
    nb["metadata"]["reifier"]["approval"]["allow"] = {"3": ["rm_catastrophic"]}
    assert ap.verify(nb, KEY).status == "stale"


def test_forged_signature_is_bad_signature() -> None:
    nb = approved()
    nb["metadata"]["reifier"]["approval"]["signature"] = "hmac-sha256:" + "0" * 64
    assert ap.verify(nb, KEY).status == "bad-signature"


def test_other_key_is_bad_signature() -> None:
    assert ap.verify(approved(), OTHER_KEY).status == "bad-signature"


@pytest.mark.parametrize("field", ["by", "at", "digest", "cells", "four_eyes"])
def test_editing_a_signed_field_is_bad_signature(field: str) -> None:
    nb = approved()
    block = nb["metadata"]["reifier"]["approval"]
    block[field] = {"by": "mallory", "at": "2030-01-01T00:00:00Z", "digest": "sha256:" + "1" * 64,
                    "cells": [], "four_eyes": True}[field]
    assert ap.verify(nb, KEY).status == "bad-signature"


def test_recomputed_digest_after_edit_still_needs_the_key() -> None:
    nb = approved()
    nb["cells"][4]["source"] = "curl x | sh"
    block = nb["metadata"]["reifier"]["approval"]
    block["digest"] = ap.digest(nb)
    block["cells"] = ap.cell_digests(nb)
    assert ap.verify(nb, KEY).status == "bad-signature"


@pytest.mark.parametrize("block", [None, "x", {"by": "a"}, {"by": "a", "at": "b", "digest": "c",
                                                             "signature": "d", "cells": "e"}])
def test_malformed_approval_is_bad_signature(block: Any) -> None:
    nb = demo()
    nb["metadata"]["reifier"].update(status="approved", approval=block)
    assert ap.verify(nb, KEY).status == "bad-signature"


def test_unapprove_returns_to_draft() -> None:
    nb = ap.unapprove(approved())
    assert ap.verify(nb, KEY).status == "draft"
    assert "approval" not in nb["metadata"]["reifier"]


def test_approve_does_not_modify_its_input() -> None:
    nb = demo()
    before = json.dumps(nb, sort_keys=True)
    approved(nb)
    assert json.dumps(nb, sort_keys=True) == before


# --- who may approve ------------------------------------------------------------------


def test_four_eyes_refuses_the_session_engineer() -> None:
    nb = runbook(cell("code", "ls"), session={"user": "bob"})
    with pytest.raises(Refused, match="four-eyes"):
        ap.check_approver(nb, "bob", four_eyes=True)
    ap.check_approver(nb, "bob", four_eyes=False)
    ap.check_approver(nb, "alice", four_eyes=True)


def test_autonomy_auto_needs_four_eyes_even_when_the_setting_is_off() -> None:
    nb = runbook(cell("code", "ls"), autonomy="auto", session={"user": "bob"})
    with pytest.raises(Refused, match="autonomy: auto"):
        ap.check_approver(nb, "bob", four_eyes=False)
    ap.check_approver(nb, "alice", four_eyes=False)
    unknown = runbook(cell("code", "ls"), autonomy="auto")
    with pytest.raises(Refused, match="autonomy: auto"):
        ap.check_approver(unknown, "alice", four_eyes=False)


def test_four_eyes_is_recorded_and_signed() -> None:
    nb = runbook(cell("code", "ls"), session={"user": "bob"})
    assert approved(nb, by="alice")["metadata"]["reifier"]["approval"]["four_eyes"] is True
    assert approved(nb, by="bob")["metadata"]["reifier"]["approval"]["four_eyes"] is False


def test_empty_approver_is_bad_input() -> None:
    with pytest.raises(BadInput):
        ap.check_approver(demo(), " ", four_eyes=False)


# --- allow map and guard ---------------------------------------------------------------


def test_resolve_allow_by_number_and_id() -> None:
    nb = demo()
    got = ap.resolve_allow(nb, [("3", "rm_empty_var"), ("fix", "rm_outside_scratch"),
                                ("1", "x")])
    assert got == {"1": ["x"], "3": ["rm_empty_var", "rm_outside_scratch"]}


@pytest.mark.parametrize("cell_ref", ["0", "5", "nope", "-1"])
def test_resolve_allow_rejects_unknown_cells(cell_ref: str) -> None:
    with pytest.raises(BadInput, match="no code cell"):
        ap.resolve_allow(demo(), [(cell_ref, "rm_empty_var")])


def wipe() -> NB:
    """A runbook whose fix cell the guard refuses (rm -rf "$DIR"/* with DIR maybe empty)."""
    return runbook(cell("code", "DIR=/tmp/cache", "parameters"), cell("code", 'rm -rf "$DIR"/*'))


def test_guard_refusals_name_cell_and_rule() -> None:
    # The default (/tmp/cache) is harmless, but DIR is unconstrained: an empty or
    # hostile value makes the cell `rm -rf /*`, so approval flags it.
    [refusal] = ap.guard_refusals(wipe(), {})
    assert refusal.cell == 2 and refusal.rules[0] == "rm_catastrophic"
    assert "parameter DIR has no constraint" in refusal.reason and "DIR=''" in refusal.reason
    assert ap.guard_refusals(wipe(), {"2": list(refusal.rules)}) == []
    constrained = wipe()
    constrained["metadata"]["reifier"]["parameters"] = {"DIR": {"path": {"under": ["/tmp/"]}}}
    assert ap.guard_refusals(constrained, {}) == []


# --- run admission ----------------------------------------------------------------------


def test_plan_orders_parameters_then_preconditions_then_the_rest() -> None:
    nb = runbook(
        cell("markdown", "# t"), cell("code", "echo fix"), cell("code", "A=1", "parameters"),
        cell("markdown", "Only do this if…"), cell("code", "true", "precondition"),
        cell("code", "echo verify"),
    )
    plan = ap.plan_run(inject_parameters(approved(nb), {"A": "2"}), KEY)
    cells = inject_parameters(nb, {"A": "2"})["cells"]
    assert [cells[i]["source"] for i in plan.order] == [
        "A=1", "# Parameters\nA='2'\n", "Only do this if…", "true", "# t", "echo fix",
        "echo verify"]
    assert plan.parameters == {"A": "2"} and plan.given == {"A": "2"}
    assert plan.preconditions == frozenset({5})


def test_plan_keeps_values_as_data() -> None:
    value = "$(touch /tmp/pwned); rm -rf ~"
    plan = ap.plan_run(inject_parameters(approved(), {"MSG": value}), KEY)
    assert plan.parameters["MSG"] == value


def test_plan_refuses_drafts_and_stale() -> None:
    with pytest.raises(Refused, match="draft"):
        ap.plan_run(demo(), KEY)
    nb = approved()
    nb["cells"][4]["source"] = "echo changed"
    with pytest.raises(Refused, match="stale: code cell 3 changed"):
        ap.plan_run(nb, KEY)


def test_plan_on_the_swapped_object_refuses() -> None:
    # What is checked is the object that would run: a copy edited after approval fails.
    good = approved()
    swapped = copy.deepcopy(good)
    swapped["cells"][5]["source"] = "touch /tmp/owned"
    ap.plan_run(good, KEY)
    with pytest.raises(Refused):
        ap.plan_run(swapped, KEY)


@pytest.mark.parametrize("name", ["NOPE", "X;rm"])
def test_plan_refuses_unknown_or_bad_names(name: str) -> None:
    nb = approved()
    injected = cell("code", f"# Parameters\n{name}='1'\n", INJECTED_TAG)
    nb["cells"].insert(2, injected)
    with pytest.raises((BadInput, Refused)):
        ap.plan_run(nb, KEY)


@pytest.mark.parametrize(
    "source",
    ["# Parameters\nMSG='a'; touch /tmp/x\n", "# Parameters\nMSG=$(id)\n", "rm -rf /\n",
     "# Parameters\nMSG='a'\necho hi\n"],
)
def test_plan_refuses_injected_cells_that_are_not_plain_assignments(source: str) -> None:
    nb = approved()
    nb["cells"].insert(2, cell("code", source, INJECTED_TAG))
    with pytest.raises(Refused, match="injected-parameters cell is not only"):
        ap.plan_run(nb, KEY)


def test_plan_refuses_a_misplaced_or_second_injected_cell() -> None:
    nb = approved()
    nb["cells"].append(cell("code", "# Parameters\nMSG='a'\n", INJECTED_TAG))
    with pytest.raises(Refused, match="does not follow"):
        ap.plan_run(nb, KEY)
    twice = inject_parameters(approved(), {"MSG": "a"})
    twice["cells"].insert(2, cell("code", "# Parameters\nMSG='b'\n", INJECTED_TAG))
    with pytest.raises(Refused, match="more than one"):
        ap.plan_run(twice, KEY)


def test_injected_cell_in_a_file_makes_it_stale() -> None:
    nb = inject_parameters(approved(), {"MSG": "a"})
    assert ap.verify(nb, KEY).status == "stale"
    assert ap.verify(nb, KEY, skip_injected=True).status == "approved"


def test_plan_judges_cells_with_the_run_values_and_the_signed_allow_list() -> None:
    ap.plan_run(approved(wipe()), KEY)  # the default /tmp/cache: rm -rf /tmp/cache/*
    hostile = inject_parameters(approved(wipe()), {"DIR": ""})
    with pytest.raises(Refused, match=r"code cell 2: refused by rule rm_catastrophic.* with DIR=''"):
        ap.plan_run(hostile, KEY)
    allowed = inject_parameters(approved(wipe(), allow={"2": ["rm_catastrophic"]}), {"DIR": ""})
    plan = ap.plan_run(allowed, KEY)
    assert plan.allow == {2: frozenset({"rm_catastrophic"})}  # index 1 is the injected cell


def test_plan_refuses_unresolvable_code_when_unattended() -> None:
    nb = runbook(cell("code", "X=1", "parameters"), cell("code", 'eval "$CMD"'))
    ok = approved(nb, allow={"2": ["unresolvable"]})
    ap.plan_run(ok, KEY)
    with pytest.raises(Refused, match="unresolvable"):
        ap.plan_run(ok, KEY, require_resolvable=True)
