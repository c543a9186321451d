"""Code a reviewer cannot see: fences that run but do not render.

Jupytext turns every ```` ```bash ```` fence of a runbook's Markdown into a code
cell, including a fence inside an HTML comment (``<!-- … -->``). GitHub, a code
review or any Markdown viewer hides that comment, so the reviewer approves code
they never saw. :func:`hidden_code_cells` renders the Markdown the way viewers
do (CommonMark, through markdown-it-py, which Jupytext already depends on) and
names the code cells that no visible fence shows verbatim.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark")


def visible_fences(markdown: str) -> Counter[str]:
    """Return the contents of the fenced code blocks a Markdown viewer shows."""
    return Counter(tok.content.rstrip("\n") for tok in _MD.parse(markdown)
                   if tok.type == "fence")


def hidden_code_cells(markdown: str, sources: Sequence[str]) -> list[int]:
    """Return the 1-based numbers of code cells (``sources``) no visible fence shows."""
    shown = visible_fences(markdown)
    hidden = []
    for number, source in enumerate(sources, 1):
        text = source.rstrip("\n")
        if shown[text] > 0:
            shown[text] -= 1
        else:
            hidden.append(number)
    return hidden
