"""Alignment scoring, the pattern index and alert matching (reifier.core.match)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reifier.core.config import Settings
from reifier.core.match import (
    DEFAULT_THRESHOLD,
    INSERT_PENALTY,
    LABEL_CONFIDENCE,
    Match,
    PatternIndex,
    align,
    match_alert,
)
from reifier.core.patterns import make_template, mask
from reifier.errors import BadInput

EVAL = Path(__file__).resolve().parents[1] / "data" / "logeval" / "eval.jsonl"
SSH_FAIL = "Nov 24 10:00:00 db1 sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2"
PG_DEADLOCK = "ERROR: deadlock detected while waiting for ShareLock on transaction 12345"
NG_REFUSED = "connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9"


def score(example: str, line: str) -> float:
    return align(make_template(example).tokens, mask(line).tokens).score


@pytest.fixture(scope="module")
def index() -> PatternIndex:
    return PatternIndex([
        ("ssh-brute-force", SSH_FAIL),
        ("ssh-login", "Accepted password for root from 10.0.0.1 port 22 ssh2"),
        ("fix-db-lockup", PG_DEADLOCK),
        ("fix-db-lockup", "FATAL:  sorry, too many clients already"),
        ("upstream-down", NG_REFUSED),
    ])


def test_default_threshold_is_the_settings_default() -> None:
    assert Settings().match_threshold == DEFAULT_THRESHOLD


def test_other_values_of_the_same_error_score_one() -> None:
    assert score(SSH_FAIL, "2024-02-03T04:05:06+00:00 web-9 sshd[777]: Failed password for bob from 192.168.3.4 port 50022 ssh2") == 1.0
    assert score(PG_DEADLOCK, "2023-11-24 10:00:00.123 UTC [812] ERROR:  deadlock detected while waiting for ShareLock on transaction 98765") == 1.0


@pytest.mark.parametrize(("example", "line"), [
    (SSH_FAIL, "Accepted password for root from 10.0.0.1 port 22 ssh2"),
    (NG_REFUSED, "connect() failed (104: Connection reset) while connecting to upstream, client: 10.0.0.9"),
    (PG_DEADLOCK, "ERROR: deadlock detected while waiting for ExclusiveLock on transaction 12345"),
])
def test_one_different_word_falls_below_the_threshold(example: str, line: str) -> None:
    assert score(example, line) < DEFAULT_THRESHOLD


def test_a_substitution_costs_the_insert_penalty_however_long_the_template() -> None:
    words = [f"word{i}x" for i in range(40)]
    changed = [*words[:20], "other", *words[21:]]
    got = score(" ".join(words), " ".join(changed))
    assert got < DEFAULT_THRESHOLD
    assert got == pytest.approx(39 / 40 * INSERT_PENALTY)


def test_a_missing_word_in_a_long_template_still_matches() -> None:
    got = score(PG_DEADLOCK, "ERROR: deadlock detected while waiting for ShareLock transaction 12345")
    assert DEFAULT_THRESHOLD <= got < 1.0


def test_words_around_the_message_only_dilute_the_score() -> None:
    got = score(PG_DEADLOCK, "orders-db said: ERROR: deadlock detected while waiting for ShareLock on transaction 7, retrying now")
    assert 0.85 <= got < 1.0


def test_alignment_pairs_are_in_order() -> None:
    result = align(make_template(SSH_FAIL).tokens, mask("x y Failed password for bob from 1.1.1.1 port 2 ssh2").tokens)
    assert [j for _, j in result.pairs] == sorted(j for _, j in result.pairs)
    assert result.pairs[0] == (0, 2)


def test_match_returns_runbook_pattern_and_variables(index: PatternIndex) -> None:
    (m,) = index.match("Dec  1 03:04:05 web2 sshd[9]: Failed password for alice from 10.9.8.7 port 50022 ssh2",
                       threshold=0.8)
    assert isinstance(m, Match)
    assert m.runbook_id == "ssh-brute-force"
    assert m.score == 1.0
    assert m.pattern == "Failed password for <USER> from <IP> port <NUM> ssh2"
    assert m.variables == (("USER", "alice"), ("IP", "10.9.8.7"), ("NUM", "50022"))
    assert m.matched_tokens == ("failed", "password", "for", "from", "port", "ssh2")


def test_near_miss_ranks_below_and_is_cut_by_threshold(index: PatternIndex) -> None:
    line = "Accepted password for alice from 10.9.8.7 port 50022 ssh2"
    assert [m.runbook_id for m in index.match(line, threshold=0.8)] == ["ssh-login"]
    ranked = index.match(line, threshold=0.3, limit=5)
    assert [m.runbook_id for m in ranked][:2] == ["ssh-login", "ssh-brute-force"]
    assert ranked[0].score > ranked[1].score


def test_one_match_per_runbook_and_limit(index: PatternIndex) -> None:
    found = index.match("FATAL:  sorry, too many clients already", threshold=0.0, limit=10)
    ids = [m.runbook_id for m in found]
    assert len(ids) == len(set(ids))
    assert ids[0] == "fix-db-lockup"
    assert len(index.match("FATAL:  sorry, too many clients already", threshold=0.0, limit=1)) == 1
    assert index.match("FATAL:  sorry, too many clients already", threshold=0.0, limit=0) == ()


def test_unrelated_line_matches_nothing(index: PatternIndex) -> None:
    assert index.match("GET /healthz returned 200 in 3ms", threshold=0.8) == ()
    assert index.match("", threshold=0.8) == ()


def test_bad_threshold_or_limit_is_bad_input(index: PatternIndex) -> None:
    with pytest.raises(BadInput):
        index.match("x", threshold=1.5)
    with pytest.raises(BadInput):
        index.match("x", threshold=0.8, limit=-1)


def test_patterns_without_constant_words_are_skipped() -> None:
    idx = PatternIndex([("a", "12345 10.0.0.1"), ("b", "   "), ("c", PG_DEADLOCK), ("c", PG_DEADLOCK)])
    assert len(idx) == 1
    assert [(rb, reason.split(":")[0]) for rb, _, reason in idx.skipped] == [
        ("a", "no constant word"), ("b", "blank pattern")]


def test_index_finds_what_a_full_scan_finds() -> None:
    rows = [json.loads(x) for x in EVAL.read_text().splitlines() if x.strip()]
    idx = PatternIndex((r["template_id"], r["line"]) for r in rows if r["role"] == "example")
    for r in rows[::3]:
        by_index = idx.match(r["line"], threshold=0.8, limit=3)
        full = idx._hits(mask(r["line"]).tokens, 0.8, everything=True)
        assert [m.runbook_id for m in by_index] == [idx.entries[h.entry].runbook_id for h in full[:3]], r["line"]


def test_match_alert_by_labels() -> None:
    idx = PatternIndex([("fix-db-lockup", PG_DEADLOCK)])
    matchers = [("fix-db-lockup", {"alertname": "PostgresLocks"}), ("pager", {"severity": "=~crit.*|page"}),
                ("not-dev", {"env": "!=dev", "alertname": "PostgresLocks"})]
    found = match_alert({"alertname": "PostgresLocks", "severity": "critical", "env": "prod"}, {}, matchers, idx)
    assert {m.runbook_id for m in found} == {"fix-db-lockup", "pager", "not-dev"}
    assert all(m.score == LABEL_CONFIDENCE for m in found)
    pager = next(m for m in found if m.runbook_id == "pager")
    assert pager.matched_tokens == ("severity=critical",)
    assert pager.pattern == "severity=~crit.*|page"


def test_match_alert_combines_labels_and_annotation_text() -> None:
    idx = PatternIndex([("fix-db-lockup", PG_DEADLOCK), ("upstream-down", NG_REFUSED)])
    annotations = {"summary": "Locks piling up", "description": "postgres reports:\nERROR: deadlock detected while waiting for ShareLock on transaction 4"}
    both = match_alert({"alertname": "PostgresLocks"}, annotations, [("fix-db-lockup", {"alertname": "PostgresLocks"})], idx)
    text_only = match_alert({"alertname": "Other"}, annotations, [("fix-db-lockup", {"alertname": "PostgresLocks"})], idx)
    assert [m.runbook_id for m in both] == ["fix-db-lockup"]
    assert [m.runbook_id for m in text_only] == ["fix-db-lockup"]
    assert both[0].score > LABEL_CONFIDENCE
    assert text_only[0].score == 1.0 and both[0].score == 1.0
    assert both[0].matched_tokens[0] == "alertname=PostgresLocks"
    assert both[0].variables == (("NUM", "4"),)


def test_match_alert_from_a_real_alertmanager_payload(fixtures_dir: Path) -> None:
    payload = json.loads((fixtures_dir / "alertmanager" / "alertmanager_webhook_types_sample_v4.json").read_text())
    alert = payload["alerts"][0]
    idx = PatternIndex([("probe-down", "BlackBox Probe Failure: https://other.example.com")])
    found = match_alert(alert["labels"], alert["annotations"], [("sev", {"severity": "warning"})], idx)
    assert [m.runbook_id for m in found] == ["probe-down"]
    assert found[0].variables == (("URL", "https://server.example.org"),)


def test_match_alert_rejects_bad_regex_and_ignores_empty_matchers() -> None:
    idx = PatternIndex([("x", PG_DEADLOCK)])
    with pytest.raises(BadInput):
        match_alert({"a": "b"}, {}, [("x", {"a": "=~("})], idx)
    assert match_alert({"a": "b"}, {}, [("x", {})], idx) == ()


def test_fast_match_objects_equal_constructed_ones() -> None:
    from reifier.core.match import Match, PatternIndex

    idx = PatternIndex([("rb", "ERROR: disk /dev/sda1 is full at 99%")])
    (m,) = idx.match("ERROR: disk /dev/sdb2 is full at 97%", threshold=0.5)
    rebuilt = Match(m.runbook_id, m.pattern_id, m.score, m.matched_tokens, m.variables, m.pattern)
    assert m == rebuilt and hash(m) == hash(rebuilt) and repr(m) == repr(rebuilt)


def test_match_file_writer_prints_what_json_dumps_would() -> None:
    import json

    from reifier.cli.match import _Formatter, match_dict
    from reifier.core.match import Match

    runbooks = {"rb-é": {"title": 'Tïtle "q"', "path": "/w/é.ipynb"}, "rb2": {}}
    words = ("disk", "full")
    lines = [
        ('disk "x\\y" full \u2028 é', (
            Match("rb-é", "p1", 0.9, words, (("STR", '"x\\y"'), ("PATH", "/é\t")), 'disk <STR> "é"'),
            Match("rb2", "p2", 0.85, ("disk",), (("STR", '"x\\y"'), ("PATH", "/é\t")), "disk <*>"),
            Match("rb2", "p3", 0.8, (), (), "no words at all"),
        )),
        ("nothing", ()),
    ]
    fmt = _Formatter(runbooks)
    for _ in range(2):  # the second time from the memo
        for line, matches in lines:
            assert fmt.json_line(line, matches) == json.dumps(
                match_dict(line, matches, runbooks), sort_keys=True) + "\n"
    text = fmt.text("title", lines[0][1])
    assert text.splitlines()[1] == "  0.90  rb-é  (/w/é.ipynb)"
    assert 'variables: STR="x\\y", PATH=/é' in text


def test_identifier_with_other_digits_matches_as_a_variable() -> None:
    index = PatternIndex([("lustre", "Lustre mount FAILED : bglio559 : point /p/gb1"),
                          ("core", "generating core.2275")])
    found = index.match("Lustre mount FAILED : bglio46 : point /p/gb1")
    assert found and found[0].runbook_id == "lustre" and found[0].score < 1.0
    assert index.match("generating core.862")[0].runbook_id == "core"
    # another word in its place is still a different message
    assert not index.match("Lustre mount FAILED : unknown : point /p/gb1")


def test_short_template_demands_the_line_be_about_it() -> None:
    index = PatternIndex([("warn", "warning"), ("link", "Link error")])
    assert index.match("warning")[0].runbook_id == "warn"
    assert not index.match("Temperature (41C) exceeds warning threshold")
    assert not index.match("Link error on broadcast tree Interconnect-0T00:00:2:1")


def test_equal_scores_prefer_the_example_with_the_same_values() -> None:
    index = PatternIndex([("active", "Location icon should now be in state 'Active'"),
                          ("inactive", "Location icon should now be in state 'Inactive'")])
    assert index.match("Location icon should now be in state 'Inactive'")[0].runbook_id == "inactive"
    assert index.match("Location icon should now be in state 'Active'")[0].runbook_id == "active"
    assert index.match_masked(mask("Location icon should now be in state 'Inactive'"))[0].runbook_id \
        == "inactive"
