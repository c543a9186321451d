"""Mask one log line through the rule tables: strip prefixes, mask spans and chunks.

The tables live in :mod:`reifier.core.logmasks`. :data:`PREFIXES` are dispatched
on the line's first character; :data:`SPANS` run only when their trigger text
occurs; :data:`MASKS` run per whitespace-separated chunk, memoized (words repeat
across lines). :func:`analyse` keeps offsets into the line, so a memoized result
(:mod:`reifier.core.shapes`) can be read against another line of the same layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from reifier.core.logmasks import MASKS, PREFIXES, SPANS

_K = TypeVar("_K")
_V = TypeVar("_V")
SENTINEL_OPEN, SENTINEL_CLOSE = "\ue000", "\ue001"  # never in real logs, unlike "<" and ">"
# no variable starts right after a letter or digit: testing that once per position
# first skips most positions without trying every rule
_MASK_RE = re.compile(
    "(?<![A-Za-z0-9])(?:" + "|".join(f"(?P<m{i}>{r.regex})" for i, r in enumerate(MASKS)) + ")"
)
_KIND = {f"m{i}": r.kind for i, r in enumerate(MASKS)}
_SPAN_RES = tuple((r.trigger, r.kind, re.compile(r.regex)) for r in SPANS)
_WORD_RE = re.compile(r"[^\W_]+")
_NUM_TEXT = f"{SENTINEL_OPEN}NUM{SENTINEL_CLOSE}"
_BLOB_TEXT = f"{SENTINEL_OPEN}BLOB{SENTINEL_CLOSE}"
_MAX_PREFIXES = 8
_MAX_CHUNK = 256  # longer whitespace-free runs are one BLOB variable
_CHUNK_CACHE_LIMIT = 65_536


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


class Memo(Generic[_K, _V]):
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


_CHUNKS: Memo[str, _Chunk] = Memo(_CHUNK_CACHE_LIMIT)


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
        text += (chunk[pos : m.start()], SENTINEL_OPEN, kind, SENTINEL_CLOSE)
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


def analyse(line: str) -> LineShape:
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


def sentinel_text(line: str) -> str:
    """Return ``line`` prefix-stripped with sentinel-wrapped kinds in place of variables."""
    shape = analyse(line)
    out: list[str] = []
    pos = shape.start
    for kind, start, end in shape.variables:
        out += (line[pos:start], SENTINEL_OPEN, kind, SENTINEL_CLOSE)
        pos = end
    out.append(line[pos:])
    return "".join(out).strip()


def clear_chunks() -> None:
    """Forget memoized chunks (they are rebuilt on demand)."""
    _CHUNKS.clear()
