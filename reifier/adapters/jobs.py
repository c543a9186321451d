"""Background runs of the alert receiver: a queue, a bounded pool, one subprocess per run.

The receiver only inserts a ``queued`` row in the store's ``runs`` table (in the
transaction that decided the run) and hands its id to :class:`JobQueue`. A
worker thread starts ``python -m reifier.adapters.jobs JOB_ID`` in its own
process group, so a crashing kernel cannot take the server down and a run
outlives a server restart; the job process marks its row ``running``, runs the
runbook under the per-runbook lock (:func:`reifier.adapters.respond.run_autonomously`)
and writes the outcome and the record's paths back to the row.

On start the queue recovers: every ``queued``/``running`` row whose process is
gone becomes ``interrupted`` and the partial record papermill left behind is
sealed into the hash-chained record index (so the autonomy policy counts it);
a job process still alive is adopted and watched until it ends.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reifier.adapters.settings import Context, load_context
from reifier.adapters.store import Store
from reifier.errors import BadInput, Refused, ReifierError

log = logging.getLogger("reifier.jobs")
ACTIVE = ("queued", "running")
RESTARTED = "reifier serve restarted and the job process was gone"
Callback = Callable[[dict[str, Any]], None]


def new_job_id() -> str:
    """Return a new, unguessable job id."""
    return f"job-{secrets.token_hex(8)}"


def job_log(ctx: Context, job_id: str) -> Path:
    """Return where a job process's output goes."""
    return ctx.home / "jobs" / f"{job_id}.log"


def process_alive(row: dict[str, Any]) -> bool:
    """Tell whether the row's job process still runs (and is not a reused pid)."""
    pid = row.get("pid")
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return str(row["id"]).encode() in cmdline and state != "Z"


def newest_record(ctx: Context, runbook: str, since: float) -> Path | None:
    """Return the newest record notebook of a runbook written since ``since``."""
    from reifier.adapters.records import records_dir

    directory = records_dir(ctx) / runbook
    found = [p for p in directory.glob("*.ipynb") if p.stat().st_mtime >= since - 1.0] \
        if directory.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def seal_partial(ctx: Context, store: Store, row: dict[str, Any]) -> None:
    """Keep an interrupted run's partial output as a proper, indexed ``interrupted`` record."""
    import json

    from reifier.adapters import records

    path = newest_record(ctx, str(row["runbook"]), float(row.get("started") or row["created"]))
    if path is None:
        return
    indexed = {line.get("record") for line in records.read_index(ctx)}
    rel = str(path.relative_to(records.records_dir(ctx)))
    if rel not in indexed:
        nb = json.loads(path.read_text(encoding="utf-8"))
        meta = nb.get("metadata", {}).get("reifier", {})
        spec = row["spec"]
        prov = {"run_id": path.stem, "runbook": row["runbook"], "source": spec.get("path", ""),
                "title": meta.get("title", ""),
                "digest": (meta.get("approval") or {}).get("digest", ""),
                "approved_by": (meta.get("approval") or {}).get("by", ""),
                "parameters": spec.get("params", {}), "given": spec.get("params", {}),
                "trigger": spec.get("trigger", ""), "host": os.uname().nodename, "user": "",
                "started": _iso(row.get("started") or row["created"]), "ended": _iso(time.time()),
                "status": "interrupted", "failed_cell": None, "cells": [], "error": RESTARTED}
        records.keep(ctx, nb, prov)
    base = records.records_dir(ctx)
    store.update_run(str(row["id"]), run_id=path.stem, record=str(path),
                     html=str(base / Path(rel).with_suffix(".html")))


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class JobQueue:
    """A bounded pool of worker threads, each waiting on one job subprocess at a time."""

    def __init__(self, ctx: Context, workers: int = 2, *, on_start: Callback | None = None,
                 on_done: Callback | None = None) -> None:
        if workers < 1:
            raise BadInput(f"--workers must be at least 1, got {workers}")
        self.ctx, self.workers = ctx, workers
        self.on_start, self.on_done = on_start, on_done
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def pending(self) -> int:
        """Return how many submitted jobs wait for a worker."""
        return self._queue.qsize()

    @property
    def running(self) -> int:
        """Return how many job processes this queue is waiting on."""
        with self._lock:
            return len(self._procs)

    def start(self) -> list[str]:
        """Recover after a restart, then start the workers; return the interrupted job ids."""
        store = Store(self.ctx.db_path)
        adopted: list[dict[str, Any]] = []
        try:
            def alive(row: dict[str, Any]) -> bool:
                if process_alive(row):
                    adopted.append(row)
                    return True
                return False

            gone = store.mark_interrupted(alive, RESTARTED)
            for job_id in gone:
                row = store.get_run(job_id)
                if row is not None:
                    self._seal(store, row)
        finally:
            store.close()
        for row in adopted:
            self._spawn(self._watch, row)
        for _ in range(self.workers):
            self._spawn(self._work)
        return gone

    def submit(self, job_id: str) -> None:
        """Queue a job whose ``queued`` row is committed."""
        self._queue.put(job_id)

    def stop(self, terminate: bool = False, timeout: float = 15.0) -> None:
        """Stop the workers; with ``terminate``, also SIGTERM running jobs and wait for them."""
        for _ in range(self.workers):
            self._queue.put(None)
        if not terminate:
            return  # job processes live on; the next start adopts or marks them
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    # -- workers -----------------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="reifier-job")
        thread.start()
        self._threads.append(thread)

    def _seal(self, store: Store, row: dict[str, Any]) -> None:
        try:
            seal_partial(self.ctx, store, row)
        except (ReifierError, OSError, ValueError) as exc:
            log.warning("job %s: partial record not sealed: %s", row["id"], exc)

    def _finish(self, store: Store, job_id: str, status: str, reason: str) -> None:
        with store.transaction():
            row = store.get_run(job_id)
            stale = row is not None and row["status"] in ACTIVE
            if stale:
                store.update_run(job_id, status=status, reason=reason, ended=time.time())
        row = store.get_run(job_id)
        if row is None:
            return
        if stale:
            self._seal(store, row)
            row = store.get_run(job_id) or row
        if self.on_done:
            self.on_done(row)

    def _work(self) -> None:
        store = Store(self.ctx.db_path)  # one connection per thread: transactions stay apart
        try:
            while (job_id := self._queue.get()) is not None:
                try:
                    self._run_one(store, job_id)
                except (ReifierError, OSError) as exc:
                    log.error("job %s failed to run: %s", job_id, exc)
                    self._finish(store, job_id, "error", f"could not start the job: {exc}")
        finally:
            store.close()

    def _run_one(self, store: Store, job_id: str) -> None:
        row = store.get_run(job_id)
        if row is None or row["status"] != "queued":
            return
        out = job_log(self.ctx, job_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        # The token stays with the server: runbook cells (and their records) never see it.
        env = {k: v for k, v in os.environ.items() if k != "REIFIER_TOKEN"}
        env.update(REIFIER_HOME=str(self.ctx.home), REIFIER_WORKSPACE=str(self.ctx.workspace))
        with out.open("ab") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "reifier.adapters.jobs", job_id],
                                    stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, env=env,
                                    start_new_session=True)
        with self._lock:
            self._procs[job_id] = proc
        store.update_run(job_id, pid=proc.pid)
        if self.on_start:
            self.on_start(row)
        try:
            code = proc.wait()
        finally:
            with self._lock:
                self._procs.pop(job_id, None)
        # A job that reported its outcome left its row final; otherwise it died on the way.
        status = "interrupted" if code < 0 else "error"
        self._finish(store, job_id, status, f"job process ended with exit status {code} "
                                            f"before reporting (see {out})")

    def _watch(self, row: dict[str, Any]) -> None:
        """Follow a job process adopted from an earlier server until it ends."""
        while process_alive(row):
            time.sleep(0.5)
        store = Store(self.ctx.db_path)
        try:
            self._finish(store, str(row["id"]), "interrupted", "adopted job process ended "
                                                                "without reporting")
        finally:
            store.close()


# -- the job process -----------------------------------------------------------------------


def run_job(ctx: Context, store: Store, job_id: str) -> str:
    """Run one queued job in this process; write its outcome to the row; return the status."""
    from reifier.adapters import respond, silences

    with store.transaction():
        row = store.get_run(job_id)
        if row is None:
            raise BadInput(f"no job {job_id!r}")
        if row["status"] != "queued":
            return str(row["status"])  # already started, or given up on by a restart
        started = time.time()
        store.update_run(job_id, status="running", pid=os.getpid(), started=started)
    spec, runbook = row["spec"], str(row["runbook"])
    silence = _silence_start(ctx, row) if spec.get("silence") else ""
    fields: dict[str, Any] = {}
    try:
        result = respond.run_autonomously(ctx, store, runbook, Path(spec["path"]),
                                          dict(spec.get("params") or {}), str(spec["trigger"]))
        if result is None:
            fields = {"status": "skipped", "reason": "another run of this runbook is in progress"}
        else:
            fields = {"status": result.status, "reason": result.reason, "run_id": result.run_id,
                      "record": str(result.record or ""), "html": str(result.html or "")}
    except KeyboardInterrupt:  # SIGTERM: the engine wrote an ``interrupted`` record
        fields = {"status": "interrupted", "reason": "the job was stopped (SIGTERM)"}
        record = newest_record(ctx, runbook, started)
        if record is not None:
            fields.update(run_id=record.stem, record=str(record),
                          html=str(record.with_suffix(".html")))
    except ReifierError as exc:
        fields = {"status": "refused" if isinstance(exc, Refused) else "error",
                  "reason": str(exc)}
    finally:
        if silence:
            try:
                silences.expire_silence(str(silences.alertmanager_url(os.environ)), silence)
            except ReifierError as exc:
                fields["reason"] = f"{fields.get('reason', '')} (silence not expired: {exc})"
        store.update_run(job_id, ended=time.time(), **(fields or {"status": "error"}))
    _link_alert(store, row, str(fields.get("run_id", "")))
    return str(fields["status"])


def _silence_start(ctx: Context, row: dict[str, Any]) -> str:
    """Create the run's silence if an Alertmanager URL is configured; keep its id."""
    from reifier.adapters import silences

    try:
        url = silences.alertmanager_url(os.environ)
        if url is None or not row["spec"].get("labels"):
            return ""
        now = time.time()
        sid = silences.create_silence(
            url, row["spec"]["labels"], now, now + ctx.settings.run_timeout_s + 60,
            f"reifier is running runbook {row['runbook']} (job {row['id']})")
    except ReifierError as exc:
        log.warning("job %s: no silence: %s", row["id"], exc)
        return ""
    store = Store(ctx.db_path)
    try:
        store.update_run(str(row["id"]), silence=sid)
    finally:
        store.close()
    return sid


def _link_alert(store: Store, row: dict[str, Any], run_id: str) -> None:
    """Add ``Alert -triggered-> Execution`` once the run left an Execution node."""
    if not run_id or not row["alert_key"]:
        return
    ids = {kind: store.db.execute("SELECT id FROM nodes WHERE kind=? AND key=?",
                                  (kind, key)).fetchone()
           for kind, key in (("Alert", row["alert_key"]), ("Execution", run_id))}
    if ids["Alert"] and ids["Execution"]:
        store.add_edge(int(ids["Alert"][0]), "triggered", int(ids["Execution"][0]))


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m reifier.adapters.jobs JOB_ID``; exit 0 when the run ended ``ok``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m reifier.adapters.jobs JOB_ID", file=sys.stderr)
        return 2

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        ctx = load_context()
        store = Store(ctx.db_path)
        try:
            status = run_job(ctx, store, args[0])
        finally:
            store.close()
    except ReifierError as exc:
        print(f"reifier job: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"reifier job {args[0]}: {status}", file=sys.stderr)
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
