"""``reifier records``: list runs, ``--verify`` the signed evidence, or show the host key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option
from reifier.errors import ReifierError

if TYPE_CHECKING:
    from reifier.adapters.records import Verification


class EvidenceAltered(ReifierError):
    """The records or their index were altered, removed or not signed by a trusted key (exit 1)."""


@click.command("records")
@click.option("--verify", is_flag=True,
              help="Check the index chain, every record's hash, who signed each run, and the "
                   "chain head the store anchored.")
@click.option("--host-key", is_flag=True,
              help="Print the allowed_signers line that trusts this host's record key "
                   "(created on first use).")
@click.option("--runbook", default=None, metavar="ID", help="Only runs of this runbook.")
@workspace_option
@json_option
def cmd_records(verify: bool, host_key: bool, runbook: str | None, workspace: str | None,
                as_json: bool) -> None:
    """List runs from ``runbooks/records/index.jsonl`` (newest last), or verify them."""
    from reifier.adapters import records

    if verify and host_key:
        raise click.UsageError("--verify and --host-key do not go together")
    ctx, store = open_store(workspace)
    try:
        if host_key:
            key = records.host_key(ctx, store)
            if as_json:
                emit_json({"principal": key.principal, "fingerprint": key.fingerprint,
                           "path": key.path, "allowed_signers": records.allowed_signers_line(key)})
            else:
                click.echo(records.allowed_signers_line(key))
                click.echo(f"# {key.fingerprint} ({key.path}): add the line above to the "
                           "workspace's allowed_signers so other hosts trust this host's runs",
                           err=True)
            return
        if verify:
            _verify(records.check(ctx, store), as_json, runbook)
            return
        lines = [r for r in records.read_index(ctx) if runbook in (None, r.get("runbook"))]
    finally:
        store.close()
    if as_json:
        emit_json(lines)
        return
    if not lines:
        click.echo("no runs recorded yet (try `reifier run PATH`)")
    for r in lines:
        click.echo(f"{r.get('run_id')}  {r.get('runbook')}  {r.get('status'):20s}"
                   f"  {r.get('trigger')}  {r.get('record')}")


def _verify(found: Verification, as_json: bool, runbook: str | None) -> None:
    """Print who signed each run and every problem; exit 1 if there is any."""
    runs = [r for r in found.runs if runbook in (None, r.runbook)]
    if as_json:
        emit_json({"ok": found.ok, "runs": len(found.runs), "problems": found.problems,
                   "anchored": found.anchored,
                   "signers": [{"line": r.line, "run_id": r.run_id, "runbook": r.runbook,
                                "status": r.status, "principal": r.principal,
                                "fingerprint": r.fingerprint, "trusted_by": r.trusted_by,
                                "ok": not r.problem} for r in runs]})
    else:
        for r in runs:
            if r.problem:
                who = (f"NOT TRUSTED: claims {r.principal or '(no signer)'} "
                       f"({r.fingerprint or 'no key'})")
            else:
                who = f"signed by {r.principal} ({r.fingerprint}, trusted: {r.trusted_by})"
            click.echo(f"{r.run_id}  {r.runbook}  {r.status:12s}  {who}")
        for problem in found.problems:
            click.echo(f"ALTERED: {problem}")
        if found.ok:
            if found.anchored is not None:
                anchor = f"chain head anchored in the store at run {found.anchored}"
            elif found.runs:
                anchor = "no chain head anchored in this store (runs appended on other hosts)"
            else:
                anchor = "nothing recorded from this store yet"
            click.echo(f"records intact: {len(found.runs)} runs, chain, hashes and signatures "
                       f"verified, {anchor}")
    if not found.ok:
        raise EvidenceAltered(f"{len(found.problems)} problem(s) in the run records")
