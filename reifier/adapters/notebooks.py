"""Runbook notebooks on disk: the Jupytext-paired ``.md`` + ``.ipynb`` pair.

Notebooks are handled as plain dicts in nbformat v4.5 shape; ``jupytext`` is
imported only to write or read the Markdown twin (and it brings nbformat with
it), so commands that only need an ``.ipynb`` stay fast. Every write goes to a
temporary file in the same directory and is renamed into place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from reifier.adapters.files import atomic_write
from reifier.core.models import RunbookDraft
from reifier.errors import BadInput, NotFound, Refused

KERNELSPEC = {"name": "reifier-bash", "display_name": "Reifier Bash", "language": "bash"}
LANGUAGE_INFO = {
    "name": "bash",
    "file_extension": ".sh",
    "mimetype": "text/x-sh",
    "codemirror_mode": "shell",
    "pygments_lexer": "bash",
}
JUPYTEXT = {"formats": "ipynb,md", "notebook_metadata_filter": "reifier"}
NB = dict[str, Any]


def pair_paths(path: Path) -> tuple[Path, Path]:
    """Return the (``.md``, ``.ipynb``) twins of either file of a pair."""
    base = path.with_suffix("")
    return base.with_suffix(".md"), base.with_suffix(".ipynb")


_UNDECODABLE = re.compile("[\udc80-\udcff]")
UNDECODABLE_NOTE = ("**Not UTF-8:** a command of this session held bytes that are not "
                    "UTF-8; they are shown as \ufffd. Write them properly (e.g. bash's "
                    "`$'\\xe9'`) before approving: the cell does not do what was typed.")


def _printable(text: str) -> str:
    """Replace the surrogate escapes of undecodable bytes (a file cannot hold them)."""
    return _UNDECODABLE.sub("\ufffd", text)


def existing_pair(path: Path) -> list[Path]:
    """Return the files of ``path``'s pair that exist (``.md`` first)."""
    if path.suffix not in {".md", ".ipynb"}:
        raise BadInput(f"{path}: a runbook is a .md or .ipynb file")
    found = [p for p in pair_paths(path) if p.is_file()]
    if not found:
        raise NotFound(f"{path}: no such runbook (neither .md nor .ipynb exists)")
    return found


def draft_to_notebook(draft: RunbookDraft) -> NB:
    """Build an nbformat-4.5 notebook dict from a :class:`RunbookDraft`.

    A command typed with bytes that are not UTF-8 is stored losslessly, but a
    notebook is UTF-8 text: such bytes become U+FFFD here, and the draft says so
    where it happened, so nobody approves a cell that differs from what ran.
    """
    if any(_UNDECODABLE.search(c.source) for c in draft.cells):
        draft = dataclasses.replace(draft, cells=tuple(
            dataclasses.replace(c, source=_printable(c.source)
                                + (f"\n\n{UNDECODABLE_NOTE}" if c.kind == "markdown"
                                   and c is draft.cells[0] else ""))
            for c in draft.cells))
    draft = dataclasses.replace(draft, meta=json.loads(_printable(json.dumps(
        draft.meta, ensure_ascii=False))))
    cells = []
    for cell in draft.cells:
        meta: dict[str, Any] = {}
        if cell.tags:
            meta["tags"] = list(cell.tags)
        if cell.meta:
            meta["reifier"] = dict(cell.meta)
        item: dict[str, Any] = {
            "cell_type": cell.kind,
            "id": uuid.uuid4().hex[:8],
            "metadata": meta,
            "source": cell.source,
        }
        if cell.kind == "code":
            item["execution_count"] = None
            item["outputs"] = []
        cells.append(item)
    return {
        "cells": cells,
        "metadata": {
            "jupytext": dict(JUPYTEXT),
            "kernelspec": dict(KERNELSPEC),
            "language_info": dict(LANGUAGE_INFO),
            "reifier": dict(draft.meta),
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, text, mode=0o644)  # runbooks and evidence are meant to be read


def ipynb_text(nb: NB) -> str:
    """Serialise a notebook the way nbformat does (1-space indent, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def markdown_text(nb: NB) -> str:
    """Render the Jupytext Markdown twin of a notebook (always with its ``reifier`` metadata)."""
    import jupytext

    meta = dict(nb.get("metadata", {}))
    jt = dict(meta.get("jupytext") or {})
    wanted = [f for f in str(jt.get("notebook_metadata_filter") or "").split(",") if f]
    if "reifier" not in wanted:
        # without it Jupytext silently drops the approval from the Markdown header
        jt["notebook_metadata_filter"] = ",".join(
            [*[f for f in wanted if f != "-reifier"], "reifier"]
        )
        meta["jupytext"] = jt
        nb = {**nb, "metadata": meta}
    return str(jupytext.writes(_node(nb), fmt="md"))


def _node(nb: NB) -> Any:
    import nbformat

    return nbformat.from_dict(nb)  # type: ignore[no-untyped-call]


def write(nb: NB, path: Path) -> None:
    """Write one file (``.ipynb`` or ``.md``) atomically."""
    text = markdown_text(nb) if path.suffix == ".md" else ipynb_text(nb)
    _atomic_write(path, text)


def write_pair(nb: NB, path: Path) -> tuple[Path, Path]:
    """Write both files of a pair; each rename is atomic, the ``.md`` goes last.

    The Markdown is rendered before anything touches the disk, so a rendering
    error leaves both files as they were.
    """
    md_path, nb_path = pair_paths(path)
    md = markdown_text(nb)
    _atomic_write(nb_path, ipynb_text(nb))
    _atomic_write(md_path, md)
    return md_path, nb_path


def _refuse_hidden_code(path: Path, raw: str, nb: NB) -> None:
    """Refuse a ``.md`` whose code cells do not all render (a fence in an HTML comment)."""
    from reifier.core.visible import hidden_code_cells

    sources = ["".join(c["source"]) if isinstance(c.get("source"), list) else str(c["source"])
               for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    hidden = hidden_code_cells(raw, sources)
    if hidden:
        first = (sources[hidden[0] - 1].strip().splitlines() or [""])[0][:80]
        cells = ", ".join(map(str, hidden))
        raise Refused(f"{path}: code cell{'s' if len(hidden) > 1 else ''} {cells} would run but "
                      f"{'do' if len(hidden) > 1 else 'does'} not render (a fence inside an HTML "
                      f"comment?): `{first}`; make it a visible ```bash fence or delete it")


# --- a parse cache for .md twins --------------------------------------------------------
# Importing Jupytext (and nbformat, jsonschema) is most of a CLI command's time; a runbook's
# Markdown rarely changes between two `status`/`check`/`run`. Parsed notebooks are kept
# under REIFIER_HOME/cache/md (0700 folder, 0600 files) keyed by the SHA-256 of the exact
# text and by the installed Jupytext, so any edit or upgrade parses again. Only texts that
# parsed and passed the hidden-code check are kept; what runs is always what was verified.
_CACHE_VERSION = "1"


def _md_key(raw: str) -> Path | None:
    import hashlib
    import importlib.util

    from reifier.adapters.settings import default_home

    spec = importlib.util.find_spec("jupytext")
    if spec is None or spec.origin is None:
        return None
    try:
        stamp = str(os.stat(spec.origin).st_mtime_ns)
    except OSError:
        return None
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{stamp}\0{raw}".encode(
        "utf-8", "surrogatepass")).hexdigest()
    return default_home(os.environ) / "cache" / "md" / f"{digest}.json"


def _cached_md(raw: str) -> NB | None:
    path = _md_key(raw)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("cells"), list) else None


def _cache_md(raw: str, nb: NB) -> None:
    path = _md_key(raw)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(nb, fh, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        return  # a cache that cannot be written is only slower


def read(path: Path) -> NB:
    """Read a runbook from ``.ipynb`` (plain JSON) or ``.md`` (through Jupytext)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    if path.suffix == ".md":
        cached = _cached_md(raw)
        if cached is not None:
            return cached
        import jupytext

        try:
            nb = jupytext.reads(raw, fmt="md")
        except Exception as exc:  # jupytext raises many types on bad text
            raise BadInput(f"{path}: not a Jupytext Markdown notebook: {exc}") from None
        plain: NB = json.loads(json.dumps(nb))
        _refuse_hidden_code(path, raw, plain)
        _cache_md(raw, plain)
        return plain
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not a notebook (invalid JSON at line {exc.lineno})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise BadInput(f"{path}: not a notebook (no cells list)")
    if nb.get("nbformat") != 4:
        raise BadInput(f"{path}: unsupported nbformat {nb.get('nbformat')!r} (need 4)")
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            raise BadInput(f"{path}: cell {i} is malformed")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        if not isinstance(cell.get("source", ""), str):
            raise BadInput(f"{path}: cell {i} has a non-text source")
    return nb


def reifier_meta(nb: NB) -> dict[str, Any]:
    """Return ``metadata.reifier`` (empty when absent)."""
    meta = nb.get("metadata", {}).get("reifier", {})
    return meta if isinstance(meta, dict) else {}


def runbook_files(runbooks: Path) -> list[Path]:
    """Return one ``.ipynb`` (or lone ``.md``) per runbook in drafts/ and approved/."""
    found: list[Path] = []
    for sub in ("approved", "drafts"):
        directory = runbooks / sub
        if not directory.is_dir():
            continue
        stems = {p.with_suffix("") for p in directory.iterdir() if p.suffix in {".md", ".ipynb"}}
        for stem in sorted(stems):
            nb = stem.with_suffix(".ipynb")
            found.append(nb if nb.exists() else stem.with_suffix(".md"))
    return found
