"""The memory graph: approved runbooks, their error patterns, commands and runs.

The workspace's files are the truth; :func:`sync_runbooks` brings the graph in
line with them. A runbook whose approval is valid gets ``ErrorPattern
-mitigated_by-> Runbook`` edges for each symptom and alert matcher and
``Runbook -contains-> Command`` edges; a draft, stale or badly signed one loses
them, so matching can never suggest a runbook that would be refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reifier.adapters import approve, notebooks
from reifier.adapters.keys import trust_files
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.core.approval import canonical, code_cells
from reifier.core.match import PatternIndex
from reifier.core.patterns import Template, make_template, stored_template, template_props
from reifier.errors import BadInput


@dataclass
class SyncReport:
    """Which runbooks are indexed (approved) and which were left out, and why."""

    indexed: list[str] = field(default_factory=list)
    unindexed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """What matching needs: the text index, the alert matchers, runbook facts."""

    index: PatternIndex
    matchers: tuple[tuple[str, dict[str, str]], ...]
    runbooks: dict[str, dict[str, Any]]


def runbook_files(ctx: Context) -> list[Path]:
    """Return one ``.ipynb`` (or lone ``.md``) per runbook in drafts/ and approved/."""
    return notebooks.runbook_files(ctx.runbooks)


def _edges_of(store: Store, node: int, rel: str, incoming: bool) -> None:
    col = "dst" if incoming else "src"
    store.db.execute(f"DELETE FROM edges WHERE {col}=? AND rel=?", (node, rel))


def sync_runbooks(ctx: Context, store: Store) -> SyncReport:
    """Index every validly approved runbook; unindex the rest."""
    report = SyncReport()
    key = approve.machine_key(ctx)
    known = {n["props"].get("path"): n for n in store.nodes("Runbook")}
    with store.transaction():
        for path in runbook_files(ctx):
            sig = _signature([*notebooks.pair_paths(path),
                              *trust_files(ctx.workspace, ctx.home, ctx.settings)])
            old_node = known.get(str(path))
            if old_node and old_node["props"].get("files_sig") == sig:
                # Neither file nor the key changed since the last sync: skip re-verifying
                # (Jupytext is slow). Only suggestions rely on this; a run re-verifies.
                if old_node["props"].get("status") == "approved":
                    report.indexed.append(old_node["key"])
                else:
                    report.unindexed[old_node["key"]] = "unchanged since the last sync"
                continue
            try:
                status = approve.pair_status(ctx, path, key, store)
                nb = notebooks.read(path)
            except Exception as exc:  # a broken file must not stop the others
                report.unindexed[str(path)] = f"unreadable: {exc}"
                continue
            meta = notebooks.reifier_meta(nb)
            rid = str(meta.get("id") or path.stem)
            props = {
                "id": rid,
                "title": meta.get("title", ""),
                "path": str(path),
                "status": status.state.status,
                "autonomy": meta.get("autonomy", "suggest"),
                "symptoms": meta.get("symptoms") or [],
                "alerts": meta.get("alerts") or [],
                "session_user": (meta.get("session") or {}).get("user"),
                "alert_params": meta.get("alert_params") or {},
                "silence": bool(meta.get("silence")),
                "files_sig": sig,
            }
            old = store.node("Runbook", rid)
            if (
                old
                and old["props"].get("status") == "approved"
                and status.state.status != "approved"
                and old["props"].get("path") != str(path)
            ):
                continue  # a draft that shares an approved runbook's id does not unindex it
            if old:
                props = {**old["props"], **props}
            node = store.upsert_node("Runbook", rid, props)
            _edges_of(store, node, "mitigated_by", incoming=True)
            _edges_of(store, node, "contains", incoming=False)
            if not status.state.ok:
                report.unindexed[rid] = f"{status.state.status}: {status.state.reason}"
                continue
            for symptom in props["symptoms"]:
                text = str(symptom)
                pid = store.upsert_node("ErrorPattern", f"log:{text}", _log_pattern(text))
                store.add_edge(pid, "mitigated_by", node)
            for matcher in props["alerts"]:
                if isinstance(matcher, dict) and matcher:
                    pid = store.upsert_node(
                        "ErrorPattern",
                        f"alert:{canonical(matcher)}",
                        {"kind": "alert", "labels": matcher},
                    )
                    store.add_edge(pid, "mitigated_by", node)
            for cell in code_cells(nb):
                source = str(cell.get("source", ""))
                tags = cell.get("metadata", {}).get("tags", [])
                if "parameters" in tags or not source.strip():
                    continue
                digest = hashlib.sha256(source.encode()).hexdigest()[:16]
                cid = store.upsert_node("Command", digest, {"command": source})
                store.add_edge(node, "contains", cid)
            report.indexed.append(rid)
    return report


def _signature(paths: Iterable[Path]) -> list[list[object]]:
    """Return (name, mtime_ns, size) of each existing file: a cheap change detector."""
    sig: list[list[object]] = []
    for p in paths:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        sig.append([p.name, st.st_mtime_ns, st.st_size])
    return sig


def _log_pattern(symptom: str) -> dict[str, Any]:
    """Return an ErrorPattern's props: the example and its template, built once here."""
    props: dict[str, Any] = {"kind": "log", "text": symptom}
    with contextlib.suppress(BadInput):  # blank: no template, the index lists it as skipped
        props["template"] = template_props(make_template(symptom))
    return props


def catalog(store: Store) -> Catalog:
    """Build the matcher over the patterns of indexed runbooks."""
    nodes = {n["id"]: n for n in store.nodes()}
    patterns: list[tuple[str, str | Template]] = []
    matchers: list[tuple[str, dict[str, str]]] = []
    runbooks: dict[str, dict[str, Any]] = {}
    for edge in store.edges():
        if edge["rel"] != "mitigated_by":
            continue
        pattern, runbook = nodes[edge["src"]], nodes[edge["dst"]]
        rid = runbook["key"]
        runbooks[rid] = runbook["props"]
        if pattern["props"].get("kind") == "alert":
            matchers.append((rid, dict(pattern["props"]["labels"])))
        else:
            text, stored = str(pattern["props"]["text"]), pattern["props"].get("template")
            patterns.append((rid, stored_template(text, stored) if stored else text))
    return Catalog(PatternIndex(patterns), tuple(matchers), runbooks)


def run_history(store: Store, runbook_id: str) -> list[dict[str, Any]]:
    """Return the runbook's executions, oldest first (status, started, ended, trigger)."""
    rows = store.db.execute(
        "SELECT e.props FROM edges r JOIN nodes e ON e.id = r.src JOIN nodes b ON b.id = r.dst"
        " WHERE r.rel='ran' AND b.kind='Runbook' AND b.key=? ORDER BY e.id",
        (runbook_id,),
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def confidence(history: Iterable[dict[str, Any]]) -> float:
    """Estimate success probability from past runs (Laplace: (ok + 1) / (runs + 2))."""
    runs = [
        h
        for h in history
        if h.get("status") in {"succeeded", "failed", "timeout", "ok", "error", "interrupted"}
    ]
    ok = sum(1 for h in runs if h.get("status") in {"succeeded", "ok"})
    return round((ok + 1) / (len(runs) + 2), 3)
