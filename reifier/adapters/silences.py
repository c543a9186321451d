"""Alertmanager silences around an autonomous run, through its HTTP API v2 (urllib only).

A runbook whose metadata says ``silence: true`` asks for its alert to be
silenced while it runs, so the on-call is not paged for a fix already under
way. The silence matches the alert's labels exactly, ends by itself when the
run's deadline passes (so a crashed job cannot silence an alert for ever) and
is expired as soon as the run ends. A failure to silence never stops the run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reifier.errors import BadInput, ReifierError

ENV_URL = "REIFIER_ALERTMANAGER_URL"
TIMEOUT_S = 5.0


class SilenceError(ReifierError):
    """Alertmanager refused or could not be reached."""


def alertmanager_url(env: Mapping[str, str]) -> str | None:
    """Return the Alertmanager base URL from ``REIFIER_ALERTMANAGER_URL`` (None if unset)."""
    url = env.get(ENV_URL, "").strip().rstrip("/")
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BadInput(f"{ENV_URL}: need an http(s) URL, got {url!r}")
    return url


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _call(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,  # noqa: S310 (scheme checked)
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310
            text = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:200]
        raise SilenceError(f"{method} {url}: HTTP {exc.code} {detail}".strip()) from None
    except (OSError, urllib.error.URLError) as exc:
        raise SilenceError(f"{method} {url}: {exc}") from None
    return json.loads(text) if text.strip() else None


def create_silence(base_url: str, labels: Mapping[str, str], starts: float, ends: float,
                   comment: str, created_by: str = "reifier") -> str:
    """Silence exactly this label set from ``starts`` to ``ends``; return the silence id."""
    matchers = [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in sorted(labels.items())]
    body = {"matchers": matchers, "startsAt": _iso(starts), "endsAt": _iso(ends),
            "createdBy": created_by, "comment": comment}
    answer = _call("POST", f"{base_url}/api/v2/silences", body)
    if not isinstance(answer, dict) or not isinstance(answer.get("silenceID"), str):
        raise SilenceError(f"POST {base_url}/api/v2/silences: unexpected answer {answer!r:.200}")
    return str(answer["silenceID"])


def expire_silence(base_url: str, silence_id: str) -> None:
    """Expire a silence now (``DELETE /api/v2/silence/{id}``)."""
    _call("DELETE", f"{base_url}/api/v2/silence/{urllib.parse.quote(silence_id, safe='')}")


def get_silence(base_url: str, silence_id: str) -> dict[str, Any]:
    """Return one silence as Alertmanager reports it (``status.state``: active, expired...)."""
    answer = _call("GET", f"{base_url}/api/v2/silence/{urllib.parse.quote(silence_id, safe='')}")
    if not isinstance(answer, dict):
        raise SilenceError(f"GET silence {silence_id}: unexpected answer {answer!r:.200}")
    return answer
