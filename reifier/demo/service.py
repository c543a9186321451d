"""A tiny real service for the demo: an HTTP health endpoint guarded by a lock file.

It takes ``app.lock`` when it starts and refuses to start while another
process's lock is there: kill it with ``kill -9`` and the lock goes stale, the
classic "service will not come back" incident.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def log(path: Path, level: str, message: str) -> None:
    """Append one timestamped line to the service log."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"{stamp} {level} demo-app[{os.getpid()}]: {message}\n")


class Health(BaseHTTPRequestHandler):
    """Answer ``GET /health`` with 200 and anything else with 404."""

    def do_GET(self) -> None:
        body = b'{"status": "ok"}\n' if self.path == "/health" else b"not found\n"
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep access logs out of the demo's output."""


def main() -> int:
    """Start the service in ``sys.argv[1]`` (its home) on port ``sys.argv[2]``."""
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    lock, logfile = home / "state" / "app.lock", home / "logs" / "app.log"
    if lock.exists():
        holder = lock.read_text().strip() or "?"
        log(logfile, "ERROR", f"cannot start: lock file {lock} is held by pid {holder}")
        return 1
    lock.write_text(str(os.getpid()))
    # a clean stop (SIGTERM from appctl) releases the lock; kill -9 leaves it stale
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    log(logfile, "INFO", f"listening on 127.0.0.1:{port}")
    try:
        server.serve_forever()
    finally:
        lock.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
