"""Handle one Alertmanager notification: store, deduplicate, match, respond, close the loop.

Per alert of the group:

1. **Idempotency.** The ``Alert`` node (key ``<fingerprint>@<startsAt>``) is
   looked up and written in the same ``BEGIN IMMEDIATE`` transaction as every
   decision it leads to (suggestion events, ``queued`` run rows), so Alertmanager
   re-sending a firing alert every ``repeat_interval`` - or after a restart of
   either side - never starts a second run: a firing alert is acted on once, its
   resolution once.
2. **Match and respond.** A firing alert is ranked against the approved
   runbooks' label matchers and symptoms; :func:`reifier.adapters.respond.respond`
   applies the autonomy policy. Labels become parameters as the runbook declares
   (``metadata.reifier.alert_params: {"HOST": "instance"}``). A run is never
   started here: a ``queued`` row is inserted and its id handed to the job queue
   after the commit.
3. **Closing the loop.** Shell sessions overlapping the alert's window, with evidence
   that they worked on it (:mod:`reifier.core.linking`), are linked
   ``Alert -observed_in-> Session``; a resolved alert that no session overlaps and
   that no run of ours fixed gets a "did you fix this in a GUI?" draft from the scribe.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reifier.adapters import graph, respond, scribe
from reifier.adapters.jobs import new_job_id
from reifier.adapters.keys import trust_files
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.core import linking
from reifier.core.alerts import Alert, Payload
from reifier.core.match import PatternIndex, match_alert
from reifier.core.models import Session
from reifier.errors import ReifierError

log = logging.getLogger("reifier.webhook")
RECHECK_S = 1.0  # look for changed runbook files at most this often
RESYNC_S = 60.0  # and re-verify every approval at least this often


@dataclass(frozen=True)
class RunbookExtras:
    """Alert-specific runbook metadata: label -> parameter map, and silencing."""

    alert_params: dict[str, str] = field(default_factory=dict)
    silence: bool = False


@dataclass
class AlertOutcome:
    """What happened to one alert of a notification."""

    key: str
    fingerprint: str
    status: str
    duplicate: bool = False
    matches: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    draft: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready view."""
        return dict(self.__dict__)


def extras_of(props: Mapping[str, Any]) -> RunbookExtras:
    """Read ``alert_params`` and ``silence`` from the Runbook node (graph sync stores them)."""
    mapping = props.get("alert_params")
    if not isinstance(mapping, dict):
        mapping = {}
    good = {str(k): str(v) for k, v in mapping.items() if isinstance(v, str)}
    return RunbookExtras(good, props.get("silence") is True)


def overlapping(sessions: list[Session], start: float, end: float) -> list[Session]:
    """Return the sessions whose span meets ``[start, end]``."""
    return [s for s in sessions if s.started is not None and s.started <= end
            and (s.ended if s.ended is not None else s.started) >= start]


class Receiver:
    """Turn webhook alerts into store facts, suggestions and queued runs."""

    def __init__(self, ctx: Context, store: Store, enqueue: Callable[[str], None]) -> None:
        self.ctx, self.store, self.enqueue = ctx, store, enqueue
        self._signature: tuple[Any, ...] = ()
        self._checked = self._synced = 0.0
        self.catalog = graph.Catalog(PatternIndex(()), (), {})
        self.extras: dict[str, RunbookExtras] = {}

    def _files_signature(self) -> tuple[Any, ...]:
        sig: list[Any] = []
        for sub in ("approved", "drafts"):
            directory = self.ctx.runbooks / sub
            if directory.is_dir():
                for p in sorted(directory.iterdir()):
                    st = p.stat()
                    sig.append((p.name, st.st_mtime_ns, st.st_size))
        for key in trust_files(self.ctx.workspace, self.ctx.home, self.ctx.settings):
            sig.append(key.stat().st_mtime_ns if key.exists() else 0)
        return tuple(sig)

    def refresh(self, force: bool = False) -> graph.Catalog:
        """Re-index the runbooks when their files changed (checked at most once a second)."""
        now = time.monotonic()
        if not force and now - self._checked < RECHECK_S:
            return self.catalog
        self._checked = now
        sig = self._files_signature()
        if force or sig != self._signature or now - self._synced > RESYNC_S:
            graph.sync_runbooks(self.ctx, self.store)
            self.catalog = graph.catalog(self.store)
            self.extras = {rid: extras_of(p) for rid, p in self.catalog.runbooks.items()}
            self._signature, self._synced = sig, now
        return self.catalog

    def handle(self, payload: Payload, now: float | None = None) -> list[AlertOutcome]:
        """Handle every alert of a notification on its own."""
        now = time.time() if now is None else now
        self.refresh()
        return [self.handle_alert(alert, now) for alert in payload.alerts]

    def handle_alert(self, alert: Alert, now: float) -> AlertOutcome:
        """Store one alert once; act on it once per status; link and draft after the commit."""
        out = AlertOutcome(alert.key, alert.fingerprint, alert.status)
        jobs: list[str] = []
        with self.store.transaction() as db:
            row = db.execute("SELECT props FROM nodes WHERE kind='Alert' AND key=?",
                             (alert.key,)).fetchone()
            seen = json.loads(row[0]).get("status") if row else None
            out.duplicate = seen in (alert.status, "resolved")
            if not out.duplicate:
                self.store.upsert_node("Alert", alert.key, {**alert.props(), "received": now})
                if alert.status == "firing":
                    self._respond(alert, out, jobs)
        for job in jobs:
            self.enqueue(job)
        self._close_loop(alert, out, now)
        return out

    def _respond(self, alert: Alert, out: AlertOutcome, jobs: list[str]) -> None:
        cat = self.catalog
        matches = match_alert(alert.labels, alert.annotations, cat.matchers, cat.index,
                              threshold=self.ctx.settings.match_threshold)
        out.matches = [{"runbook": m.runbook_id, "score": m.score, "pattern": m.pattern}
                       for m in matches]
        if not matches:
            return
        trigger = {"kind": "alert", "alert": f"{alert.name}#{alert.fingerprint}",
                   "key": alert.key, "labels": alert.labels}

        def params(runbook: Mapping[str, Any]) -> dict[str, str]:
            mapping = self.extras.get(str(runbook.get("id")), RunbookExtras()).alert_params
            return {p: alert.labels[label] for p, label in mapping.items() if label in alert.labels}

        acted: dict[str, dict[str, str]] = {}

        def runner(rid: str, path: Path, values: dict[str, str], trigger_text: str) -> None:
            busy = self.store.list_runs(("queued", "running"), runbook=rid, limit=1)
            if busy:  # queued but not started yet: the runbook lock cannot see it
                reason = f"run {busy[0]['id']} of this runbook is {busy[0]['status']}"
                self.store.add_event("decision", rid, {"action": "skip", "reason": reason,
                                                       "trigger": trigger_text})
                acted[rid] = {"action": "skip", "reason": reason}
                return
            job = new_job_id()
            silence = self.extras.get(rid, RunbookExtras()).silence
            spec = {"path": str(path), "params": values, "trigger": trigger_text,
                    "labels": alert.labels, "silence": silence}
            self.store.create_run(job, rid, alert.key, spec)
            acted[rid] = {"job": job}
            jobs.append(job)

        responses = respond.respond(self.ctx, self.store, cat, matches, trigger=trigger,
                                    params=params, runner=runner)
        for r in responses:
            decision = {"runbook": r.decision.runbook_id, "action": r.decision.action,
                        "reason": r.decision.reason, "score": r.decision.score,
                        "event": r.event_id}
            if r.decision.action == "run":
                decision.update(acted.get(r.decision.runbook_id, {}))
            out.decisions.append(decision)
        out.runs = [v["job"] for v in acted.values() if "job" in v]

    def _close_loop(self, alert: Alert, out: AlertOutcome, now: float) -> None:
        end = alert.ends_ts if alert.status == "resolved" and alert.ends_ts is not None else now
        # linked by evidence (same host, a label value the commands touch), never by
        # time overlap alone: a firing alert overlaps every session of the day
        found = [s for s in overlapping(self.store.sessions(), alert.starts_ts, end)
                 if linking.evidence(alert.labels, alert.annotations, host=s.host,
                                     commands=[c.command for c in self.store.session_commands(s)])]
        if found:
            self._link(alert, found)
        out.sessions = [s.id for s in found]
        if alert.status != "resolved" or out.duplicate or found or self._fixed_by_us(alert):
            return
        props = {**alert.props(), "ends_ts": end}
        try:
            result = scribe.draft_alert_episode(self.ctx, self.store, props)
        except (ReifierError, OSError, ValueError) as exc:  # the alert itself is stored
            out.error = f"no draft for the resolved alert: {exc}"
            log.warning("alert %s: %s", alert.key, out.error)
            return
        out.draft = str(result.ipynb)

    def _fixed_by_us(self, alert: Alert) -> bool:
        """Tell whether a run this alert started ended ok (then no GUI fix needs drafting)."""
        return bool(self.store.db.execute(
            "SELECT 1 FROM runs WHERE alert_key=? AND status='ok' LIMIT 1", (alert.key,)
        ).fetchone())

    def _link(self, alert: Alert, sessions: list[Session]) -> None:
        with self.store.transaction() as db:
            row = db.execute("SELECT id FROM nodes WHERE kind='Alert' AND key=?",
                             (alert.key,)).fetchone()
            if row is None:
                return
            for s in sessions:
                got = db.execute("SELECT id FROM nodes WHERE kind='Session' AND key=?",
                                 (s.id,)).fetchone()
                sid = int(got[0]) if got else self.store.upsert_node("Session", s.id, {
                    "host": s.host, "user": s.user, "started": s.started, "ended": s.ended})
                self.store.add_edge(int(row[0]), "observed_in", sid)
