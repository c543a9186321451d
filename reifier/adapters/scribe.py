"""The Scribe: write a session's draft runbook pair under ``runbooks/drafts/``.

A draft is written once per session; a file a human has touched is never
overwritten (a new name is chosen instead), and a later session with the same
symptom gets its own draft that links the earlier ones.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reifier.adapters import evidence
from reifier.adapters.notebooks import draft_to_notebook, write_pair
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.core import linking
from reifier.core.classify import assign_roles
from reifier.core.draft import DraftInputs, build_draft, with_related
from reifier.core.models import Session
from reifier.core.redact import redact
from reifier.errors import BadInput, NotFound


@dataclass(frozen=True)
class DraftResult:
    """The pair written (or found) for a session."""

    md: Path
    ipynb: Path
    created: bool
    runbook_id: str
    fix: tuple[str, ...]


def load_session(store: Store, session_id: str | None) -> Session:
    """Load a session by id/prefix, or the newest one when ``session_id`` is None."""
    if session_id is None:
        newest = store.sessions(limit=1)
        if not newest:
            raise NotFound("no sessions recorded yet (see `reifier import`, `reifier init`)")
        session_id = newest[0].id
    session = store.session(session_id)
    if session is None:
        raise NotFound(f"no single session matches {session_id!r} (see `reifier sessions`)")
    return replace(session, commands=assign_roles(session.commands))


def _existing(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(directory.glob("*.ipynb")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("reifier", {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if isinstance(meta, dict):
            out.append((path, meta))
    return out


def _alerts_during(store: Store, session: Session,
                   log_lines: list[str] | None = None) -> list[dict[str, Any]]:
    """Alerts firing while the session ran that the session shows evidence of working on.

    Evidence (:mod:`reifier.core.linking`): the same host, a label value the
    session's commands touch, or the alert's text in a log line it read.
    """
    if session.started is None:
        return []
    commands = [c.command for c in store.session_commands(session)]
    found = []
    for node in store.nodes("Alert"):
        props = node["props"]
        start, end = props.get("starts_ts"), props.get("ends_ts")
        if start is None or start > (session.ended or session.started):
            continue
        if end is not None and end < session.started:
            continue
        labels, notes = props.get("labels") or {}, props.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(notes, dict):
            continue
        if linking.evidence(labels, notes, host=session.host, commands=commands,
                            log_lines=log_lines or ()):
            found.append(props)
    return found


def draft_session(
    ctx: Context,
    store: Store,
    session_id: str | None = None,
    *,
    symptom: str | None = None,
    force: bool = False,
) -> DraftResult:
    """Write (or find) the draft pair of one session.

    A session already drafted keeps its draft (a human may have edited it):
    asking for another symptom then is an error that names ``--force``, which
    regenerates the draft in place.
    """
    session = load_session(store, session_id)
    drafts_dir = ctx.runbooks / "drafts"
    known = _existing(drafts_dir) + _existing(ctx.runbooks / "approved")
    replace: Path | None = None
    for path, meta in known:
        if meta.get("session", {}).get("id") == session.id and path.parent == drafts_dir:
            if force:
                replace = path
                continue
            if symptom:
                raise BadInput(f"session {session.id} is already drafted as "
                               f"{path.with_suffix('.md')}; pass --force to regenerate it "
                               "(a human's edits there are lost)")
            return DraftResult(path.with_suffix(".md"), path, False, str(meta.get("id", "")), ())
    known = [(p, m) for p, m in known if p != replace]
    log_lines = [] if symptom else evidence.log_symptoms(session)
    alerts = _alerts_during(store, session, log_lines)
    if symptom:
        symptoms = [redact(symptom).text]
    elif log_lines:
        symptoms = log_lines  # the session's own error lines come first: they are what it saw
    else:
        symptoms = [
            a["annotations"].get("summary") or a["labels"].get("alertname", "")
            for a in alerts
            if isinstance(a.get("annotations"), dict)
        ]
        symptoms = [s for s in symptoms if s]
    matchers = tuple(
        {"alertname": a["labels"]["alertname"]}
        for a in alerts
        if isinstance(a.get("labels"), dict) and "alertname" in a["labels"]
    )
    previous = tuple(
        str(m.get("id"))
        for _, m in known
        if symptoms and set(m.get("symptoms") or []) & set(symptoms)
    )
    edits = evidence.edit_diffs(session, ctx.home / "snapshots")
    inputs = DraftInputs(
        symptoms=tuple(symptoms),
        alerts=matchers,
        edits=edits,
        previous=tuple(dict.fromkeys(previous)),
    )
    draft = build_draft(session, inputs)
    terms = [str(v) for c in draft.cells if "parameters" in c.tags for v in _param_values(c.source)]
    related = evidence.related_files(terms, ctx.settings.context_dirs)
    if related:
        draft = with_related(draft, related)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(session.started or time.time()))
    base = drafts_dir / f"{draft.id}-{stamp}" if replace is None else replace.with_suffix("")
    n = 2
    while replace is None and (base.with_suffix(".md").exists()
                               or base.with_suffix(".ipynb").exists()):
        base = drafts_dir / f"{draft.id}-{stamp}-{n}"
        n += 1
    md, nb = write_pair(_signed_by_author(ctx, draft_to_notebook(draft)),
                        base.with_suffix(".ipynb"))
    _record(store, session, draft.id, nb)
    # the draft holds the redacted diffs: the raw pre-edit copies go now (#22)
    evidence.discard_snapshots(session, ctx.home / "snapshots")
    fix = tuple(c.source for c in draft.cells if c.kind == "code" and set(c.tags) & {"fix", "edit"})
    return DraftResult(md, nb, True, draft.id, fix)


def _signed_by_author(ctx: Context, nb: dict[str, Any]) -> dict[str, Any]:
    """Sign the draft as its engineer's (``metadata.reifier.authorship``) when a key is at hand.

    The signature, not the editable ``session.user``, then names the author that
    four-eyes excludes. No SSH key, or local-hmac mode: the draft is left unsigned.
    """
    import getpass
    import os

    from reifier.adapters import keys
    from reifier.adapters.sshsig import SshSigner
    from reifier.core.approval import AUTHOR_NAMESPACE, sign_authorship
    from reifier.errors import ConfigError

    try:
        if keys.mode(ctx.settings) != "ssh":
            return nb
        signer = SshSigner(keys.signing_key(ctx.settings), AUTHOR_NAMESPACE)
        principal = os.environ.get("USER") or getpass.getuser()
        return sign_authorship(nb, principal, signer)
    except ConfigError:
        return nb


def _param_values(source: str) -> list[str]:
    from reifier.core.params import parse_parameters_cell

    return list(parse_parameters_cell(source).values())


def _record(store: Store, session: Session, runbook_id: str, path: Path) -> None:
    with store.transaction():
        sid = store.upsert_node(
            "Session",
            session.id,
            {
                "host": session.host,
                "user": session.user,
                "started": session.started,
                "ended": session.ended,
            },
        )
        rid = store.upsert_node(
            "Runbook", runbook_id, {"id": runbook_id, "path": str(path), "status": "draft"}
        )
        store.add_edge(sid, "produced", rid)
        store.add_event("draft_written", path.stem, {"session": session.id, "path": str(path)})


def draft_alert_episode(ctx: Context, store: Store, alert: dict[str, Any]) -> DraftResult:
    """Write the "did you fix this via a GUI?" draft for an alert no shell session saw.

    ``alert`` holds the stored Alert node's props: ``labels``, ``annotations``,
    ``starts_ts``, ``ends_ts``, ``fingerprint``. One draft per alert group (the
    alert name): later episodes of the same alert, whatever their other labels,
    are appended to that draft's ``episodes`` instead of writing a draft each.
    """
    labels = dict(alert.get("labels") or {})
    notes = dict(alert.get("annotations") or {})
    symptom = notes.get("summary") or notes.get("description") or labels.get("alertname", "alert")
    started = alert.get("starts_ts")
    group = labels.get("alertname", "") or str(alert.get("fingerprint", ""))
    episode = {"fingerprint": alert.get("fingerprint"), "startsAt": alert.get("startsAt"),
               "endsAt": alert.get("endsAt"), "instance": labels.get("instance", "")}
    session = Session(
        id=f"alert-{hashlib.sha256(group.encode()).hexdigest()[:12]}",
        shell_session="",
        host=labels.get("instance", ""),
        user="",
        started=started,
        ended=alert.get("ends_ts") or started,
        commands=(),
    )
    drafts_dir = ctx.runbooks / "drafts"
    for path, meta in _existing(drafts_dir):
        if meta.get("session", {}).get("id") == session.id:
            _add_episode(path, episode)
            return DraftResult(path.with_suffix(".md"), path, False, str(meta.get("id", "")), ())
    matcher = ({"alertname": labels["alertname"]},) if "alertname" in labels else ()
    draft = build_draft(
        session,
        DraftInputs(
            symptoms=(redact(symptom).text,),
            alerts=matcher,
            notes=(
                f"Alert {labels.get('alertname', '?')} fired at {alert.get('startsAt', '?')} and "
                f"resolved at {alert.get('endsAt', '?')}; no shell session was recorded meanwhile.",
            ),
        ),
    )
    draft.meta["episodes"] = [episode]
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(started or time.time()))
    base = drafts_dir / f"{draft.id}-{stamp}"
    n = 2
    while base.with_suffix(".md").exists() or base.with_suffix(".ipynb").exists():
        base = drafts_dir / f"{draft.id}-{stamp}-{n}"
        n += 1
    md, nb = write_pair(draft_to_notebook(draft), base.with_suffix(".ipynb"))
    store.add_event("draft_written", nb.stem, {"alert": alert.get("fingerprint"), "path": str(nb)})
    return DraftResult(md, nb, True, draft.id, ())


def _add_episode(path: Path, episode: dict[str, Any]) -> None:
    """Record one more episode of the alert in its existing draft (a human's edits stay)."""
    from reifier.adapters import notebooks

    nb = notebooks.read(path)
    info = nb.setdefault("metadata", {}).setdefault("reifier", {})
    episodes = info.setdefault("episodes", [])
    if isinstance(episodes, list) and episode not in episodes:
        episodes.append(episode)
        notebooks.write_pair(nb, path)
