"""Memoize how log lines mask, by layout: the next instance of an error is a lookup.

A log repeats its errors with other numbers, ids and hashes. :func:`line_shape`
returns what :func:`reifier.core.masking.analyse` would, from a memo keyed by the
line with those folded away; the notes below say when that is exact, and
tests/unit/test_shape_memo.py checks it against fresh analyses.
"""

from __future__ import annotations

import re

from reifier.core.masking import LineShape, Memo, analyse

_SHAPE_CACHE_LIMIT = 16_384
_SHAPE_VARIANTS_LIMIT = 64

# Every rule treats digits alike, so lines that differ only in digit values mask
# alike: they share a key, the line with its digits zeroed. Hex ids,
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
    """Return the runs of ``line`` that other lines of its family may spell otherwise."""
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
        """Tell whether ``line`` (``zeroed``: its digits zeroed) masks as this family."""
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


_SHAPES: Memo[bytes, list[_Family]] = Memo(_SHAPE_CACHE_LIMIT)


def line_shape(line: str) -> LineShape:
    """Return how ``line`` masks, memoized by its layout (see the notes above)."""
    zeroed = line.encode("utf-8", "surrogatepass").translate(_FOLD_DIGITS)
    ascii_only = len(zeroed) == len(line)  # then byte and character offsets agree
    key = zeroed.translate(_FOLD_HEX) if ascii_only else zeroed
    families = _SHAPES.new.get(key) or _SHAPES.get(key)
    home = None
    if families is not None:
        for at, family in enumerate(families):
            if family.admits(line, zeroed):
                if at:  # most recently used first: one-off layouts sink and drop out
                    families.insert(0, families.pop(at))
                checks = family.checks
                found = family.shapes.get(tuple([line[s:e] for s, e in checks]) if checks else ())
                if found is not None:
                    return found
                home = family
                break
    shape = analyse(line)
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


def clear_shapes() -> None:
    """Forget memoized line shapes (they are rebuilt on demand)."""
    _SHAPES.clear()
