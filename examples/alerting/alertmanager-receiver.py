#!/usr/bin/env python3
"""A tiny Alertmanager webhook receiver that runs approved runbooks with plain papermill.

No ``reifier serve`` needed: this is the smallest thing that works, standard
library only. For each *firing* alert whose ``alertname`` is mapped to a runbook
it runs, in the background::

    papermill --engine reifier runbooks/approved/X.ipynb OUT/X-<alertname>-<time>.ipynb \
        -p HOST <the alert's "instance" label> ...

The ``reifier`` engine still refuses unapproved or edited runbooks, guarded
commands and undeclared parameters, and label values are passed as data
(quoted), never as code. What this script does *not* do, and ``reifier serve``
does: deduplicate Alertmanager's re-sends (every ``repeat_interval`` runs again
here), hold one run per runbook at a time, apply the autonomy policy, keep the
hash-chained records, metrics, silences.

Usage::

    RECEIVER_TOKEN=$(openssl rand -hex 32) ./alertmanager-receiver.py --port 9178 \
        --runbook DiskFull=runbooks/approved/free-space-old-logs.ipynb \
        --param LOG_DIR=log_dir --out-dir /var/lib/runbook-runs

``--param NAME=label`` passes the alert's label ``label`` as papermill
parameter ``NAME`` (only when the alert has that label). Point Alertmanager's
``webhook_configs`` at ``http://HOST:9178/`` with ``authorization: {credentials: TOKEN}``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1024 * 1024


def pairs(specs: list[str], what: str) -> dict[str, str]:
    """Parse repeated ``A=B`` options."""
    out = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            sys.exit(f"alertmanager-receiver: {what} must look like NAME=VALUE, got {spec!r}")
        out[name] = value
    return out


def commands(payload: Any, runbooks: dict[str, str], params: dict[str, str],
             out_dir: Path) -> list[list[str]]:
    """Return one papermill command line per firing alert that has a runbook."""
    if not isinstance(payload, dict) or payload.get("version") != "4":
        raise ValueError("not an Alertmanager version 4 webhook payload")
    argvs = []
    for alert in payload.get("alerts") or []:
        labels = alert.get("labels") if isinstance(alert, dict) else None
        if not isinstance(labels, dict) or alert.get("status", "firing") != "firing":
            continue
        notebook = runbooks.get(str(labels.get("alertname")))
        if notebook is None:
            continue
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out = out_dir / f"{Path(notebook).stem}-{labels['alertname']}-{stamp}-{os.getpid()}.ipynb"
        argv = ["papermill", "--engine", "reifier", notebook, str(out)]
        for name, label in params.items():
            if isinstance(labels.get(label), str):
                argv += ["-p", name, labels[label]]
        argvs.append(argv)
    return argvs


def make_handler(args: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    """Build the request handler over the parsed options."""
    runbooks, params = pairs(args.runbook, "--runbook"), pairs(args.param, "--param")
    token = os.environ.get("RECEIVER_TOKEN", "")

    class Handler(BaseHTTPRequestHandler):
        def answer(self, code: int, text: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(text.encode() + b"\n")

        def do_POST(self) -> None:
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if token and not hmac.compare_digest(given.encode(), token.encode()):
                return self.answer(401, "missing or wrong bearer token")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.answer(413, "body too large")
            try:
                argvs = commands(json.loads(self.rfile.read(length)), runbooks, params,
                                 Path(args.out_dir))
            except ValueError as exc:
                return self.answer(400, str(exc))
            for argv in argvs:  # in the background: Alertmanager must not wait for a run
                threading.Thread(target=subprocess.run, args=(argv,), daemon=False).start()
                print("started:", " ".join(argv), file=sys.stderr, flush=True)
            return self.answer(202, f"{len(argvs)} run(s) started")

    return Handler


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9178)
    parser.add_argument("--runbook", action="append", default=[], metavar="ALERTNAME=NOTEBOOK")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=LABEL")
    parser.add_argument("--out-dir", default="runbook-runs")
    args = parser.parse_args()
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args))
    print(f"alertmanager-receiver: listening on {args.host}:{server.server_port}",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
