"""Run evidence: record notebooks, their HTML, and a hash-chained index.

Each run leaves ``runbooks/records/<runbook-id>/<run-id>.ipynb`` (plain JSON,
never paired with Jupytext) and ``<run-id>.html``, both opening with a
provenance header. ``runbooks/records/index.jsonl`` gets one line per run with
the SHA-256 of both files and ``prev``, the SHA-256 of the line before it, so
editing or removing a record or a line breaks the chain :func:`verify` walks.
The store gets an ``Execution`` node linked ``Execution -ran-> Runbook``.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import html
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reifier.adapters.files import atomic_write
from reifier.adapters.notebooks import ipynb_text
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.errors import BadInput

INDEX = "index.jsonl"
GENESIS = "0" * 64
PROVENANCE_TAG = "reifier-provenance"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, text, mode=0o644)  # runbooks and evidence are meant to be read


def records_dir(ctx: Context) -> Path:
    """Return ``runbooks/records`` of the workspace."""
    return ctx.runbooks / "records"


def new_run_id(now: datetime | None = None) -> str:
    """Return a sortable, unique run id like ``20261124T100000Z-3fa9c2``."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def record_paths(ctx: Context, runbook_id: str, run_id: str) -> tuple[Path, Path]:
    """Return the (``.ipynb``, ``.html``) record paths of one run."""
    if not _SLUG.match(runbook_id):
        raise BadInput(f"runbook id {runbook_id!r} cannot name a records directory")
    base = records_dir(ctx) / runbook_id / run_id
    return base.with_suffix(".ipynb"), base.with_suffix(".html")


def _esc(value: Any) -> str:
    """Escape text for a Markdown table cell (no HTML, no cell breaks, no code spans)."""
    text = html.escape(str(value), quote=True)
    return text.replace("|", "&#124;").replace("`", "&#96;").replace("\n", "<br>")


def provenance_markdown(prov: Mapping[str, Any]) -> str:
    """Render the provenance header shown first in the record and its HTML."""
    params = "<br>".join(f"{_esc(k)} = {_esc(v)}" for k, v in prov["parameters"].items())
    rows = [
        ("Status", prov["status"] + (f" (code cell {prov['failed_cell']})"
                                     if prov.get("failed_cell") else "")),
        ("Runbook", f"{prov['runbook']} ({prov.get('title', '')})"),
        ("Source", prov.get("source", "")),
        ("Approval digest", f"{prov['digest']} (approved by {prov.get('approved_by', '')})"),
        ("Trigger", prov["trigger"]),
        ("Host / user", f"{prov['host']} / {prov['user']}"),
        ("Started / ended", f"{prov['started']} / {prov['ended']}"),
    ]
    lines = [f"# Run record {_esc(prov['run_id'])}", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_esc(value)} |" for name, value in rows]
    lines.append(f"| Parameters | {params or '(defaults)'} |")
    if prov.get("error"):
        lines.append(f"| Error | {_esc(prov['error'])} |")
    lines += ["", "| Code cell | Status | Duration (s) | Precondition |", "|---|---|---|---|"]
    for c in prov.get("cells", []):
        duration = "" if c.get("duration") is None else f"{c['duration']:.3f}"
        lines.append(f"| {c['cell'] or 'injected'} | {_esc(c['status'])} | {duration} | "
                     f"{'yes' if c.get('precondition') else ''} |")
    return "\n".join(lines) + "\n"


def build_record(nb: Mapping[str, Any], prov: Mapping[str, Any]) -> dict[str, Any]:
    """Return the record notebook: provenance first, ``metadata.reifier.run``, no Jupytext."""
    record: dict[str, Any] = json.loads(json.dumps(nb, default=str))
    meta = record.setdefault("metadata", {})
    meta.pop("jupytext", None)
    meta.setdefault("reifier", {})["run"] = dict(prov)
    record["cells"] = [c for c in record.get("cells", [])
                       if PROVENANCE_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in record["cells"]:
        if isinstance(cell.get("source"), list):  # nbformat's on-disk line lists
            cell["source"] = "".join(cell["source"])
    header = {"cell_type": "markdown", "id": "provenance", "source": provenance_markdown(prov),
              "metadata": {"tags": [PROVENANCE_TAG]}}
    record["cells"].insert(0, header)
    return record


@functools.lru_cache(maxsize=1)
def _exporter() -> Any:
    """Build nbconvert's exporter once per process (its templates compile on first use)."""
    from nbconvert import HTMLExporter

    return HTMLExporter()  # type: ignore[no-untyped-call]


def export_html(record: Mapping[str, Any]) -> str:
    """Render a record notebook as a standalone HTML page with nbconvert."""
    import nbformat

    # reads() rejoins multi-line text stored as lists of lines (papermill writes
    # outputs that way); from_dict() would hand nbconvert the lists themselves.
    node = nbformat.reads(json.dumps(record), as_version=4)  # type: ignore[no-untyped-call]
    body, _ = _exporter().from_notebook_node(node)
    return str(body)


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _line_sha(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


@contextmanager
def _index_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".index.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def append_index(ctx: Context, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Append one chained line to ``index.jsonl`` (rewritten atomically under a lock)."""
    directory = records_dir(ctx)
    with _index_lock(directory):
        path = directory / INDEX
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        lines = old.splitlines()
        line = {**entry, "prev": _line_sha(lines[-1]) if lines else GENESIS}
        text = json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        _atomic_write(path, old + text + "\n")
    return line


def write_record(ctx: Context, nb: Mapping[str, Any], prov: Mapping[str, Any]) -> dict[str, Any]:
    """Write the record notebook and HTML, chain them into the index, return the line."""
    ipynb, page = record_paths(ctx, prov["runbook"], prov["run_id"])
    record = build_record(nb, prov)
    _atomic_write(ipynb, ipynb_text(record))
    _atomic_write(page, export_html(record))
    base = records_dir(ctx)
    return append_index(ctx, {
        "run_id": prov["run_id"], "runbook": prov["runbook"], "status": prov["status"],
        "started": prov["started"], "ended": prov["ended"], "trigger": prov["trigger"],
        "digest": prov["digest"], "record": str(ipynb.relative_to(base)),
        "html": str(page.relative_to(base)),
        "sha256": {"ipynb": sha256_file(ipynb), "html": sha256_file(page)},
    })


def store_execution(store: Store, prov: Mapping[str, Any], line: Mapping[str, Any]) -> int:
    """Add the run as an ``Execution`` node linked ``ran`` to its ``Runbook`` node."""
    found = store.node("Runbook", prov["runbook"])
    runbook = found["id"] if found else None
    if runbook is None:  # never overwrite the props another stage keeps on the runbook
        runbook = store.upsert_node("Runbook", prov["runbook"],
                                    {"title": prov.get("title", ""), "path": prov.get("source")})
    props = {k: prov.get(k) for k in ("status", "started", "ended", "trigger", "digest",
                                      "parameters", "failed_cell", "runbook", "host", "user")}
    props.update(record=line["record"], html=line["html"])
    node = store.upsert_node("Execution", prov["run_id"], props)
    store.add_edge(node, "ran", runbook)
    return node


def keep(ctx: Context, nb: Mapping[str, Any], prov: Mapping[str, Any]) -> dict[str, Any]:
    """Write the record, chain it into the index and add it to the store; return the line."""
    line = write_record(ctx, nb, prov)
    store = Store(ctx.db_path)
    try:
        store_execution(store, prov, line)
    finally:
        store.close()
    return line


def read_index(ctx: Context) -> list[dict[str, Any]]:
    """Return the index lines that parse (``verify`` reports the others)."""
    path = records_dir(ctx) / INDEX
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return out


def verify(ctx: Context, store: Store | None = None) -> list[str]:
    """Return every problem found: broken chain, altered or missing records, orphans."""
    base = records_dir(ctx)
    path = base / INDEX
    raw = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    problems: list[str] = []
    prev = GENESIS
    listed: set[str] = set()
    for n, text in enumerate(raw, 1):
        try:
            line = json.loads(text)
            files = {"ipynb": line["record"], "html": line["html"]}
            sums, chained = line["sha256"], line["prev"]
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"index line {n}: not a valid record line")
            prev = _line_sha(text)
            continue
        if chained != prev:
            problems.append(f"index line {n} does not chain to the line before it "
                            "(a line was edited, inserted or removed)")
        prev = _line_sha(text)
        for kind, rel in files.items():
            listed.add(rel)
            file = base / rel
            if not file.is_file():
                problems.append(f"run {line.get('run_id')}: {rel} is missing")
            elif sha256_file(file) != sums.get(kind):
                problems.append(f"run {line.get('run_id')}: {rel} was modified")
    for file in sorted(base.glob("*/*")):
        rel = str(file.relative_to(base))
        if file.suffix in {".ipynb", ".html"} and rel not in listed:
            problems.append(f"{rel} is not in the index (its index line was removed?)")
    if store is not None:
        for node in store.nodes("Execution"):
            rel = node["props"].get("record")
            if rel and rel not in listed:
                problems.append(f"run {node['key']} is in the store but not in the index "
                                "(index truncated?)")
    return problems
