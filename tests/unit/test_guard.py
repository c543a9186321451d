"""The safety guard: fixtures, every rule's examples, allow semantics, notebooks, fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reifier.core.guard import (
    DANGER_RULES,
    RULE_NAMES,
    UNRESOLVABLE,
    GuardVerdict,
    check_notebook,
    evaluate,
)
from reifier.core.guard_args import Arg, path_kind
from reifier.core.guard_parse import collect

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"


def _lines(name: str) -> list[str]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@pytest.mark.parametrize("command", _lines("commands_dangerous.txt"))
def test_dangerous_fixture_is_refused(command: str) -> None:
    verdict = evaluate(command)
    assert not verdict.allowed, command
    assert verdict.findings


@pytest.mark.parametrize("command", _lines("commands_benign.txt"))
def test_benign_fixture_is_allowed(command: str) -> None:
    verdict = evaluate(command)
    assert verdict.allowed, verdict.reason
    assert verdict.findings == ()


RULE_EXAMPLES = [(r.name, ex) for r in DANGER_RULES for ex in r.examples]
RULE_COUNTERS = [(r.name, ex) for r in DANGER_RULES for ex in r.counterexamples]


@pytest.mark.parametrize(("rule", "command"), RULE_EXAMPLES)
def test_rule_example_is_refused_by_that_rule(rule: str, command: str) -> None:
    verdict = evaluate(command)
    assert not verdict.allowed
    assert rule in {f.rule for f in verdict.findings}, verdict.reason


@pytest.mark.parametrize(("rule", "command"), RULE_COUNTERS)
def test_rule_counterexample_is_allowed(rule: str, command: str) -> None:
    verdict = evaluate(command)
    assert verdict.allowed, f"{rule}: {verdict.reason}"


def test_rule_table_is_well_formed() -> None:
    names = [r.name for r in DANGER_RULES]
    assert len(names) == len(set(names)) == len(RULE_NAMES)
    assert UNRESOLVABLE in RULE_NAMES
    for rule in DANGER_RULES:
        assert rule.examples and rule.counterexamples and rule.description, rule.name


@pytest.mark.parametrize("command", [
    "sudo rm -rf /", "sudo -u root -- rm -rf /", "env X=1 rm -rf /", "nohup rm -rf / &",
    "timeout -s KILL 5 rm -rf /", "nice -n 10 rm -rf /", "command rm -rf /", "exec rm -rf /",
    "time rm -rf /", "/usr/bin/rm -rf /", "\\rm -rf /", '"rm" -rf /', "$'\\x72\\x6d' -rf /",
    "sudo bash -c 'rm -rf /'", "bash -lc 'rm -rf /'", "eval 'rm -rf /'", "ssh web1 'rm -rf /'",
    "watch -n 5 'rm -rf /'", "su -c 'rm -rf /' root", "echo $(rm -rf /)", "f(){ rm -rf /; }",
    "bash <<'EOF'\nrm -rf /\nEOF", "if true; then rm -rf /; fi", "(cd /tmp && rm -rf /)",
    "find . -exec rm -rf / \\;", "alias x='rm -rf /'", "ssh db1 <<EOF\nsudo rm -rf /\nEOF",
    "cd /; bash -c 'rm -rf etc'", "xargs -0 rm -rf / < f", "sudo su -c 'rm -rf /'",
])
def test_wrappers_and_code_strings_are_seen_through(command: str) -> None:
    verdict = evaluate(command)
    assert "rm_catastrophic" in {f.rule for f in verdict.findings}, verdict.reason


@pytest.mark.parametrize(("text", "kind"), [
    ("/", "root"), ("//", "root"), ("/./", "root"), ("/*", "root"), ("/tmp/../..", "root"),
    ("/tmp/../etc", "system"), ("/etc", "system"), ("/var/lib", "system"),
    ("/usr/local/bin/x", "system"), ("/home/alice", "system"), ("/data", "system"),
    ("/srv/app/releases/1", "outside"), ("/tmp/build", "scratch"), ("/dev/shm/x", "scratch"),
    ("~", "home"), ("~/", "home"), ("~/*", "home"), ("~alice", "home"), ("~/src", "outside"),
    (".", "cwd"), ("..", "cwd"), ("*", "cwd"), ("./*", "cwd"), ("../..", "cwd"), (".*", "cwd"),
    ("build", "relative"), ("./build/*", "relative"),
])
def test_literal_paths_are_normalised_and_classified(text: str, kind: str) -> None:
    assert path_kind(Arg(text, text, "*" in text))[0] == kind


@pytest.mark.parametrize(("raw", "kind"), [
    ('"$X/"*', "emptyvar"), ("$X/", "emptyvar"), ("${X}/etc", "emptyvar"),
    ('"${X:?}/"*', "guarded"), ("${X?unset}/a", "guarded"), ("$HOME", "home"),
    ("${HOME}/", "home"), ("$HOME/src", "outside"), ('"$X"', "unknown"), ("$(cat f)", "unknown"),
])
def test_dynamic_paths_are_judged_by_their_leading_variable(raw: str, kind: str) -> None:
    assert path_kind(Arg(raw.replace('"', ""), raw, True))[0] == kind


def test_known_working_directory_resolves_relative_paths() -> None:
    assert evaluate("rm -rf etc").allowed
    assert not evaluate("rm -rf etc", cwd="/").allowed
    assert not evaluate("rm -rf *", cwd="~").allowed
    assert evaluate("rm -rf build", cwd="/srv/app").allowed


def test_allow_waives_only_the_named_rules() -> None:
    cmd = "rm -rf /srv/app/old && git reset --hard"
    assert not evaluate(cmd).allowed
    half = evaluate(cmd, allow=frozenset({"rm_outside_scratch"}))
    assert not half.allowed
    assert [f.rule for f in half.blocking] == ["git_discard"]
    full = evaluate(cmd, allow=frozenset({"rm_outside_scratch", "git_discard"}))
    assert full.allowed
    assert {f.rule for f in full.findings} == {"rm_outside_scratch", "git_discard"}
    assert "approver" in full.reason


def test_unresolvable_can_be_allowed_except_when_resolution_is_required() -> None:
    allow = frozenset({UNRESOLVABLE})
    assert not evaluate("$CMD --now").allowed
    assert evaluate("$CMD --now", allow=allow).allowed
    strict = evaluate("$CMD --now", allow=allow, require_resolvable=True)
    assert not strict.allowed
    assert strict.findings[0].unknown


def test_an_allowed_unknown_does_not_hide_a_known_danger() -> None:
    verdict = evaluate("$X; rm -rf /", allow=frozenset({UNRESOLVABLE}))
    assert not verdict.allowed
    assert verdict.blocking[0].rule == "rm_catastrophic"


def test_reason_names_rule_and_offending_part() -> None:
    cmd = "echo start; sudo rm -rf /etc; echo done"
    verdict = evaluate(cmd)
    assert verdict.reason.startswith("refused by rule rm_catastrophic")
    assert "/etc" in verdict.reason
    finding = verdict.findings[0]
    assert cmd[finding.span[0]:finding.span[1]] == finding.snippet == "sudo rm -rf /etc"
    assert evaluate("ls").reason == "allowed: no rule matched"


def test_bodies_of_shell_code_strings_get_their_own_verdict() -> None:
    assert evaluate("bash -c 'ls -la /etc'").allowed
    assert evaluate("sh <<<'kubectl get ns'").allowed
    dynamic = evaluate('bash -c "rm -rf $TARGET"')
    assert [f.rule for f in dynamic.findings] == [UNRESOLVABLE]


def test_alias_used_in_the_same_command_is_expanded_where_it_is_called() -> None:
    assert evaluate("alias k='kubectl'; k get pods").allowed
    assert "kubectl_delete" in {f.rule for f in evaluate("alias k=kubectl; k delete ns x").findings}
    verdict = evaluate('alias k="$X"; k get pods')
    assert {f.rule for f in verdict.findings} == {UNRESOLVABLE}
    assert any("alias" in f.message for f in verdict.findings)


def test_parse_errors_are_unresolvable() -> None:
    verdict = evaluate("echo $(( ")
    assert UNRESOLVABLE in {f.rule for f in verdict.findings}


def test_collect_records_pipeline_feeder_and_heredoc() -> None:
    invs = {i.name: i for i in collect("curl -s x | tee f | sudo bash")}
    assert invs["tee"].stdin_from == "curl"
    assert invs["bash"].stdin_from == "tee" and invs["bash"].forked
    heredoc = {i.name: i for i in collect("psql <<EOF\nSELECT 1;\nEOF\necho ok")}
    assert heredoc["psql"].stdin_text == "SELECT 1;\n"
    assert heredoc["echo"].stdin_text is None


def test_verdict_is_cached_and_stable() -> None:
    first = evaluate("rm -rf /")
    assert evaluate("rm -rf /") == first
    assert isinstance(first, GuardVerdict)


def _nb(*cells: dict[str, object]) -> dict[str, object]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source: object, **meta: object) -> dict[str, object]:
    return {"cell_type": "code", "source": source, "metadata": dict(meta), "id": "c"}


def test_check_notebook_judges_code_cells_only() -> None:
    nb = _nb(
        _code("TARGET='/'\nrm -rf /", tags=["parameters"]),
        {"cell_type": "markdown", "source": "rm -rf /", "metadata": {}},
        _code(["kubectl get pods\n", "kubectl delete ns prod\n"]),
        _code("ls"),
        _code("git reset --hard", reifier={"allow": ["git_discard"]}),
    )
    verdicts = check_notebook(nb)
    assert [v.index for v in verdicts] == [2, 3, 4]
    assert [v.verdict.allowed for v in verdicts] == [False, True, True]
    assert verdicts[0].verdict.findings[0].rule == "kubectl_delete"
    override = check_notebook(nb, allow={2: frozenset({"kubectl_delete"})})
    assert override[0].verdict.allowed and not override[2].verdict.allowed


def test_check_notebook_tolerates_odd_shapes() -> None:
    assert check_notebook({}) == []
    assert check_notebook({"cells": [None, 3, {"cell_type": "code"}]})[0].verdict.allowed


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_evaluate_never_raises_on_any_text(text: str) -> None:
    assert isinstance(evaluate(text), GuardVerdict)


SHELLISH = st.text(alphabet=list("rm -f/~*$(){}|&;<>'\"\\`\nabcEOF=.:!#"), max_size=60)


@settings(max_examples=500, deadline=None)
@given(SHELLISH)
def test_evaluate_never_raises_on_shell_syntax_soup(text: str) -> None:
    verdict = evaluate(text, allow=frozenset({UNRESOLVABLE}))
    for finding in verdict.findings:
        assert 0 <= finding.span[0] <= finding.span[1] <= len(text)
