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

Speed (the per-line path): :data:`PREFIXES` are dispatched on the line's first
character; :data:`SPANS` run only when their trigger text occurs; :data:`MASKS`
run per whitespace-separated chunk, memoized; and whole-line results are memoized
under the line with its digits zeroed, since every rule treats digits alike.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from drain3.drain import Drain
from drain3.masking import AbstractMaskingInstruction, LogMasker

from reifier.core.logmasks import MASKS, PREFIXES, SPANS, MaskRule, PrefixRule, SpanRule
from reifier.errors import BadInput

__all__ = [
    "MASKS",
    "PREFIXES",
    "SPANS",
    "MaskRule",
    "MaskedLine",
    "PrefixRule",
    "SpanRule",
    "Template",
]

_K = TypeVar("_K")
_V = TypeVar("_V")
_SENTINEL_OPEN, _SENTINEL_CLOSE = "\ue000", "\ue001"  # never in real logs, unlike "<" and ">"
# no variable starts right after a letter or digit: testing that once per position
# first skips most positions without trying every rule
_MASK_RE = re.compile(
    "(?<![A-Za-z0-9])(?:" + "|".join(f"(?P<m{i}>{r.regex})" for i, r in enumerate(MASKS)) + ")"
)
_KIND = {f"m{i}": r.kind for i, r in enumerate(MASKS)}
_SPAN_RES = tuple((r.trigger, r.kind, re.compile(r.regex)) for r in SPANS)
_WORD_RE = re.compile(r"[^\W_]+")
_TEMPLATE_TOKEN_RE = re.compile(f"{_SENTINEL_OPEN}([A-Z*]+){_SENTINEL_CLOSE}|[^\\W_]+")
_NUM_TEXT = f"{_SENTINEL_OPEN}NUM{_SENTINEL_CLOSE}"
_BLOB_TEXT = f"{_SENTINEL_OPEN}BLOB{_SENTINEL_CLOSE}"
_MAX_PREFIXES = 8
_MAX_CHUNK = 256  # longer whitespace-free runs are one BLOB variable
_CHUNK_CACHE_LIMIT = 65_536
_SHAPE_CACHE_LIMIT = 16_384
_SHAPE_VARIANTS_LIMIT = 64


def _prefix_dispatch() -> dict[str, re.Pattern[str]]:
    """Map each ASCII first character to one regex of the prefix rules it can start."""
    by_rules: dict[tuple[int, ...], re.Pattern[str]] = {}
    table: dict[str, re.Pattern[str]] = {}
    for char in map(chr, range(33, 127)):
        picked = tuple(i for i, p in enumerate(PREFIXES) if re.fullmatch(p.first, char))
        if picked:
            if picked not in by_rules:
                by_rules[picked] = re.compile("|".join(f"(?:{PREFIXES[i].regex})" for i in picked))
            table[char] = by_rules[picked]
    return table


_PREFIX_BY_CHAR = _prefix_dispatch()


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


def strip_prefix(line: str) -> str:
    """Strip the log headers of :data:`PREFIXES` (repeatedly) and surrounding space."""
    body = line.strip()
    for _ in range(_MAX_PREFIXES):
        rx = _PREFIX_BY_CHAR.get(body[:1])
        m = rx.match(body) if rx is not None else None
        if m is None or m.end() == 0:
            break
        body = body[m.end() :]
    return body


_Span = tuple[str, int, int]  # (kind, start, end) of a variable


@dataclass(frozen=True)
class _Chunk:
    """A whitespace-free chunk, masked: offsets are relative to the chunk."""

    tokens: tuple[str, ...]
    variables: tuple[_Span, ...]
    digit_words: tuple[tuple[int, int], ...]  # constant words with digits ("ssh2")
    text: str  # with sentinel-wrapped kinds, for drain3


class _Memo(Generic[_K, _V]):
    """A bounded memo in two generations: when the new one fills up it becomes the old
    one, and entries used since survive, so a flood of one-off lines evicts only itself."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.new: dict[_K, _V] = {}
        self.old: dict[_K, _V] = {}

    def get(self, key: _K) -> _V | None:
        found = self.new.get(key)
        if found is None:
            found = self.old.get(key)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: _K, value: _V) -> None:
        if len(self.new) >= self.limit:
            self.old, self.new = self.new, {}
        self.new[key] = value

    def clear(self) -> None:
        self.new, self.old = {}, {}


_CHUNKS: _Memo[str, _Chunk] = _Memo(_CHUNK_CACHE_LIMIT)


def _chunk(chunk: str) -> _Chunk:
    """Mask one chunk through :data:`MASKS`, memoized: words repeat across lines."""
    found = _CHUNKS.get(chunk)
    if found is None:
        found = _mask_chunk(chunk)
        _CHUNKS.put(chunk, found)
    return found


def _mask_chunk(chunk: str) -> _Chunk:
    if chunk.isascii() and chunk.isdigit():  # the commonest variable, as the NUM rule masks it
        return _Chunk(("<NUM>",), (("NUM", 0, len(chunk)),), (), _NUM_TEXT)
    if len(chunk) > _MAX_CHUNK:  # a blob (base64, minified JSON), and costly to scan
        return _Chunk(("<BLOB>",), (("BLOB", 0, len(chunk)),), (), _BLOB_TEXT)
    tokens: list[str] = []
    variables: list[_Span] = []
    digit_words: list[tuple[int, int]] = []
    text: list[str] = []
    pos = 0
    for m in _MASK_RE.finditer(chunk):
        if m.end() == m.start():
            continue
        kind = _KIND[m.lastgroup or ""]
        if kind == "*":  # a literal placeholder written by a runbook author
            kind = m.group()[1:-1]
        _gap_words(chunk, pos, m.start(), tokens, digit_words)
        tokens.append(f"<{kind}>")
        variables.append((kind, m.start(), m.end()))
        text += (chunk[pos : m.start()], _SENTINEL_OPEN, kind, _SENTINEL_CLOSE)
        pos = m.end()
    _gap_words(chunk, pos, len(chunk), tokens, digit_words)
    text.append(chunk[pos:])
    return _Chunk(tuple(tokens), tuple(variables), tuple(digit_words), "".join(text))


def _gap_words(
    text: str, start: int, end: int, tokens: list[str], digits: list[tuple[int, int]]
) -> None:
    for w in _WORD_RE.finditer(text, start, end):
        word = w.group()
        tokens.append(word.lower())
        if not word.isalpha():
            digits.append((w.start(), w.end()))


def _spans(body: str) -> list[tuple[int, int, str]]:
    """Find the non-overlapping :data:`SPANS` matches: leftmost first, then table order."""
    found: list[tuple[int, int, int, str]] = []
    for order, (trigger, kind, rx) in enumerate(_SPAN_RES):
        if trigger in body:
            found += ((m.start(1), order, m.end(1), kind) for m in rx.finditer(body))
    found.sort()
    picked: list[tuple[int, int, str]] = []
    end = 0
    for start, _, stop, kind in found:
        if start >= end and stop > start:
            picked.append((start, stop, kind))
            end = stop
    return picked


@dataclass(frozen=True)
class LineShape:
    """How a line masks: tokens, variable offsets, and offsets whose text must match too."""

    tokens: tuple[str, ...]
    variables: tuple[_Span, ...]
    checks: tuple[tuple[int, int], ...]  # kept spans and digit-bearing words
    start: int  # where the message starts once prefixes are stripped

    def values(self, line: str) -> tuple[tuple[str, str], ...]:
        """Return ``(kind, text)`` of each variable, read from ``line`` (this shape's line)."""
        return tuple([(k, line[s:e]) for k, s, e in self.variables])


def _analyse(line: str) -> LineShape:
    """Mask a line from scratch, keeping offsets into ``line``."""
    body = strip_prefix(line)
    base = len(line.rstrip()) - len(body)
    tokens: list[str] = []
    variables: list[_Span] = []
    checks: list[tuple[int, int]] = []

    def chunks(start: int, end: int) -> None:
        at = start
        for text in body[start:end].split():  # str.split and find: cheaper than a regex
            at = body.find(text, at)
            piece = _CHUNKS.new.get(text) or _chunk(text)
            tokens.extend(piece.tokens)
            if piece.variables or piece.digit_words:
                offset = base + at
                for kind, s, e in piece.variables:
                    variables.append((kind, offset + s, offset + e))
                for s, e in piece.digit_words:
                    checks.append((offset + s, offset + e))
            at += len(text)

    pos = 0
    for start, stop, span_kind in _spans(body):
        chunks(pos, start)
        kind = span_kind
        if kind == "VALUE":  # a key's value: name it by MASKS when one rule covers it whole
            inner = _chunk(body[start:stop])
            if len(inner.variables) == 1 and inner.variables[0][1:] == (0, stop - start):
                kind = inner.variables[0][0]
        if kind:
            tokens.append(f"<{kind}>")
            variables.append((kind, base + start, base + stop))
        else:
            tokens.extend(w.lower() for w in _WORD_RE.findall(body, start, stop))
            checks.append((base + start, base + stop))
        pos = stop
    chunks(pos, len(body))
    return LineShape(tuple(tokens), tuple(variables), tuple(checks), base)


# The shape memo. Every rule treats digits alike, so lines that differ only in digit
# values mask alike: they share a key, the line with its digits zeroed. Hex ids,
# hashes and UUIDs change letters too, on every line, so the key folds lowercase hex
# letters with the digits (0-9a-f -> 0). Other words with those letters ("failed")
# are not variables, so the lines of one key split into families, one per layout:
#
# * a family's *free spans* are the lowercase hex runs, UUIDs and 0x numbers that lie
#   inside its variables (a HEX, a PATH, an ID...): the only places where its lines
#   may differ in hex letters (elsewhere their digit-zeroed texts are equal). The
#   rules read such a run only through its character classes, except: a bare run
#   needs a digit and a letter other than "d" (a run of digits and "d" is a
#   duration, "3d", or a kubectl age); "0x" keeps its "0"; where a rule starts with
#   a letter or a digit the first character keeps its class - at the start of the
#   message (prefix rules dispatch on it), after "." (a host name's last label) or
#   ":" (task NAME:PID), and before a URL's "://", a "/" (name/name), a "["
#   (name[pid]) or ":" and a digit ([name:pid]); and a run that a number, a date
#   or a time could grow into (after "1." or "1,", "2024-01-", "10:00+") is never
#   free: a UUID's groups may be all digits. tests/unit/test_shape_memo.py checks
#   all this against a fresh analysis of many mutated lines;
# * ``checks`` are the kept spans and constant words with digits ("ssh2", a status
#   code "502"), whose exact text tells apart lines of one family.
_FOLD_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_FOLD_HEX = bytes.maketrans(b"123456789abcdef", b"0" * 15)
_HEXISH = re.compile(
    r"(?<![A-Za-z0-9])(0x[0-9a-f]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{6,})"
    r"(?![A-Za-z0-9])"
)
_FIRST_MATTERS = re.compile(r"[\w+.-]*(?:://|/|\[|:\d)")  # what may follow a run
_GROWS_INTO = re.compile(r"(?:\d[.,]|\d{4}[-/]\d\d[-/]|\d:\d\d[+-])$")  # what may precede
_NOT_FREE = "0123456789d"  # a run made only of these may mean a duration
_RUN, _HEX0X, _UUID = 0, 1, 2
_FAMILIES_LIMIT = 16
_Free = tuple[int, int, int, bool | None]  # start, end, form, first is a digit (None: any)


def _looks_free(text: str, form: int) -> bool:
    """Tell whether a run in a free span still reads as what the family saw there."""
    if form == _RUN:
        return not text.isalpha() and bool(text.strip(_NOT_FREE))
    if form == _UUID:
        return bool(text.strip("0123456789-")) and bool(text.strip("abcdef-"))
    return text[0] == "0"


def _free_spans(line: str, shape: LineShape) -> tuple[_Free, ...]:
    bounds = [(s, e) for _, s, e in shape.variables]
    free: list[_Free] = []
    at = 0
    for m in _HEXISH.finditer(line, shape.start):
        s, e = m.span()
        while at < len(bounds) and bounds[at][1] < e:
            at += 1
        if at == len(bounds) or bounds[at][0] > s:
            continue  # not inside a variable: its letters are words
        text = m.group()
        form = _HEX0X if text[:2] == "0x" else _UUID if len(text) == 36 and text[8] == "-" else _RUN
        if not _looks_free(text, form):
            continue
        if _GROWS_INTO.search(line, max(0, s - 24), s):
            continue
        before = line[s - 1] if s else ""
        matters = s == shape.start or before in ".:" or _FIRST_MATTERS.match(line, e)
        free.append((s, e, form, text[0].isdigit() if matters else None))
    return tuple(free)


class _Family:
    """Lines of one key whose texts agree outside ``free``: they share one shape layout."""

    __slots__ = ("checks", "free", "kept", "shapes", "zeroed")

    def __init__(self, zeroed: bytes, shape: LineShape, free: tuple[_Free, ...]) -> None:
        self.zeroed = zeroed
        self.free = free
        kept, pos = [], 0  # the stretches between free spans, which must be equal
        for s, e, _, _ in free:
            kept.append((pos, s))
            pos = e
        kept.append((pos, len(zeroed)))
        self.kept = tuple(kept)
        self.checks = shape.checks
        self.shapes: dict[tuple[str, ...], LineShape] = {}

    def admits(self, line: str, zeroed: bytes) -> bool:
        if not self.free:
            return zeroed == self.zeroed
        mine = self.zeroed
        for s, e in self.kept:
            if zeroed[s:e] != mine[s:e]:
                return False
        for s, e, form, first in self.free:
            text = line[s:e]
            if not _looks_free(text, form) or (first is not None and text[0].isdigit() != first):
                return False
        return True


_SHAPES: _Memo[bytes, list[_Family]] = _Memo(_SHAPE_CACHE_LIMIT)


def line_shape(line: str) -> LineShape:
    """Return how ``line`` masks, memoized by its layout (see the notes above)."""
    zeroed = line.encode("utf-8", "surrogatepass").translate(_FOLD_DIGITS)
    ascii_only = len(zeroed) == len(line)  # then byte and character offsets agree
    key = zeroed.translate(_FOLD_HEX) if ascii_only else zeroed
    families = _SHAPES.new.get(key) or _SHAPES.get(key)
    home = None
    if families is not None:
        for at, family in enumerate(families):
            if zeroed == family.zeroed if not family.free else family.admits(line, zeroed):
                if at:  # most recently used first: one-off layouts sink and drop out
                    families.insert(0, families.pop(at))
                checks = family.checks
                found = family.shapes.get(tuple([line[s:e] for s, e in checks]) if checks else ())
                if found is not None:
                    return found
                home = family
                break
    shape = _analyse(line)
    if home is None:
        home = _Family(zeroed, shape, _free_spans(line, shape) if ascii_only else ())
        if families is None:
            _SHAPES.put(key, [home])
        else:
            if len(families) >= _FAMILIES_LIMIT:
                families.pop()
            families.insert(0, home)
    if len(home.shapes) >= _SHAPE_VARIANTS_LIMIT:  # e.g. "user42" words that vary every line
        home.shapes.clear()
    home.shapes[tuple([line[s:e] for s, e in shape.checks])] = shape
    return shape


def clear_caches() -> None:
    """Forget memoized chunks and line shapes (they are rebuilt on demand)."""
    _CHUNKS.clear()
    _SHAPES.clear()


def mask(line: str) -> MaskedLine:
    """Strip prefixes, mask variables and tokenize one log line."""
    shape = line_shape(line)
    return MaskedLine(shape.tokens, shape.values(line))


def _masked(line: str) -> str:
    """Return ``line`` prefix-stripped with sentinel-wrapped kinds in place of variables."""
    shape = _analyse(line)
    out: list[str] = []
    pos = shape.start
    for kind, start, end in shape.variables:
        out += (line[pos:start], _SENTINEL_OPEN, kind, _SENTINEL_CLOSE)
        pos = end
    out.append(line[pos:])
    return "".join(out).strip()


def masked_text(line: str) -> str:
    """Return the line as :func:`mask` sees it, with ``<KIND>`` in place of variables."""
    return _masked(line).replace(_SENTINEL_OPEN, "<").replace(_SENTINEL_CLOSE, ">")


class _TableMasking(AbstractMaskingInstruction):  # type: ignore[misc]
    """drain3 masking instruction applying :data:`SPANS` and :data:`MASKS` as :func:`mask` does."""

    def __init__(self) -> None:
        super().__init__("table")

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        text = _masked(content)
        return text.replace(_SENTINEL_OPEN, mask_prefix).replace(_SENTINEL_CLOSE, mask_suffix)


def _template(drain_text: str, example: str) -> Template:
    tokens: list[str] = []
    for m in _TEMPLATE_TOKEN_RE.finditer(drain_text):
        tokens.append(f"<{m.group(1)}>" if m.group(1) else m.group().lower())
    text = drain_text.replace(_SENTINEL_OPEN, "<").replace(_SENTINEL_CLOSE, ">")
    digest = hashlib.blake2b(" ".join(tokens).encode(), digest_size=6).hexdigest()
    return Template(f"p{digest}", text, tuple(tokens), example)


def learn_templates(examples: Iterable[str], *, similarity: float = 0.7) -> tuple[Template, ...]:
    """Cluster example lines with drain3 into templates, one per cluster, in first-seen order.

    Examples of the same length and leading words that share at least ``similarity``
    of their tokens merge into one template with ``<*>`` where they differ.
    """
    # drain3's LogMasker + Drain directly: TemplateMiner would add logging, a config
    # file lookup and persistence, none of which a pure function wants
    masker = LogMasker([_TableMasking()], _SENTINEL_OPEN, _SENTINEL_CLOSE)
    drain = Drain(
        sim_th=similarity,
        param_str=f"{_SENTINEL_OPEN}*{_SENTINEL_CLOSE}",
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


# Templates depend on the rule tables: a stored one is reused only under the same tables.
TABLES_VERSION = hashlib.blake2b(
    repr((PREFIXES, SPANS, MASKS)).encode(), digest_size=8
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
