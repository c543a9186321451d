"""Error-pattern templates: strip log prefixes, mask variables, build templates.

A runbook's symptom is one example log line. Two data tables turn it into a
template that other instances of the same error share:

* :data:`PREFIXES` - log headers (syslog, ISO timestamps, bracketed levels,
  log4j/klog/HDFS/PostgreSQL/nginx headers, kubectl event columns) that are
  stripped before anything else, because they differ on every line.
* :data:`MASKS` - variables (timestamps, ids, IPs, paths, hosts, pod names,
  numbers, quoted strings, user names...) replaced by typed slots like
  ``<NUM>``. Order matters: at one position the first rule that matches wins.

The template builder (drain3's ``LogMasker`` running the tables as one masking
instruction, then drain3's ``Drain`` clustering) and the per-line :func:`mask`
share the same compiled tables, so a template and a line always tokenize alike.
Tokens are lower-cased words (letters and digits); punctuation only separates them.

The masking itself is :mod:`reifier.core.masking`; :mod:`reifier.core.shapes`
memoizes it per line layout, which makes :func:`mask` cheap on a log's next line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from drain3.drain import Drain
from drain3.masking import AbstractMaskingInstruction, LogMasker

from reifier.core.logmasks import MASKS, PREFIXES, SPANS, MaskRule, PrefixRule, SpanRule
from reifier.core.masking import (
    SENTINEL_CLOSE,
    SENTINEL_OPEN,
    LineShape,
    clear_chunks,
    sentinel_text,
    strip_prefix,
)
from reifier.core.shapes import clear_shapes, line_shape
from reifier.errors import BadInput

__all__ = [
    "MASKS",
    "PREFIXES",
    "SPANS",
    "LineShape",
    "MaskRule",
    "MaskedLine",
    "PrefixRule",
    "SpanRule",
    "Template",
    "line_shape",
    "strip_prefix",
]

_TEMPLATE_TOKEN_RE = re.compile(f"{SENTINEL_OPEN}([A-Z*]+){SENTINEL_CLOSE}|[^\\W_]+")


@dataclass(frozen=True)
class MaskedLine:
    """A line as tokens (lower-cased words, ``<KIND>`` slots) and its variables in order."""

    tokens: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Template:
    """An error pattern: typed-slot text, its tokens, and the example it came from."""

    pattern_id: str
    text: str
    tokens: tuple[str, ...]
    example: str

    @property
    def constants(self) -> tuple[str, ...]:
        """Return the constant (non-slot) tokens in order."""
        return tuple(t for t in self.tokens if not is_slot(t))


def is_slot(token: str) -> bool:
    """Tell whether a token is a variable slot such as ``<NUM>``."""
    return token[:1] == "<"


def clear_caches() -> None:
    """Forget memoized chunks and line shapes (they are rebuilt on demand)."""
    clear_chunks()
    clear_shapes()


def mask(line: str) -> MaskedLine:
    """Strip prefixes, mask variables and tokenize one log line."""
    shape = line_shape(line)
    return MaskedLine(shape.tokens, shape.values(line))


def masked_text(line: str) -> str:
    """Return the line as :func:`mask` sees it, with ``<KIND>`` in place of variables."""
    return sentinel_text(line).replace(SENTINEL_OPEN, "<").replace(SENTINEL_CLOSE, ">")


class _TableMasking(AbstractMaskingInstruction):  # type: ignore[misc]
    """drain3 masking instruction applying :data:`SPANS` and :data:`MASKS` as :func:`mask` does."""

    def __init__(self) -> None:
        super().__init__("table")

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        text = sentinel_text(content)
        return text.replace(SENTINEL_OPEN, mask_prefix).replace(SENTINEL_CLOSE, mask_suffix)


def _template(drain_text: str, example: str) -> Template:
    tokens: list[str] = []
    for m in _TEMPLATE_TOKEN_RE.finditer(drain_text):
        tokens.append(f"<{m.group(1)}>" if m.group(1) else m.group().lower())
    text = drain_text.replace(SENTINEL_OPEN, "<").replace(SENTINEL_CLOSE, ">")
    digest = hashlib.blake2b(" ".join(tokens).encode(), digest_size=6).hexdigest()
    return Template(f"p{digest}", text, tuple(tokens), example)


def learn_templates(examples: Iterable[str], *, similarity: float = 0.7) -> tuple[Template, ...]:
    """Cluster example lines with drain3 into templates, one per cluster, in first-seen order.

    Examples of the same length and leading words that share at least ``similarity``
    of their tokens merge into one template with ``<*>`` where they differ.
    """
    # drain3's LogMasker + Drain directly: TemplateMiner would add logging, a config
    # file lookup and persistence, none of which a pure function wants
    masker = LogMasker([_TableMasking()], SENTINEL_OPEN, SENTINEL_CLOSE)
    drain = Drain(
        sim_th=similarity,
        param_str=f"{SENTINEL_OPEN}*{SENTINEL_CLOSE}",
        parametrize_numeric_tokens=False,
    )  # numbers are masked by the tables already
    first: dict[int, str] = {}
    for example in examples:
        masked = masker.mask(example)
        if not masked.strip():
            raise BadInput(f"empty error pattern: {example!r}")
        cluster, _ = drain.add_log_message(masked)
        first.setdefault(cluster.cluster_id, example)
    clusters = {c.cluster_id: c.get_template() for c in drain.clusters}
    return tuple(_template(clusters[cid], ex) for cid, ex in first.items())


def make_template(example: str) -> Template:
    """Turn one example log line (a runbook symptom) into its template."""
    (template,) = learn_templates([example])
    return template


# A stored template is reused only under the same rule tables and the same way of
# building templates (bump _TEMPLATE_FORMAT when :func:`_template` changes).
_TEMPLATE_FORMAT = 1
TABLES_VERSION = hashlib.blake2b(
    repr((_TEMPLATE_FORMAT, PREFIXES, SPANS, MASKS)).encode(), digest_size=8
).hexdigest()


def template_props(template: Template) -> dict[str, object]:
    """Return a template as JSON-ready data for the store (see :func:`stored_template`)."""
    return {"v": TABLES_VERSION, "id": template.pattern_id, "text": template.text,
            "tokens": list(template.tokens)}


def stored_template(example: str, props: object) -> Template:
    """Return the template stored for ``example``, or build it if the tables changed since."""
    if isinstance(props, dict) and props.get("v") == TABLES_VERSION:
        return Template(str(props["id"]), str(props["text"]),
                        tuple(str(t) for t in props["tokens"]), example)
    return make_template(example)
