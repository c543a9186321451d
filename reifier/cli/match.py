"""``reifier match``: which approved runbook fixes this error line?"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from reifier.cli.options import emit_json, json_option, open_store, workspace_option
from reifier.core.match import check_limits
from reifier.errors import EXIT_FAILED, BadInput


def match_dict(line: str, matches: Any, runbooks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return one line's result: the line and its ranked candidates with evidence."""
    return {
        "line": line,
        "candidates": [
            {
                "runbook": m.runbook_id,
                "title": runbooks.get(m.runbook_id, {}).get("title", ""),
                "path": runbooks.get(m.runbook_id, {}).get("path"),
                "score": m.score,
                "pattern": m.pattern,
                "matched_tokens": list(m.matched_tokens),
                "variables": [{"kind": k, "value": v} for k, v in m.variables],
            }
            for m in matches
        ],
    }


@click.command("match")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file_",
    type=click.Path(path_type=Path),
    help="Match every line of FILE ('-' for stdin).",
)
@click.option(
    "--threshold", type=float, default=None, help="Minimum score (default: match_threshold, 0.8)."
)
@click.option("--limit", type=int, default=5, show_default=True, help="Candidates per line.")
@workspace_option
@json_option
def cmd_match(
    text: str | None,
    file_: Path | None,
    threshold: float | None,
    limit: int,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Rank approved runbooks for TEXT (or each line of --file); exit 1 if nothing matched."""
    from reifier.adapters import graph

    if (text is None) == (file_ is None):
        raise BadInput("give either TEXT or --file FILE")
    ctx, store = open_store(workspace)
    try:
        floor = threshold if threshold is not None else ctx.settings.match_threshold
        check_limits(floor, limit)
        graph.sync_runbooks(ctx, store)
        cat = graph.catalog(store)
    finally:
        store.close()
    with contextlib.ExitStack() as stack:
        if file_ is None:
            lines: Iterable[str] = [str(text)]
        elif str(file_) == "-":
            lines = sys.stdin
        else:
            try:
                lines = stack.enter_context(file_.open(encoding="utf-8", errors="replace"))
            except OSError as exc:
                raise BadInput(f"cannot read {file_}: {exc.strerror or exc}") from None
        try:
            # a pipe in (tail -f | reifier match --file -) is answered line by line
            any_match = _report(cat, lines, floor, limit, as_json, one=file_ is None,
                                flush=lines is sys.stdin)
        except BrokenPipeError:  # the reader went away (| head): stop quietly, like grep
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
    if not any_match:
        sys.exit(EXIT_FAILED)


def _report(cat: Any, lines: Iterable[str], floor: float, limit: int, as_json: bool, *,
            one: bool = False, flush: bool = False) -> bool:
    """Match each line and print its candidates; return whether any line matched.

    Lines are read and answered one at a time (a large file is never held in memory),
    and the output goes through stdout's own buffer: block-buffered into a file or a
    pipe, flushed per line when the input is a pipe.
    """
    import gc

    # the index and the memo tables are long-lived: keep the cyclic collector off them
    # (it would walk every cached tuple again and again); matching makes no cycles
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    out = sys.stdout
    fmt = _Formatter(cat.runbooks)
    match = cat.index.match
    any_match = False
    for raw in lines:
        line = raw if one else raw.rstrip("\r\n")
        matches = match(line, threshold=floor, limit=limit)
        any_match = any_match or bool(matches)
        if as_json and one:
            emit_json(match_dict(line, matches, cat.runbooks))
        elif as_json:
            out.write(fmt.json_line(line, matches))
        elif matches:
            out.write(fmt.text(f"matches for: {line}" if one else line, matches))
        elif one:
            out.write("no runbook matches\n")
        if flush:
            out.flush()
    return any_match


class _Formatter:
    """Print matches of many lines: the parts that depend only on the runbook, pattern and
    score are rendered once per candidate, not per line (a log repeats its errors)."""

    def __init__(self, runbooks: dict[str, dict[str, Any]]) -> None:
        import json

        self.runbooks = runbooks
        self.quote = json.encoder.encode_basestring_ascii  # what json.dumps does to a str
        self.dumps = json.JSONEncoder(sort_keys=True).encode
        self.heads: dict[int, tuple[tuple[str, ...], str, str]] = {}
        self.kinds: dict[str, str] = {}  # '{"kind": "IP", "value": ' per variable kind

    def _head(self, m: Any) -> tuple[str, str]:
        # looked up by the identity of the matched-words tuple: the matcher makes one per
        # hit (runbook, pattern, score) and shares it; the entry keeps it alive, so its id
        # is not reused. An empty one is Python's shared () and is never looked up.
        words = m.matched_tokens
        entry = self.heads.get(id(words)) if words else None
        if entry is None or entry[0] is not words:
            if len(self.heads) >= 10_000:
                self.heads.clear()
            rb = self.runbooks.get(m.runbook_id, {})
            whole = match_dict("", [m._replace(variables=())], self.runbooks)["candidates"][0]
            # "variables" sorts last among the keys, so the rest is a fixed prefix
            prefix = self.dumps(whole).removesuffix('"variables": []}')
            text = (f"  {m.score:.2f}  {m.runbook_id}  ({rb.get('path')})\n"
                    f"        pattern: {m.pattern}")
            entry = self.heads[id(words)] = (words, prefix, text)
        return entry[1], entry[2]

    def json_line(self, line: str, matches: Any) -> str:
        """Return the line's result as json.dumps(match_dict(...), sort_keys=True) would."""
        q = self.quote
        kinds = self.kinds
        done: dict[tuple[tuple[str, str], ...], str] = {}  # candidates often share them
        cands = []
        for m in matches:
            tail = done.get(m.variables)
            if tail is None:
                items = []
                for k, v in m.variables:
                    head = kinds.get(k)
                    if head is None:
                        head = kinds[k] = f'{{"kind": {q(k)}, "value": '
                    items.append(head + q(v) + "}")
                tail = done[m.variables] = '"variables": [' + ", ".join(items) + "]}"
            cands.append(self._head(m)[0] + tail)
        return f'{{"candidates": [{", ".join(cands)}], "line": {q(line)}}}\n'

    def text(self, title: str, matches: Any) -> str:
        """Return the line and, per candidate, its score, runbook, pattern and variables."""
        parts = [title]
        done: dict[tuple[tuple[str, str], ...], str] = {}
        for m in matches:
            tail = done.get(m.variables)
            if tail is None:
                shown = ", ".join([f"{k}={v}" for k, v in m.variables])
                tail = done[m.variables] = f"  variables: {shown}" if shown else ""
            parts.append(self._head(m)[1] + tail)
        return "\n".join(parts) + "\n"
