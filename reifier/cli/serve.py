"""``reifier serve``: receive Alertmanager webhooks; suggest or run approved runbooks."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

import click

from reifier.cli.options import workspace_option
from reifier.errors import ConfigError

MIN_TOKEN = 16


def _read_token(path: Path) -> str:
    try:
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
@workspace_option
def cmd_serve(host: str, port: int, token_file: Path | None, insecure: bool, workers: int,
              workspace: str | None) -> None:
    """Receive Alertmanager webhooks at POST /hooks/alertmanager (bearer token).

    Each alert is stored once (fingerprint + startsAt), matched against the
    approved runbooks, and suggested or run in the background as the autonomy
    policy allows. GET /runs/ID reports a run; /healthz and /metrics need no token.
    """
    from reifier.adapters.settings import load_context
    from reifier.server.app import serve

    ctx = load_context(workspace)
    token = find_token(token_file, os.environ, ctx.home)
    if token is None and not (insecure and is_loopback(host)):
        hint = " (--insecure only works on a loopback --host)" if insecure else ""
        raise ConfigError("no token: set REIFIER_TOKEN, pass --token-file or create "
                          f"{ctx.home / 'token'}{hint}")
    serve(ctx, host, port, token, workers, lambda line: click.echo(line, err=True))
