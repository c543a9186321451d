"""Run evidence: record notebooks, their HTML, and a signed, hash-chained index.

Each run leaves ``runbooks/records/<runbook-id>/<run-id>.ipynb`` (plain JSON,
never paired with Jupytext) and ``<run-id>.html``, both opening with a
provenance header. ``runbooks/records/index.jsonl`` gets one line per run with
the SHA-256 of both files and ``prev``, the SHA-256 of the line before it, so
editing or removing a record or a line breaks the chain :func:`verify` walks.

Whoever can write the folder could still recompute every hash, so each line is
also signed (``ssh-keygen -Y sign``, namespace ``reifier-record``) by the key of
the host that ran it: ``REIFIER_HOME/host_key``, an ed25519 key created on first
use. ``hash`` covers every other field of the line (``sig`` aside), the
signature covers the same bytes, and the line names its signer (``signer``, a
principal like ``host:web1``, and ``key``, the key's fingerprint). Verification
needs public keys only: the workspace's ``allowed_signers`` (lines with
``namespaces="reifier-record"``, see ``reifier records --host-key``) and the
host keys the store registered when it created them. After every append the
store (outside the workspace) anchors the chain head, the latest line's hash
and the line count, so truncating, wiping or re-chaining the index is caught.
The store also gets an ``Execution`` node linked ``Execution -ran-> Runbook``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reifier.adapters.files import atomic_write
from reifier.adapters.notebooks import ipynb_text
from reifier.adapters.settings import Context
from reifier.adapters.store import Store
from reifier.adapters.store_records import HostKey
from reifier.errors import BadInput, ConfigError

INDEX = "index.jsonl"
GENESIS = "0" * 64
RECORD_NAMESPACE = "reifier-record"  # record signatures never pass as approvals
HOST_KEY = "host_key"
_VERIFY_WORKERS = min(4, os.cpu_count() or 1)  # one ssh-keygen -Y verify per line
_UNHASHED = frozenset({"hash", "sig", "sig_error"})  # the only fields ``hash`` skips
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


def _canonical(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def line_body(line: Mapping[str, Any]) -> str:
    """Return the bytes ``hash`` and the signature cover: every field but hash/sig."""
    return _canonical({k: v for k, v in line.items() if k not in _UNHASHED})


def _index_path(ctx: Context) -> Path:
    return records_dir(ctx) / INDEX


def _anchor_key(ctx: Context) -> str:
    """Name an index in the store: its absolute path (a moved workspace is a new index)."""
    return str(_index_path(ctx).resolve())


# --- the host key ---------------------------------------------------------------------

def host_key_path(ctx: Context) -> Path:
    """Return the key this host signs records with: ``REIFIER_HOME/host_key``."""
    return ctx.home / HOST_KEY


def host_principal() -> str:
    """Return the principal a new host key signs as: ``host:<hostname>``."""
    return f"host:{socket.gethostname()}"


def _create_host_key(path: Path, principal: str) -> None:
    """Make an ed25519 key with ssh-keygen; a concurrent creator's key wins, intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".host_key.", dir=path.parent))
    tmp = tmpdir / "key"
    try:
        try:
            proc = subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"reifier {principal}",
                 "-f", str(tmp)], capture_output=True, text=True, timeout=30, check=False)
        except (FileNotFoundError, subprocess.TimeoutExpired):
            raise ConfigError("cannot create a host key: ssh-keygen is missing or hung "
                              "(Debian: apt-get install openssh-client)") from None
        if proc.returncode != 0 or not tmp.is_file():
            why = (proc.stderr.strip().splitlines() or ["no key written"])[-1]
            raise ConfigError(f"cannot create a host key at {path}: {why}")
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # fails if another process made one first: keep theirs
            os.replace(tmpdir / "key.pub", path.with_name(path.name + ".pub"))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def host_key(ctx: Context, store: Store) -> HostKey:
    """Return this host's record key, creating and registering it on first use.

    The store registers the first key it sees at the path; a key found there
    later with another fingerprint (swapped in) is returned unregistered, so its
    signatures are not trusted as this host's.
    """
    from reifier.adapters.sshsig import fingerprint, public_key

    path = host_key_path(ctx)
    if not path.is_file():
        _create_host_key(path, host_principal())
    fp = fingerprint(path)
    known = store.host_keys(str(path))
    for key in known:
        if key.fingerprint == fp:
            return key
    key = HostKey(fp, str(path), host_principal(), public_key(path))
    if not known:
        store.register_host_key(key)
    return key


def allowed_signers_line(key: HostKey) -> str:
    """Return the ``allowed_signers`` line that trusts ``key`` for records (only)."""
    return f'{key.principal} namespaces="{RECORD_NAMESPACE}" {key.public_key}'


# --- appending ----------------------------------------------------------------------

@contextmanager
def _index_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".index.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _signed(ctx: Context, store: Store, line: dict[str, Any]) -> dict[str, Any]:
    """Name the signer, hash every field and sign; unsigned (with why) if signing fails.

    The run already happened: its evidence is written even when no key can sign,
    and ``verify`` reports the line as unsigned.
    """
    from reifier.adapters.sshsig import SshSigner

    try:
        key = host_key(ctx, store)
    except ConfigError as exc:
        line.update(signer="", key="")
        return {**line, "hash": hashlib.sha256(line_body(line).encode()).hexdigest(),
                "sig": "", "sig_error": str(exc)}
    line.update(signer=key.principal, key=key.fingerprint)
    body = line_body(line)
    line["hash"] = hashlib.sha256(body.encode("utf-8")).hexdigest()
    try:
        line["sig"], _ = SshSigner(Path(key.path), RECORD_NAMESPACE)(body)
    except ConfigError as exc:
        line.update(sig="", sig_error=str(exc))
    return line


def append_index(ctx: Context, entry: Mapping[str, Any],
                 store: Store | None = None) -> dict[str, Any]:
    """Append one chained, signed line to ``index.jsonl`` and anchor it in the store.

    The index is rewritten atomically under a lock; the store's anchor is
    updated under the same lock, so it always names the line just written.
    """
    own = store is None
    db = Store(ctx.db_path) if store is None else store
    directory = records_dir(ctx)
    try:
        with _index_lock(directory):
            path = directory / INDEX
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            lines = old.splitlines()
            line = _signed(ctx, db, {**{k: v for k, v in entry.items() if k not in _UNHASHED},
                                     "prev": _line_sha(lines[-1]) if lines else GENESIS})
            text = _canonical(line)
            _atomic_write(path, old + text + "\n")
            db.anchor_records(_anchor_key(ctx), _line_sha(text), len(lines) + 1,
                              str(line.get("run_id", "")))
    finally:
        if own:
            db.close()
    return line


def write_record(ctx: Context, nb: Mapping[str, Any], prov: Mapping[str, Any],
                 store: Store | None = None) -> dict[str, Any]:
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
    }, store)


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
    """Write the record, sign and chain it into the index, add it to the store; return the line."""
    store = Store(ctx.db_path)
    try:
        line = write_record(ctx, nb, prov, store)
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


# --- verifying ------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSignature:
    """Who signed one index line, and whether that holds up."""

    line: int
    run_id: str
    runbook: str
    status: str
    principal: str  # as the line names it ("" when unsigned)
    fingerprint: str  # of the key that made the signature (or the line's claim if bad)
    trusted_by: str  # "allowed_signers", "this host" or "" (not verified)
    problem: str = ""


@dataclass
class Verification:
    """What ``records --verify`` found: every run's signer, and every problem."""

    runs: list[RunSignature] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    anchored: int | None = None  # line count the store anchored (None: no anchor here)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems


_TRUST_LABEL = 'allowed_signers (namespaces="reifier-record") or this host\'s registered key'


@contextmanager
def _record_trust(ctx: Context, store: Store) -> Iterator[tuple[Any, set[str], str]]:
    """Yield a verifier over the team's allowed_signers plus this host's own keys.

    ssh-keygen takes one allowed_signers file: a private temporary file joins the
    workspace's file (its ``namespaces=`` options apply as written) and one
    ``namespaces="reifier-record"`` line per host key the store registered.
    """
    from reifier.adapters.keys import allowed_signers_path
    from reifier.adapters.sshsig import SshVerifier

    team = allowed_signers_path(ctx.workspace, ctx.settings)
    try:
        text = team.read_text(encoding="utf-8") if team.is_file() else ""
    except OSError as exc:
        raise ConfigError(f"cannot read {team}: {exc.strerror}") from None
    local = store.host_keys()
    if text and not text.endswith("\n"):
        text += "\n"
    text += "".join(allowed_signers_line(k) + "\n" for k in local)
    revoked = Path(ctx.settings.revoked_keys).expanduser() if ctx.settings.revoked_keys else None
    if revoked is not None and not revoked.is_absolute():
        revoked = ctx.workspace / revoked
    fd, name = tempfile.mkstemp(prefix="reifier-record-signers-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        yield SshVerifier(Path(name), revoked, RECORD_NAMESPACE), \
            {k.fingerprint for k in local}, name
    finally:
        os.unlink(name)


def _check_line(n: int, line: Mapping[str, Any], verifier: Any, local: set[str],
                signers_file: str) -> RunSignature:
    """Check that a line's hash covers its fields and a trusted key signed them."""
    rid, principal, claimed = (str(line.get(k) or "") for k in ("run_id", "signer", "key"))
    sig = line.get("sig")

    def result(problem: str, fp: str = claimed, by: str = "") -> RunSignature:
        return RunSignature(n, rid, str(line.get("runbook", "")), str(line.get("status", "")),
                            principal, fp, by, problem and f"index line {n} (run {rid}): {problem}")

    body = line_body(line)
    if "hash" not in line and not sig:
        return result("unsigned, and no hash over its fields (written before records were "
                      "signed, or fabricated)")
    if line.get("hash") != hashlib.sha256(body.encode("utf-8")).hexdigest():
        return result("its fields do not match its hash (edited after it was written)")
    if not isinstance(sig, str) or not sig or not principal:
        why = str(line.get("sig_error") or "no signature")
        return result(f"unsigned ({why})")
    fp, reason = verifier(body, sig, principal)
    if not fp:
        reason = reason.replace(signers_file, _TRUST_LABEL).replace("this approval", "this line")
        return result(f"signature by {principal} ({claimed or 'no key named'}) not trusted: "
                      f"{reason}")
    if claimed != fp:
        return result(f"signed by {fp}, but the line names key {claimed or '(none)'}", fp)
    return result("", fp, "this host" if fp in local else "allowed_signers")


def _check_lines(raw: list[str], verifier: Any, local: set[str],
                 signers_file: str) -> dict[int, RunSignature]:
    """Check every parseable line's hash and signature; ssh-keygen runs in parallel."""
    parsed: dict[int, dict[str, Any]] = {}
    for n, text in enumerate(raw, 1):
        with contextlib.suppress(json.JSONDecodeError):
            line = json.loads(text)
            if isinstance(line, dict):
                parsed[n] = line

    def one(item: tuple[int, dict[str, Any]]) -> RunSignature:
        return _check_line(item[0], item[1], verifier, local, signers_file)

    with ThreadPoolExecutor(max_workers=_VERIFY_WORKERS) as pool:
        return dict(zip(parsed, pool.map(one, parsed.items()), strict=True))


def _check_anchor(ctx: Context, store: Store, raw: list[str], found: Verification) -> None:
    """Compare the index with the chain head the store anchored after the last append."""
    anchor = store.records_anchor(_anchor_key(ctx))
    if anchor is None:
        return
    found.anchored = anchor.count
    if len(raw) < anchor.count:
        found.problems.append(
            f"the index has {len(raw)} line(s) but the store anchored {anchor.count} (last run "
            f"{anchor.run_id}): runs were removed (index truncated or wiped)")
    elif _line_sha(raw[anchor.count - 1]) != anchor.head:
        found.problems.append(
            f"index line {anchor.count} is not the line the store anchored (run "
            f"{anchor.run_id}): the index was rewritten or re-chained")


def _check_host_key(ctx: Context, store: Store, found: Verification) -> None:
    """Report a host key swapped in under ``REIFIER_HOME``."""
    from reifier.adapters.sshsig import fingerprint

    path = host_key_path(ctx)
    known = store.host_keys(str(path))
    if not known or not path.exists():
        return
    try:
        fp = fingerprint(path)
    except ConfigError as exc:
        found.problems.append(f"host key {path}: {exc}")
        return
    if fp not in {k.fingerprint for k in known}:
        found.problems.append(f"host key {path} is {fp}, not the key this store registered "
                              f"({known[0].fingerprint}): it was replaced")


def check(ctx: Context, store: Store | None = None) -> Verification:
    """Verify chain, hashes, signatures, record files and the store's anchor.

    Without ``store`` the workspace's own store is opened: it holds this host's
    keys and the anchor, without which nothing this host signed would verify.
    """
    if store is None:
        own = Store(ctx.db_path)
        try:
            return check(ctx, own)
        finally:
            own.close()
    base = records_dir(ctx)
    path = base / INDEX
    raw = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    found = Verification()
    problems = found.problems
    prev = GENESIS
    listed: set[str] = set()
    with _record_trust(ctx, store) as (verifier, local, signers_file):
        signed_by = _check_lines(raw, verifier, local, signers_file)
        for n, text in enumerate(raw, 1):
            try:
                line = json.loads(text)
                files = {"ipynb": str(line["record"]), "html": str(line["html"])}
                sums, chained = line["sha256"], line["prev"]
                if not isinstance(sums, dict):
                    raise TypeError
            except (json.JSONDecodeError, KeyError, TypeError):
                problems.append(f"index line {n}: not a valid record line")
                prev = _line_sha(text)
                continue
            if chained != prev:
                problems.append(f"index line {n} does not chain to the line before it "
                                "(a line was edited, inserted or removed)")
            prev = _line_sha(text)
            signed = signed_by[n]
            found.runs.append(signed)
            if signed.problem:
                problems.append(signed.problem)
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
    for node in store.nodes("Execution"):
        rel = node["props"].get("record")
        if rel and rel not in listed:
            problems.append(f"run {node['key']} is in the store but not in the index "
                            "(index truncated?)")
    _check_anchor(ctx, store, raw, found)
    _check_host_key(ctx, store, found)
    return found


def verify(ctx: Context, store: Store | None = None) -> list[str]:
    """Return every problem found: chain, hashes, signatures, files, store anchor."""
    return check(ctx, store).problems
