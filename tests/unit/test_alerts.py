"""Alertmanager webhook payloads: validation, unpacking, fingerprints and times."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reifier.core.alerts import (
    ALERT_FIELDS,
    PAYLOAD_FIELDS,
    FieldRule,
    fingerprint,
    parse_payload,
    parse_time,
)
from reifier.errors import BadInput

NOW = 1_800_000_000.0  # 2027-01-15


def load(fixtures_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir / "alertmanager" / name).read_text())
    return data


def test_modern_sample_keeps_its_fingerprint_and_times(fixtures_dir: Path) -> None:
    payload = parse_payload(load(fixtures_dir, "alertmanager_webhook_types_sample_v4.json"), NOW)
    [alert] = payload.alerts
    assert payload.receiver == "sms" and payload.truncated_alerts == 0
    assert alert.fingerprint == "1a30ba71cca2921f" and alert.fingerprint_given
    assert alert.status == "firing" and alert.ends_at is None and alert.ends_ts is None
    assert alert.starts_at == "2023-02-06T13:08:45.828000Z"
    assert alert.starts_ts == pytest.approx(1675688925.828)
    assert alert.key == "1a30ba71cca2921f@2023-02-06T13:08:45.828000Z"
    assert alert.labels["instance"] == "https://server.example.org"
    assert alert.annotations["summary"].startswith("BlackBox Probe Failure")
    assert "\\u0026" in alert.generator_url  # kept as published (double-escaped)


def test_old_msteams_payload_gets_computed_fingerprint_and_status(fixtures_dir: Path) -> None:
    payload = parse_payload(load(fixtures_dir, "msteams_prom_post_request.json"), NOW)
    [alert] = payload.alerts
    assert not alert.fingerprint_given
    assert alert.fingerprint == fingerprint(alert.labels) and len(alert.fingerprint) == 16
    assert alert.status == "firing"  # no per-alert status, endsAt is Go's zero time
    # nanoseconds truncated to microseconds, -05:00 converted to UTC
    assert alert.starts_at == "2018-03-07T11:33:21.873077Z"


def test_grouped_payload_unpacks_every_alert(fixtures_dir: Path) -> None:
    payload = parse_payload(load(fixtures_dir, "msteams_prom_post_request_2_alerts.json"), NOW)
    assert [a.name for a in payload.alerts] == ["high_memory_load", "high_memory_load2"]
    assert len({a.key for a in payload.alerts}) == 2


def test_fingerprint_is_alertmanagers() -> None:
    # Checked against a real Alertmanager 0.25 (GET /api/v2/alerts after posting these labels).
    labels = {"alertname": "ProbeFailure", "instance": "https://server.example.org",
              "job": "http_checks", "monitor": "master", "severity": "critical"}
    assert fingerprint(labels) == "fe986f5dcb3e6510"
    assert fingerprint(dict(reversed(labels.items()))) == "fe986f5dcb3e6510"
    assert fingerprint({}) == "cbf29ce484222325"  # FNV-1a offset basis: the empty set
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})  # the separator counts


def test_resolved_status_is_derived_from_ends_at_when_missing() -> None:
    data = {"version": "4", "alerts": [
        {"labels": {"alertname": "A"}, "startsAt": "2027-01-15T07:00:00Z",
         "endsAt": "2027-01-15T07:30:00+00:00"},
        {"labels": {"alertname": "B"}, "startsAt": "2027-01-15T07:00:00Z",
         "endsAt": "2099-01-01T00:00:00Z"}]}
    done, future = parse_payload(data, NOW).alerts
    assert done.status == "resolved" and done.ends_ts == pytest.approx(done.starts_ts + 1800)
    assert future.status == "firing" and future.ends_ts is None  # resolve_timeout guess


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-02-06T13:08:45.828Z", "2023-02-06T13:08:45.828000+00:00"),
    ("2018-03-07T06:33:21.873077559-05:00", "2018-03-07T11:33:21.873077+00:00"),
    ("2023-02-06t13:08:45z", "2023-02-06T13:08:45+00:00"),
    ("0001-01-01T00:00:00Z", None),
])
def test_parse_time(text: str, expected: str | None) -> None:
    when = parse_time(text, "t")
    assert (when.isoformat() if when else None) == expected


@pytest.mark.parametrize("text", ["yesterday", "2023-02-30T00:00:00Z", "2023-02-06T13:08:45",
                                  "2023-02-06T25:00:00Z", "1969-12-31T23:59:59Z",
                                  "2023-02-06T13:08:45+24:00", "9999-12-31T23:59:59-01:00"])
def test_bad_times_are_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="t:"):
        parse_time(text, "t")


def _valid() -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "r", "groupKey": "{}",
            "truncatedAlerts": 0, "externalURL": "http://am", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {},
            "alerts": [{"labels": {"alertname": "X"}, "annotations": {"summary": "s"},
                        "startsAt": "2027-01-15T07:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                        "status": "firing", "generatorURL": "", "fingerprint": "abc"}]}


def test_valid_template_parses() -> None:
    assert len(parse_payload(_valid(), NOW).alerts) == 1


@pytest.mark.parametrize("rule", PAYLOAD_FIELDS, ids=lambda r: r.name)
def test_payload_field_rule_rejects_its_example(rule: FieldRule) -> None:
    assert not rule.check(rule.example)
    data = _valid()
    data[rule.name] = rule.example
    with pytest.raises(BadInput, match=f"^{rule.name}"):
        parse_payload(data, NOW)


@pytest.mark.parametrize("rule", ALERT_FIELDS, ids=lambda r: r.name)
def test_alert_field_rule_rejects_its_example(rule: FieldRule) -> None:
    assert not rule.check(rule.example)
    data = _valid()
    data["alerts"][0][rule.name] = rule.example
    with pytest.raises(BadInput, match=rf"^alerts\[0\]\.{rule.name}"):
        parse_payload(data, NOW)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: d.pop("version"), "version: missing"),
    (lambda d: d.pop("alerts"), "alerts: missing"),
    (lambda d: d["alerts"][0].pop("labels"), r"alerts\[0\].labels: missing"),
    (lambda d: d["alerts"][0].pop("startsAt"), r"alerts\[0\].startsAt: missing"),
    (lambda d: d["alerts"].append("x"), r"alerts\[1\]: must be an object"),
    (lambda d: d["alerts"][0]["labels"].update(severity=3), r"labels.severity: must be a string"),
    (lambda d: d["alerts"][0].update(startsAt="0001-01-01T00:00:00Z"), "zero time"),
    (lambda d: d.update(version=4), 'must be "4"'),
])
def test_bad_payloads_name_the_field(mutate: Any, reason: str) -> None:
    data = copy.deepcopy(_valid())
    mutate(data)
    with pytest.raises(BadInput, match=reason):
        parse_payload(data, NOW)


@pytest.mark.parametrize("data", [None, [], "x", 4, [{"version": "4"}]])
def test_payload_must_be_an_object(data: Any) -> None:
    with pytest.raises(BadInput, match="payload: must be a JSON object"):
        parse_payload(data, NOW)


def test_props_hold_what_the_scribe_reads() -> None:
    [alert] = parse_payload(_valid(), NOW).alerts
    props = alert.props()
    assert {"labels", "annotations", "starts_ts", "ends_ts", "fingerprint", "startsAt",
            "endsAt", "status", "generatorURL"} <= set(props)
    assert json.loads(json.dumps(props)) == props


def test_lone_surrogates_become_replacement_characters() -> None:
    data = _valid()
    data["alerts"][0]["labels"] = {"alertname": "X\ud800", "\udc00k": "v"}
    data["alerts"][0]["annotations"] = {"summary": "bad \ud800 text \U0001f600"}
    [alert] = parse_payload(data, NOW).alerts
    assert alert.labels == {"alertname": "X\ufffd", "\ufffdk": "v"}
    assert alert.annotations["summary"] == "bad \ufffd text \U0001f600"
    json.dumps(alert.props()).encode("utf-8")  # storable and printable

