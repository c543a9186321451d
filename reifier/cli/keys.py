"""``reifier keys``: which key signs your approvals, and the allowed_signers line to add."""

from __future__ import annotations

import click

from reifier.cli.options import emit_json, json_option, workspace_option


@click.command("keys")
@click.option("--by", default=None, metavar="PRINCIPAL",
              help="The name you approve as (default: $USER).")
@workspace_option
@json_option
def cmd_keys(*, by: str | None, workspace: str | None, as_json: bool) -> None:
    """Show the approval mode, your signing key and its allowed_signers line.

    Approvals are OpenSSH signatures: you sign with your own key (or ssh-agent),
    and every run checks them against the workspace's allowed_signers, which the
    team reviews like code. Add the printed line there (one per person and key).

    Example: `reifier keys --by alice`, then add the printed line to allowed_signers.
    """
    from reifier.adapters import keys, sshsig
    from reifier.adapters.settings import load_context
    from reifier.cli.approve import default_approver
    from reifier.core.approval import PERSON_NAMESPACES

    ctx = load_context(workspace)
    mode = keys.mode(ctx.settings)
    allowed = keys.allowed_signers_path(ctx.workspace, ctx.settings)
    info: dict[str, object] = {"mode": mode, "allowed_signers": str(allowed)}
    if mode == "ssh":
        key = keys.signing_key(ctx.settings)
        public = sshsig.public_key(key)
        principal = by or default_approver()
        line = f'{principal} namespaces="{PERSON_NAMESPACES}" {public}'
        listed = allowed.is_file() and public.split()[1] in allowed.read_text(encoding="utf-8")
        info.update(signing_key=str(key), fingerprint=sshsig.fingerprint(key),
                    principal=principal, allowed_signers_line=line, listed=listed)
    if as_json:
        emit_json(info)
        return
    click.echo(f"approval mode:    {mode}")
    click.echo(f"allowed_signers:  {allowed}" + ("" if allowed.is_file() else "  (missing)"))
    if mode == "ssh":
        click.echo(f"signing key:      {info['signing_key']} ({info['fingerprint']})")
        click.echo(f"principal:        {info['principal']}")
        state = "listed" if info["listed"] else "NOT listed: add this line (and commit it)"
        click.echo(f"your key is {state}:\n  {info['allowed_signers_line']}")
    else:
        click.echo("single-user mode: an HMAC key in REIFIER_HOME; approvals do not travel")
