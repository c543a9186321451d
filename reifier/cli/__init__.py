"""The ``reifier`` command: a click group whose commands load on first use.

Commands live one per module and are imported only when invoked, so
``reifier --help`` never pays for Jupyter's imports. Every :class:`ReifierError`
becomes a one-line message and its exit code here, and only here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from reifier import __version__
from reifier.errors import EXIT_BAD_INPUT, ReifierError, StoreError

# jsonschema (imported by nbformat, hence by jupytext) compiles a grammar for about
# 1.4 s at import when rfc3987_syntax is installed, only to offer an "iri" format
# checker that notebook validation never uses. A None entry makes that optional import
# fail at once (jsonschema then simply has no such checker): every command touching a
# notebook starts ~1.5 s sooner. Only the CLI process does this; JupyterLab does not.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
# jupytext's package imports its Jupyter contents managers (jupyter_server, tornado:
# ~0.25 s) under try/except ImportError; the CLI only reads and writes text, and
# `reifier lab` execs a fresh interpreter, where they load as usual.
for _optional in ("jupytext.sync_contentsmanager", "jupytext.async_contentsmanager"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]

#: command name -> (module under reifier.cli, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Print the shell hook to eval in your rc file (bash or zsh)."),
    "pause": ("pause", "Stop recording commands in every shell until `reifier resume`."),
    "resume": ("pause", "Record commands again after `reifier pause`."),
    "import": ("importcmd", "Import a bash or zsh history file into the store."),
    "watch": ("watch", "Follow the hook spool and history files into the store."),
    "sessions": ("sessions", "List recorded sessions with their commands per role."),
    "session": ("sessions", "Show one session's commands, roles and redactions."),
    "draft": ("draft", "Write the draft runbook (Markdown + notebook) of a session."),
    "match": ("match", "Rank approved runbooks for an error line (or every line of a file)."),
    "graph": ("graph", "Export the memory graph as JSON, GraphML or Mermaid."),
    "patrol": ("patrol", "Follow log files; suggest or run the runbook for known errors."),
    "demo": ("demo", "Run the end-to-end demo in a sandbox (service, shell, draft, alert, run)."),
    "check": ("check", "Run the guard (and approval checks) without running anything."),
    "kernel": ("kernel", "Install or inspect the reifier-bash Jupyter kernel."),
    "approve": ("approve", "Approve runbooks: guard, four-eyes, then sign both files of a pair."),
    "config": ("config", "Print the effective settings and where each came from."),
    "completion": ("completion", "Print the shell completion script (bash, zsh, fish)."),
    "keys": ("keys", "Show your approval signing key and the allowed_signers line to add."),
    "status": ("status", "Show whether runbooks are draft, approved or stale (and which cells)."),
    "run": ("run", "Run an approved runbook through papermill with parameters; keep a record."),
    "records": ("records", "List run records, or verify the hash-chained index (--verify)."),
    "lab": ("lab", "Start JupyterLab on the workspace with the reifier-bash kernel and "
                   "the extension."),
    "serve": ("serve", "Receive Alertmanager webhooks: match, suggest or run approved runbooks."),
}


#: command name -> examples shown at the end of its --help (one place, kept short)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ('eval "$(reifier init bash)"   # in ~/.bashrc', 'eval "$(reifier init zsh)"'),
    "pause": ("reifier pause   # e.g. before typing a secret on purpose",),
    "resume": ("reifier resume",),
    "import": ("reifier import ~/.bash_history",
               "reifier import --format zsh-extended --host db-3 ~/.zsh_history"),
    "watch": ("reifier watch &", "reifier watch --once   # drain the spool, draft, exit"),
    "sessions": ("reifier sessions --limit 5", "reifier sessions --json | jq '.[0].id'"),
    "session": ("reifier session 3f2a9c1d0b7e",),
    "draft": ("reifier draft --last", "reifier draft 3f2a9c1d0b7e --symptom 'disk full' --force"),
    "match": ('reifier match "ERROR: deadlock detected while waiting for ShareLock"',
              "tail -f app.log | reifier match --file - --json"),
    "graph": ("reifier graph --format mermaid > graph.mmd",),
    "demo": ("reifier demo --sandbox /tmp/reifier-demo",),
    "check": ("reifier check runbooks/approved/*.md --strict   # CI lint",
              "reifier check --command 'rm -rf /tmp/build'"),
    "kernel": ("reifier kernel install --sys-prefix", "reifier kernel list"),
    "approve": ("reifier approve runbooks/drafts/fix-disk.md --by alice",
                "reifier approve runbooks/approved/fix-disk.md --revoke"),
    "run": ("reifier run runbooks/approved/fix-disk.md -p LOG_DIR /var/log/app --dry-run",
            "reifier run runbooks/approved/fix-disk.md -p LOG_DIR /var/log/app"),
    "records": ("reifier records --runbook fix-disk", "reifier records --verify"),
    "lab": ("reifier lab --port 8899 --no-browser",),
}


def one_line(exc: BaseException) -> str:
    """Return an error message as one line (libraries' messages can span several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else type(exc).__name__


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"reifier.cli.{entry[0]}")
        command: click.Command = getattr(module, f"cmd_{cmd_name}")
        if cmd_name in EXAMPLES and not command.epilog:
            command.epilog = "\b\nExamples:\n" + "\n".join(
                f"  {line}" for line in EXAMPLES[cmd_name])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReifierError as exc:
            click.echo(f"reifier: error: {one_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except (OSError, UnicodeError) as exc:
            # Unreadable paths and undecodable names are bad input, never a traceback.
            click.echo(f"reifier: error: {one_line(exc)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reifier")
def cli() -> None:
    """Runbook Reifier: your incident shell sessions, turned into approved runbooks."""


def main() -> None:
    """Run the CLI; used by the console script and ``python -m reifier``."""
    try:
        cli.main(prog_name="reifier")
    except StoreError as exc:  # raised while click was still parsing
        click.echo(f"reifier: error: {one_line(exc)}", err=True)
        sys.exit(exc.exit_code)
