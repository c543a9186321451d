"""Turn a session into a :class:`RunbookDraft` a tired engineer would approve.

Layout: title and provenance, Symptom, Diagnosis (where the responder looked,
as a list: diagnostics never run as part of the runbook), Parameters (the
papermill ``parameters`` cell), Fix (one cell per fix/edit command, in order),
Verify, Related files, Origin. Pure: the adapters supply file diffs, log
symptoms, related files and earlier drafts.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reifier.core.classify import edit_targets, is_interactive_edit, simple_commands
from reifier.core.constraints import propose as propose_constraint
from reifier.core.lift import lift
from reifier.core.models import CommandEvent, DraftCell, RunbookDraft, Session
from reifier.core.params import render_parameters_cell
from reifier.core.redact import (
    PLACEHOLDER_RE,
    param_name,
    render_secret_parameters,
    secret_parameters,
)
from reifier.core.tidy import Tidied, tidy

NO_COMMANDS = "I saw no shell commands. Did you fix this via a GUI?"
UNKNOWN_SYMPTOM = "Symptom: unknown — describe what you saw"
PATCH_MARK = "REIFIER_PATCH"


@dataclass(frozen=True)
class EditInfo:
    """What an edit command changed: the file and a unified diff (may be empty)."""

    path: str
    diff: str


@dataclass(frozen=True)
class DraftInputs:
    """Everything besides the session that shapes a draft."""

    symptoms: tuple[str, ...] = ()
    alerts: tuple[Mapping[str, str], ...] = ()
    edits: Mapping[int, EditInfo] = field(default_factory=dict)  # key: CommandEvent.seq
    related: tuple[tuple[str, str], ...] = ()  # (term, "path:line")
    previous: tuple[str, ...] = ()  # ids of earlier runbooks for the same symptom
    notes: tuple[str, ...] = ()


def iso(ts: float | None) -> str | None:
    """Format a Unix time as UTC ISO 8601 with microseconds."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def slugify(text: str, limit: int = 40) -> str:
    """Make a file-name-safe slug from a title."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[: limit + 1].rfind("-")  # whole words only
        slug = slug[: cut if cut > 0 else limit]
    return slug.strip("-") or "runbook"


_MASK = re.compile(r"<[A-Z*][A-Z_*]*>")
_MASKED_GROUP = re.compile(r"[\[(][^\])]*<[A-Z*][A-Z_*]*>[^\])]*[\])]")


def _cut_words(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" :;,.-")
    return (cut or text[: limit - 1]) + "…"


def runbook_id(title: str, session_id: str) -> str:
    """Make a runbook id unique by construction: the title's slug + a stable suffix.

    Two sessions with the same symptom get two ids (one per session), and the
    same session drafted again gets the same one, so ids never collide by chance.
    """
    return f"{slugify(title)}-{hashlib.sha256(session_id.encode()).hexdigest()[:6]}"


def title_for(session: Session, symptoms: Sequence[str], params: Mapping[str, str]) -> str:
    """Pick a title: the symptom, else the service recovered, else the host and date."""
    if symptoms:
        from reifier.core.patterns import masked_text

        # the template, not the instance, and no masks: "held by pid", not one pid
        # nor "<NUM>"; a bracketed part that held a variable ("[Errno <NUM>]") goes too
        text = masked_text(symptoms[0]) or symptoms[0]
        text = _MASKED_GROUP.sub(" ", text)
        text = _MASK.sub(" ", text)
        words = re.sub(r"\s+", " ", text).strip(" :;,.-=([{")
        return "Fix: " + _cut_words(words or symptoms[0].strip(), 60)
    if "SERVICE" in params:
        return f"Recover {params['SERVICE']}"
    when = time.strftime("%Y-%m-%d", time.gmtime(session.started)) if session.started else ""
    return f"Session on {session.host or 'unknown host'} {when}".strip()


def _origin(c: CommandEvent) -> dict[str, object]:
    return {
        "role": c.role,
        "started": iso(c.started),
        "exit_code": c.exit_code,
        "cwd": c.cwd,
        "duration": None if c.duration is None else round(c.duration, 6),
        **({"redactions": list(c.redactions)} if c.redactions else {}),
    }


FILE_PROGRAMS = frozenset(
    {
        "rm",
        "mv",
        "cp",
        "cat",
        "tail",
        "head",
        "less",
        "more",
        "vim",
        "vi",
        "nano",
        "chmod",
        "chown",
        "ln",
        "tar",
        "patch",
        "sed",
        "tee",
        "touch",
        "mkdir",
        "rmdir",
        "source",
        ".",
        "bash",
        "sh",
        "python",
        "python3",
        "make",
        "truncate",
        "gzip",
        "gunzip",
        "unlink",
        "find",
        "du",
        "ls",
        "stat",
        "grep",
        "diff",
        "install",
        "rsync",
        "docker-compose",
    }
)


def _needs_cwd(c: CommandEvent) -> bool:
    """Tell whether a command depends on its directory (a relative path it names)."""
    for argv in simple_commands(c.command):
        if not argv:
            continue
        if argv[0].startswith(("./", "../")):
            return True
        args = argv[1:]
        if argv[0] not in FILE_PROGRAMS:
            if any(a.startswith(("./", "../")) for a in args):
                return True
        elif any(not a.startswith(("-", "/", "$", "~")) and "=" not in a for a in args):
            return True
    return False


def _patch_cell(info: EditInfo) -> str:
    target = shlex.quote(info.path)
    return (
        f"# Apply the change made to {info.path} (idempotent: skipped if already applied)\n"
        f"if patch --dry-run --reverse --force --silent {target} >/dev/null 2>&1 <<'{PATCH_MARK}'\n"
        f"{info.diff.rstrip()}\n{PATCH_MARK}\n"
        f"then\n  echo 'already applied: {info.path}'\nelse\n"
        f"  patch --forward {target} <<'{PATCH_MARK}'\n{info.diff.rstrip()}\n{PATCH_MARK}\nfi"
    )


_SET_LINE = r"""reifier_set_line() {  # FILE PREFIX VALUE SUFFIX: the line starting with PREFIX
    local line out='' found=''
    [[ -n $3 ]] || { echo "reifier_set_line: no value for $2 (set it in the environment)" >&2
                     return 1; }
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ -z $found && $line == "$2"* ]]; then line=$2$3$4; found=1; fi
        out+=$line$'\n'
    done <"$1" || return 1
    [[ -n $found ]] || { echo "reifier_set_line: no line starting with '$2' in $1" >&2; return 1; }
    printf '%s' "$out" >"$1"
}"""


def _secret_edit_cell(info: EditInfo) -> str:
    """An edit whose diff holds redacted secrets: set each secret line from the environment.

    A patch cannot carry a secret it never saw (nor match an old value on another
    box), so each changed secret line becomes ``KEY=<REDACTED:…>`` (a parameter read
    from the environment, see :func:`secret_parameters`) and a call that rewrites the
    line with that key. Other changed lines of the same diff fail the cell until a
    human writes them in.
    """
    target = shlex.quote(info.path)
    lines = [f"# Set the secret lines changed in {info.path} (values come from the",
             "# environment, never stored; the redacted diff is shown below this cell)",
             _SET_LINE]
    others = []
    here: set[str] = set()
    for line in info.diff.splitlines():
        if line.startswith(("+++", "---")) or not line.startswith(("+", "-")):
            continue
        m = PLACEHOLDER_RE.search(line)
        if m is None:
            others.append(line)
            continue
        if line.startswith("-"):
            if not any(o.startswith("+" + line[1 : m.start()]) for o in info.diff.splitlines()):
                others.append(line)  # a secret line removed: not replayed blindly
            continue
        prefix, suffix = line[1 : m.start()], line[m.end() :]
        key = re.sub(r"[^A-Za-z0-9]+", "_", prefix).strip("_").upper() or "SECRET"
        base = name = param_name(f"{key}=" + m.group(), len(key) + 1, "env-secret")
        n = 2
        while name in here:
            name, n = f"{base}_{n}", n + 1
        here.add(name)
        # NAME=<REDACTED:…> becomes NAME="$NAME", declared in the parameters cell
        lines += [f"{name}={m.group()}", f"reifier_set_line {target} {shlex.quote(prefix)} "
                  f"\"${name}\" {shlex.quote(suffix)}"]
    if others:
        lines += ["# The edit also changed lines without secrets: write them in, then delete this:",
                  *(f"#   {o}" for o in others), f"echo 'edit of {info.path} not captured: "
                  "replace this cell' >&2", "false"]
    return "\n".join(lines)


def _step_source(c: CommandEvent, edits: Mapping[int, EditInfo], prev_cwd: str | None) -> str:
    info = edits.get(c.seq)
    if c.role == "edit" and info and PLACEHOLDER_RE.search(info.diff):
        return _secret_edit_cell(info)
    if c.role == "edit" and info and info.diff.strip():
        return _patch_cell(info)
    if c.role == "edit" and is_interactive_edit(c.command):
        target = ", ".join(edit_targets(c.command)) or "a file"
        return (
            f"# Reifier saw an interactive edit of {target} ({c.command!r}) but holds no\n"
            "# snapshot of it. Replace this cell with the change (sed -i, a patch...)\n"
            "# before approving: it fails on purpose until then.\n"
            f"echo 'edit of {target} not captured: replace this cell' >&2\nfalse"
        )
    src = c.command
    if c.cwd and c.cwd != prev_cwd and _needs_cwd(c):
        src = f"cd {shlex.quote(c.cwd)}\n{src}"
    return src


def build_draft(session: Session, inputs: DraftInputs | None = None) -> RunbookDraft:
    """Build the draft for one session whose commands already carry their roles."""
    inputs = inputs or DraftInputs()
    tidied = tidy(session.commands)
    first_fix = next(
        (i for i, c in enumerate(tidied.kept) if c.role in {"fix", "edit"}), len(tidied.kept)
    )
    # a check before anything was changed is how the responder saw the symptom
    steps = [
        c
        for i, c in enumerate(tidied.kept)
        if c.role in {"fix", "edit"} or (c.role == "verify" and i > first_fix)
    ]
    diags = [
        c
        for i, c in enumerate(tidied.kept)
        if c.role == "diagnostic" or (c.role == "verify" and i < first_fix)
    ]
    prev_cwd: str | None = None
    sources = []
    for c in steps:
        sources.append(_step_source(c, inputs.edits, prev_cwd))
        prev_cwd = c.cwd or prev_cwd
    sources, secrets = secret_parameters(sources)  # <REDACTED:…> → "$NAME" read from the env
    lifted = lift(sources, reserved=tuple(secrets))
    params = dict(lifted.params)
    title = title_for(session, inputs.symptoms, params)
    draft_id = runbook_id(title, session.id)
    cells: list[DraftCell] = [_md(_header(title, session, inputs, tidied))]
    cells.append(_md(_symptom_md(inputs)))
    cells.append(_md(_diagnosis_md(diags)))
    if not steps:
        cells.append(
            _md(
                f"## Fix\n\n**{NO_COMMANDS}**\n\nPlease write down the steps you took "
                "(console, dashboard, a colleague's shell?) so the next responder can "
                "follow them, and add them as `bash` cells."
            )
        )
    else:
        cells.append(
            _md(
                "## Parameters\n\nValues a future run may change (papermill "
                "`-p NAME VALUE`, or `reifier run -p NAME VALUE`)."
            )
        )
        cell = render_parameters_cell(params) + render_secret_parameters(secrets)
        cells.append(DraftCell("code", cell, tags=("parameters",)))
        # checks run between fixes (``nginx -t`` before a reload) gate the next step and
        # stay in the fix sequence; checks after the last fix verify the outcome
        pairs = list(zip(steps, lifted.sources, strict=True))
        last_fix = max((i for i, (c, _) in enumerate(pairs) if c.role != "verify"), default=-1)
        fixes, checks = pairs[: last_fix + 1], pairs[last_fix + 1 :]
        cells.append(
            _md(
                "## Fix\n\nIn the order they ran. Add a `precondition`-tagged cell "
                'above to guard the fix (e.g. "only if CPU > 90%").'
            )
        )
        for c, src in fixes:
            cells.append(DraftCell("code", src, tags=(c.role,), meta=_origin(c)))
            info = inputs.edits.get(c.seq)
            if c.role == "edit" and info and info.diff.strip():
                cells.append(_md(f"Change to `{info.path}`:\n\n" + _indent(info.diff)))
        cells.append(
            _md(
                "## Verify"
                + ("" if checks else "\n\nNo verification was run: add one (a health check).")
            )
        )
        for c, src in checks:
            cells.append(DraftCell("code", src, tags=("verify",), meta=_origin(c)))
    cells.append(_md(_related_md(inputs)))
    cells.append(_md(_origin_md(session, tidied)))
    meta: dict[str, object] = {
        "id": draft_id,
        "title": title,
        "status": "draft",
        "symptoms": list(inputs.symptoms),
        "alerts": [dict(a) for a in inputs.alerts],
        "autonomy": "suggest",
        "session": {
            "id": session.id,
            "host": session.host,
            "user": session.user,
            "started": iso(session.started),
            "ended": iso(session.ended),
        },
    }
    if inputs.previous:
        meta["related_runbooks"] = list(inputs.previous)
    # Proposed constraints from the values the session used: the reviewer tightens them,
    # approval signs them, every run's values must satisfy them.
    proposed = {name: spec for name, value in params.items()
                if (spec := propose_constraint(name, value)) is not None}
    if proposed:
        meta["parameters"] = proposed
    return RunbookDraft(id=draft_id, title=title, cells=tuple(cells), meta=meta)


def _md(text: str) -> DraftCell:
    return DraftCell("markdown", text.strip())


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def _code_item(cmd: str) -> str:
    if "\n" in cmd or "`" in cmd:
        return "-\n\n" + _indent(cmd) + "\n"
    return f"- `{cmd}`"


_DRAFT_NOTE = re.compile(r"\*Draft written by Reifier (from session [^*\n]*?)\. Review every cell, "
                         r"then `reifier approve` it: drafts never run\.\*")


def approved_note(markdown: str, by: str, at: str) -> str:
    """Rewrite the draft's "drafts never run" note once approved (prose is not signed)."""
    return _DRAFT_NOTE.sub(lambda m: f"*Written by Reifier {m.group(1)}; approved by "
                           f"`{by}` at {at}.*", markdown)


def _header(title: str, session: Session, inputs: DraftInputs, tidied: Tidied) -> str:
    lines = [
        f"# {title}",
        "",
        f"*Draft written by Reifier from session `{session.id}` on "
        f"`{session.host or '?'}` by `{session.user or '?'}`. Review every cell, then "
        "`reifier approve` it: drafts never run.*",
    ]
    if inputs.previous:
        lines += [
            "",
            "Earlier runbooks for the same symptom: "
            + ", ".join(f"`{p}`" for p in inputs.previous),
        ]
    lines += [f"\n> {n}" for n in inputs.notes]
    return "\n".join(lines)


def _symptom_md(inputs: DraftInputs) -> str:
    if not inputs.symptoms and not inputs.alerts:
        return f"## Symptom\n\n**{UNKNOWN_SYMPTOM}**"
    body = ["## Symptom", ""]
    body += [
        f"- Alert `{a.get('alertname', '?')}`"
        + "".join(f", {k}=`{v}`" for k, v in a.items() if k != "alertname")
        for a in inputs.alerts
    ]
    body += [_code_item(s) for s in inputs.symptoms]
    return "\n".join(body)


def _diagnosis_md(diags: Sequence[CommandEvent]) -> str:
    if not diags:
        return "## Diagnosis\n\nNo diagnostic commands were recorded."
    items = "\n".join(_code_item(c.command) for c in diags)
    return (
        "## Diagnosis\n\nWhere the responder looked (not run by the runbook; copy what "
        f"helps):\n\n{items}"
    )


RELATED_HEADING = "## Related files"


def _related_md(inputs: DraftInputs) -> str:
    if not inputs.related:
        return f"{RELATED_HEADING}\n\nNone found in the configured context directories."
    items = "\n".join(f"- `{term}`: `{where}`" for term, where in inputs.related)
    return f"{RELATED_HEADING}\n\n{items}"


def with_related(draft: RunbookDraft, related: Sequence[tuple[str, str]]) -> RunbookDraft:
    """Fill the Related files section of a built draft.

    Related files are searched for with the draft's own parameters, so they are
    only known once the draft exists; this swaps one cell instead of rebuilding.
    """
    cell = _md(_related_md(DraftInputs(related=tuple(related))))
    cells = tuple(cell if c.source.startswith(RELATED_HEADING) else c for c in draft.cells)
    return replace(draft, cells=cells)


def _origin_md(session: Session, tidied: Tidied) -> str:
    dropped = ", ".join(f"{n} {why}" for why, n in sorted(tidied.dropped.items())) or "none"
    return (
        "## Origin\n\n"
        f"- Host: `{session.host or '?'}`, user: `{session.user or '?'}`\n"
        f"- Session: `{session.id}`, {iso(session.started) or 'time unknown'} → "
        f"{iso(session.ended) or '?'}\n"
        f"- Commands: {len(session.commands)} recorded, {len(tidied.kept)} kept; "
        f"dropped: {dropped}"
    )
