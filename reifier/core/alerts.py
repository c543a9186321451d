"""Alertmanager webhook payloads (version 4): validate, then unpack into frozen alerts.

Alertmanager groups alerts; :func:`parse_payload` checks the whole payload and
returns every alert of the group on its own, so one bad alert rejects the
payload with a reason that names the field (``alerts[1].labels.severity: must
be a string``) before anything is stored or run.

Older senders omit the per-alert ``status`` and ``fingerprint``: the status is
then derived as Alertmanager does (resolved once ``endsAt`` has passed) and the
fingerprint computed as Alertmanager computes it (FNV-1a 64 over the sorted
label names and values, each followed by a 0xff byte), so the same alert gets
the same key whoever sent it. ``0001-01-01T00:00:00Z`` (Go's zero time) as
``endsAt`` means "unknown": the alert is still firing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from reifier.errors import BadInput

ZERO_TIME = "0001-01-01T00:00:00Z"
STATUSES = ("firing", "resolved")
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_FINGERPRINT = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Alert:
    """One alert of a webhook group; times are canonical UTC text and epoch seconds."""

    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str  # canonical UTC, microseconds: 2023-02-06T13:08:45.828000Z
    ends_at: str | None  # None while unknown (firing)
    starts_ts: float
    ends_ts: float | None  # None while firing
    generator_url: str = ""
    fingerprint_given: bool = True

    @property
    def key(self) -> str:
        """Return the store key ``<fingerprint>@<startsAt>``: one per firing episode."""
        return f"{self.fingerprint}@{self.starts_at}"

    @property
    def name(self) -> str:
        """Return the ``alertname`` label (or ``alert`` when there is none)."""
        return self.labels.get("alertname", "alert")

    def props(self) -> dict[str, Any]:
        """Return the props of the store's ``Alert`` node (read by the scribe too)."""
        return {
            "fingerprint": self.fingerprint, "labels": dict(self.labels),
            "annotations": dict(self.annotations), "startsAt": self.starts_at,
            "endsAt": self.ends_at, "status": self.status, "starts_ts": self.starts_ts,
            "ends_ts": self.ends_ts, "generatorURL": self.generator_url,
        }


@dataclass(frozen=True)
class Payload:
    """A whole webhook notification: its group facts and its alerts."""

    version: str
    status: str
    receiver: str
    group_key: str
    alerts: tuple[Alert, ...]
    truncated_alerts: int = 0


def fingerprint(labels: Mapping[str, str]) -> str:
    """Return Alertmanager's fingerprint of a label set (16 hex digits)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8", "surrogatepass"):
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def parse_time(text: str, where: str) -> datetime | None:
    """Parse an RFC 3339 time; return None for Go's zero time (``unknown``)."""
    m = _RFC3339.match(text)
    if not m:
        raise BadInput(f"{where}: not an RFC 3339 time: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or "0").ljust(9, "0")[:6])  # Go sends nanoseconds
    zone = m.group(8)
    if zone in {"Z", "z"}:
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise BadInput(f"{where}: bad UTC offset in {text[:40]!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    if (year, month, day, hour, minute, second, micros) == (1, 1, 1, 0, 0, 0, 0):
        return None  # Go's zero time, whatever the offset: "unknown"
    if year < 1970:
        raise BadInput(f"{where}: {text[:40]!r} is before 1970")
    try:
        return datetime(year, month, day, hour, minute, second, micros,
                        tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BadInput(f"{where}: {exc} in {text[:40]!r}") from None


def canonical(when: datetime) -> str:
    """Return a time as canonical UTC text with microseconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(when: datetime) -> float:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


# -- validation: one rule per field, each with an example of a value it rejects ----------------


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


@dataclass(frozen=True)
class FieldRule:
    """What one payload field must be; ``example`` is a value the rule rejects."""

    name: str
    check: Callable[[Any], bool]
    need: str  # completes "must be ..."
    required: bool
    example: Any


PAYLOAD_FIELDS: tuple[FieldRule, ...] = (
    FieldRule("version", lambda v: v == "4", '"4" (Alertmanager webhook version 4)', True, "3"),
    FieldRule("alerts", lambda v: isinstance(v, list), "a list", True, {"a": 1}),
    FieldRule("status", lambda v: v in STATUSES, "firing or resolved", False, "pending"),
    FieldRule("receiver", _is_str, "a string", False, 7),
    FieldRule("groupKey", _is_str, "a string", False, ["k"]),
    FieldRule("truncatedAlerts", _is_int, "a whole number >= 0", False, -1),
    FieldRule("externalURL", _is_str, "a string", False, None),
    FieldRule("groupLabels", _is_str_map, "an object of strings", False, {"a": 1}),
    FieldRule("commonLabels", _is_str_map, "an object of strings", False, []),
    FieldRule("commonAnnotations", _is_str_map, "an object of strings", False, {"a": None}),
)

ALERT_FIELDS: tuple[FieldRule, ...] = (
    FieldRule("labels", _is_str_map, "an object of strings", True, {"severity": 3}),
    FieldRule("startsAt", _is_str, "an RFC 3339 time", True, 1675688925),
    FieldRule("annotations", _is_str_map, "an object of strings", False, {"summary": ["x"]}),
    FieldRule("endsAt", _is_str, "an RFC 3339 time", False, False),
    FieldRule("status", lambda v: v in STATUSES, "firing or resolved", False, "FIRING"),
    FieldRule("generatorURL", _is_str, "a string", False, {}),
    FieldRule("fingerprint", lambda v: isinstance(v, str) and bool(_FINGERPRINT.match(v)),
              "1-64 letters, digits or _.:-", False, "../etc"),
)


def _check(data: Mapping[str, Any], rules: tuple[FieldRule, ...], prefix: str) -> None:
    for rule in rules:
        where = f"{prefix}{rule.name}"
        if rule.name not in data:
            if rule.required:
                raise BadInput(f"{where}: missing")
            continue
        value = data[rule.name]
        if rule.check(value):
            continue
        if isinstance(value, dict) and rule.need.startswith("an object"):
            bad = next(k for k, v in value.items() if not isinstance(v, str))
            raise BadInput(f"{where}.{bad}: must be a string, got {type(value[bad]).__name__}")
        raise BadInput(f"{where}: must be {rule.need}, got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else ""
    return f"{type(value).__name__} {text[:40]}".strip()


def _text_map(data: Mapping[str, str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in data.items()}


def _text(value: str) -> str:
    """Replace lone surrogates (JSON escapes no UTF-8 can hold) with U+FFFD, as Go does."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def parse_alert(item: Any, index: int, now: float) -> Alert:
    """Validate and unpack one alert of a group."""
    prefix = f"alerts[{index}]"
    if not isinstance(item, dict):
        raise BadInput(f"{prefix}: must be an object, got {_show(item)}")
    _check(item, ALERT_FIELDS, prefix + ".")
    labels = _text_map(item["labels"])
    starts = parse_time(item["startsAt"], f"{prefix}.startsAt")
    if starts is None:
        raise BadInput(f"{prefix}.startsAt: must be a real time, not Go's zero time")
    ends = parse_time(item.get("endsAt") or ZERO_TIME, f"{prefix}.endsAt")
    ends_ts = None if ends is None else _epoch(ends)
    status = item.get("status") or ("resolved" if ends_ts is not None and ends_ts <= now
                                    else "firing")
    if status == "firing":
        ends_ts = None  # a future endsAt is only Alertmanager's resolve_timeout guess
    given = item.get("fingerprint")
    return Alert(
        fingerprint=given or fingerprint(labels), status=status, labels=labels,
        annotations=_text_map(item.get("annotations") or {}), starts_at=canonical(starts),
        ends_at=None if ends is None else canonical(ends), starts_ts=_epoch(starts),
        ends_ts=ends_ts, generator_url=_text(item.get("generatorURL") or ""),
        fingerprint_given=bool(given))


def parse_payload(data: Any, now: float) -> Payload:
    """Validate a decoded webhook body and unpack every alert of its group."""
    if not isinstance(data, dict):
        raise BadInput(f"payload: must be a JSON object, got {_show(data)}")
    _check(data, PAYLOAD_FIELDS, "")
    alerts = tuple(parse_alert(item, i, now) for i, item in enumerate(data["alerts"]))
    return Payload(
        version="4", status=str(data.get("status") or ""), receiver=str(data.get("receiver") or ""),
        group_key=str(data.get("groupKey") or ""), alerts=alerts,
        truncated_alerts=int(data.get("truncatedAlerts") or 0))
