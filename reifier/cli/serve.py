"""``reifier serve``: receive Alertmanager webhooks; suggest or run approved runbooks."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import stat
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import click

from reifier.cli.options import workspace_option
from reifier.errors import ConfigError, Refused

MIN_TOKEN = 16


def _read_token(path: Path) -> str:
    """Read a token file, refusing one that others on the machine can read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise Refused(f"token file {path} is readable by others (mode {mode:04o}); "
                          f"run: chmod 600 {path}")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read token file {path}: {exc}") from None


def find_token(token_file: Path | None, env: Mapping[str, str], home: Path) -> str | None:
    """Return the token: ``--token-file`` > ``REIFIER_TOKEN`` > ``$REIFIER_HOME/token``."""
    if token_file is not None:
        text = _read_token(token_file)
    elif env.get("REIFIER_TOKEN"):
        text = env["REIFIER_TOKEN"]
    elif (home / "token").is_file():
        text = _read_token(home / "token")
    else:
        return None
    token = text.strip()
    if len(token) < MIN_TOKEN or any(ch.isspace() for ch in token):
        raise ConfigError(f"the token must be at least {MIN_TOKEN} characters, no spaces "
                          "(try: openssl rand -hex 32)")
    return token


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line."""
        data: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, sort_keys=True, default=str)


def setup_logging(as_json: bool) -> Callable[[str], None]:
    """Log reifier's and tornado's records at info to stderr; return how to announce."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("reifier", "tornado"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    if as_json:
        announce = logging.getLogger("reifier.serve")
        return lambda line: announce.info("%s", line)
    return lambda line: click.echo(line, err=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9177, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File holding the bearer token (else REIFIER_TOKEN, else $REIFIER_HOME/token).")
@click.option("--insecure", is_flag=True,
              help="Allow running without a token, on a loopback address only.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Runs at most this many runbooks at once.")
@click.option("--log-json", is_flag=True,
              help="Log one JSON object per line (time, level, request, alerts, decisions).")
@workspace_option
def cmd_serve(host: str, port: int, token_file: Path | None, insecure: bool, workers: int,
              log_json: bool, workspace: str | None) -> None:
    """Receive Alertmanager webhooks at POST /hooks/alertmanager (bearer token).

    Each alert is stored once (fingerprint + startsAt), matched against the
    approved runbooks, and suggested or run in the background as the autonomy
    policy allows. GET /runs/ID reports a run; /healthz and /metrics need no token.
    Every request is logged to stderr at info level with what it decided: alert
    keys, matches, decisions with their reasons and run ids (--log-json: as JSON).

    \b
    Examples:
      reifier serve --port 9177 --workers 2
      reifier serve --token-file /etc/reifier/token --log-json 2>>/var/log/reifier.jsonl
    """
    from reifier.adapters.settings import load_context
    from reifier.server.app import serve

    ctx = load_context(workspace)
    token = find_token(token_file, os.environ, ctx.home)
    if token is None and not (insecure and is_loopback(host)):
        hint = " (--insecure only works on a loopback --host)" if insecure else ""
        raise ConfigError("no token: set REIFIER_TOKEN, pass --token-file or create "
                          f"{ctx.home / 'token'}{hint}")
    serve(ctx, host, port, token, workers, setup_logging(log_json))
