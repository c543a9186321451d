"""Prefix stripping, variable masking and drain3 templates (reifier.core.patterns)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reifier.core.patterns import (
    MASKS,
    PREFIXES,
    SPANS,
    clear_caches,
    is_slot,
    learn_templates,
    make_template,
    mask,
    masked_text,
    strip_prefix,
)
from reifier.errors import BadInput

EVAL = Path(__file__).resolve().parents[1] / "data" / "logeval" / "eval.jsonl"


@pytest.mark.parametrize("rule", PREFIXES, ids=lambda p: p.name)
def test_prefix_rule_example_strips_to_rest(rule) -> None:
    assert strip_prefix(rule.example) == rule.rest


@pytest.mark.parametrize("rule", MASKS, ids=lambda r: f"{r.kind}:{r.value}")
def test_mask_rule_example_masks_its_value(rule) -> None:
    variables = mask(rule.example).variables
    kind = rule.value[1:-1] if rule.kind == "*" else rule.kind
    assert (kind, rule.value) in variables


@pytest.mark.parametrize("rule", SPANS, ids=lambda r: f"{r.kind or 'keep'}:{r.value}")
def test_span_rule_example(rule) -> None:
    masked = mask(rule.example)
    if rule.kind:
        assert rule.value in [value for _, value in masked.variables]
    else:  # kept as words, so no later rule can mask it
        assert rule.value.strip("'").replace("-", " ").split()[0].lower() in masked.tokens
        assert rule.value not in [value for _, value in masked.variables]


@pytest.mark.parametrize(("a", "b"), [
    ("Nov 24 10:00:00 db1 sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2",
     "Dec  1 23:59:59 web-7 sshd[31337]: Failed password for alice from 2001:db8::1 port 50111 ssh2"),
    ("2023-11-24 10:00:00.123 UTC [812] ERROR:  relation \"users\" does not exist at character 15",
     "2025-01-02 03:04:05.999 UTC [9] app@db ERROR:  relation \"public.orders\" does not exist at character 7"),
    ("Back-off restarting failed container app in pod web-7d9f8b6c5d-x2x7k_default(8a3f1c2e-1b2c-4d5e-8f90-123456789abc)",
     "Back-off restarting failed container istio-proxy in pod api-5c9b7f8d6-qz8wt_payments(0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d)"),
    ("job took 1m30.5s, wrote 512MiB to /var/lib/app/data.bin at 0x7f3a2b1c",
     "job took 250ms, wrote 3GiB to /srv/export/2024-01-05.csv at 0xdeadbeef99"),
    ("upstream http://10.0.0.1:8080/api failed for ops@example.com since 2024-01-05T10:00:00Z",
     "upstream https://api.internal:443/v2?x=1 failed for dev.team+alerts@acme.io since 2023-12-31T23:59:59.5+01:00"),
])
def test_instances_of_one_error_mask_alike(a: str, b: str) -> None:
    assert mask(a).tokens == mask(b).tokens


@pytest.mark.parametrize(("a", "b"), [
    ("Failed password for root from 1.2.3.4 port 22 ssh2", "Accepted password for root from 1.2.3.4 port 22 ssh2"),
    ("connect() failed (111: Connection refused)", "connect() failed (104: Connection reset)"),
    ("nginx.service: Failed with result 'exit-code'.", "nginx.service: Failed with result 'oom-kill'."),
])
def test_different_errors_mask_differently(a: str, b: str) -> None:
    assert mask(a).tokens != mask(b).tokens


def test_memoized_shapes_keep_digit_words_and_status_codes_apart() -> None:
    clear_caches()
    # same line once every digit is zeroed, so these share a memo key
    assert mask('1.2.3.4 - - [24/Nov/2023:10:00:00 +0000] "GET / HTTP/1.1" 502 7 "-" "-"').tokens.count("502") == 1
    other = mask('1.2.3.4 - - [24/Nov/2023:10:00:00 +0000] "GET / HTTP/1.1" 200 7 "-" "-"')
    assert "200" in other.tokens and "502" not in other.tokens
    assert "ssh2" in mask("Failed password for root from 1.2.3.4 port 22 ssh2").tokens
    assert "ssh1" in mask("Failed password for root from 1.2.3.4 port 22 ssh1").tokens


def test_variables_keep_their_text_and_order() -> None:
    masked = mask("Dec  1 23:59:59 web-7 sshd[31337]: Failed password for alice from 10.9.8.7 port 50111 ssh2")
    assert masked.variables == (("USER", "alice"), ("IP", "10.9.8.7"), ("NUM", "50111"))
    assert sum(map(is_slot, masked.tokens)) == len(masked.variables)


def test_make_template_matches_the_line_masker_on_every_eval_example() -> None:
    examples = [json.loads(x)["line"] for x in EVAL.read_text().splitlines() if '"example"' in x]
    assert len(examples) > 80
    for example in examples:
        assert make_template(example).tokens == mask(example).tokens, example


def test_template_text_id_and_example() -> None:
    t = make_template("Nov 24 10:00:00 db1 sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2")
    assert t.text == "Failed password for <USER> from <IP> port <NUM> ssh2"
    assert t.constants == ("failed", "password", "for", "from", "port", "ssh2")
    assert t.pattern_id == make_template("Failed password for bob from 10.1.1.1 port 2222 ssh2").pattern_id
    assert t.pattern_id != make_template("Accepted password for bob from 10.1.1.1 port 2222 ssh2").pattern_id
    assert t.example.startswith("Nov 24")


def test_author_written_placeholders_are_slots() -> None:
    t = make_template("Failed password for <*> from <IP> port <NUM> ssh2")
    assert t.tokens == ("failed", "password", "for", "<*>", "from", "<IP>", "port", "<NUM>", "ssh2")


def test_learn_templates_merges_examples_of_one_error_only() -> None:
    merged = learn_templates([
        "backup job nightly finished with warnings on volume alpha",
        "backup job weekly finished with warnings on volume alpha",
        "Out of memory: Killed process 4242 (java)",
    ])
    assert [t.text for t in merged] == [
        "backup job <*> finished with warnings on volume alpha",
        "Out of memory: Killed process <NUM> (<NAME>)",
    ]
    assert merged[0].example.startswith("backup job nightly")


def test_blank_example_is_bad_input() -> None:
    with pytest.raises(BadInput):
        make_template("   ")


def test_masked_text_shows_typed_slots() -> None:
    assert masked_text("2023/11/24 10:00:00 [error] 7#7: *9 open() \"/x/y.html\" failed (2: No such file)") == (
        "open() <STR> failed (<NUM>: No such file)"
    )


def test_drain3_writes_no_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_template("disk full on /dev/sda1")
    assert list(tmp_path.iterdir()) == []


def test_a_long_unbroken_run_is_one_blob_variable() -> None:
    blob = "a-" * 2000
    masked = mask(f"payload {blob} rejected")
    assert masked.tokens == ("payload", "<BLOB>", "rejected")
    assert masked.variables == (("BLOB", blob),)


def test_stored_templates_are_reused_only_under_the_same_tables() -> None:
    from reifier.core.patterns import TABLES_VERSION, stored_template, template_props

    example = "Nov 24 10:00:00 db1 sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2"
    built = make_template(example)
    props = json.loads(json.dumps(template_props(built)))  # as the store keeps it
    assert props["v"] == TABLES_VERSION
    assert stored_template(example, props) == built
    forged = {**props, "tokens": ["nothing", "alike"]}
    assert stored_template(example, forged).tokens == ("nothing", "alike")  # trusted as stored
    assert stored_template(example, {**forged, "v": "older-tables"}) == built  # rebuilt
    assert stored_template(example, None) == built
