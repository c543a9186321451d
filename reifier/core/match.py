"""Rank runbooks for a log line or an alert by aligning it with error-pattern templates.

Scoring (all tokens come from :func:`reifier.core.patterns.mask`): a template is
aligned with the line by a fitting alignment (the whole template against any
stretch of the line, order kept), found by dynamic programming. A constant aligns
with the same word; a typed slot such as ``<IP>`` with one line variable (weight
``SLOT_WEIGHT`` if of the same kind, half that otherwise, never a word); drain3's
``<*>`` with any token. From the best alignment::

    coverage = aligned template weight / template weight   (constant 1, slot 0.5)
    score    = coverage
               * INSERT_PENALTY ** I        I = constant line words inside the covered
                                                stretch that are not aligned
               * VAR_INSERT_PENALTY ** V    V = line variables there that are not aligned
               * (1 - CONTEXT_WEIGHT * E / (E + span))
                                            E = constant line words outside the stretch,
                                                span = length of the stretch

The covered stretch runs from the first to the last aligned line token, widened
by as many tokens as the template has unaligned tokens before its first and
after its last aligned one (so "Accepted" in place of a leading "Failed" counts).

A different word in place of a template word ("Failed"/"Accepted",
"refused"/"reset") is a missed template word *and* an inserted line word, so it
costs at least ``INSERT_PENALTY`` (0.6) whatever the template's length and always
falls below the default threshold, 0.8; one word missing from a template of
five or more words does not. Words around the matched stretch (an unstripped
prefix, trailing detail) only dilute the score, by at most ``CONTEXT_WEIGHT``.

Candidates come from an inverted index over each template's rarest constant
words: a template that can still reach ``min_threshold`` must share at least
one of its k rarest words with the line, where k is one more than the number of
words it may miss (prefix filtering); the rest are pruned unless the words they
share with the line could reach the threshold. Results are memoized per token
sequence and threshold, so lines that differ only in their variables cost one
dictionary lookup.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from reifier.core.patterns import MaskedLine, Template, is_slot, line_shape, make_template
from reifier.errors import BadInput

SLOT_WEIGHT = 0.5
INSERT_PENALTY = 0.6
VAR_INSERT_PENALTY = 0.85
CONTEXT_WEIGHT = 0.15
SHORT_CONTEXT = 1.0  # a template of weight w dilutes by max(CONTEXT_WEIGHT, SHORT_CONTEXT / w)
DEFAULT_THRESHOLD = 0.8
_UNIT = 20  # alignment arithmetic in integers: SLOT_WEIGHT and its half are whole units
_SLOT = round(SLOT_WEIGHT * _UNIT)
_CACHE_LIMIT = 50_000


class Match(NamedTuple):
    """One runbook that fits a line or an alert, and why.

    A named tuple rather than a dataclass: the matcher builds a few per log line,
    and a tuple is built in one step.
    """

    runbook_id: str
    pattern_id: str
    score: float  # in [0, 1]
    matched_tokens: tuple[str, ...]  # constant words (or label pairs) found
    variables: tuple[tuple[str, str], ...]  # (kind, value) that filled the template's slots
    pattern: str


_DIGITS_RE = re.compile(r"\d+")
_SKELETONS: dict[str, str | None] = {}


def skeleton(tok: str) -> str | None:
    """Return a word with letters and digits with its digit runs folded ("bglio#"), else None.

    Such a word is an identifier with a numeric part (``bglio559``, ``u11``): another
    instance of the error names another one, so a template's word of this kind aligns
    with a line word of the same skeleton, as a slot does (weight ``SLOT_WEIGHT``).
    """
    found = _SKELETONS.get(tok, "")
    if found == "":
        found = (_DIGITS_RE.sub("#", tok) if tok[:1] != "<" and not tok.isalpha()
                 and not tok.isdigit() and any(c.isalpha() for c in tok) else None)
        if len(_SKELETONS) < 100_000:
            _SKELETONS[tok] = found
    return found


@dataclass(frozen=True)
class Alignment:
    """The best alignment of a template with a line, and its score."""

    score: float
    pairs: tuple[tuple[int, int], ...]  # (template index, line index), in order


def _word_gains(tok: str, line: Sequence[str], present: set[str]) -> list[int] | None:
    """Return what a template word earns at each line token, or None if nowhere."""
    skel = skeleton(tok)
    if skel is not None:  # the same identifier with other digits earns a slot's weight
        gains = [_UNIT if x == tok else _SLOT if skeleton(x) == skel else 0 for x in line]
        return gains if any(gains) else None
    if tok not in present:
        return None
    return [_UNIT if x == tok else 0 for x in line]


def align(template: Sequence[str], line: Sequence[str]) -> Alignment:
    """Align template tokens with line tokens and score the result (see module doc)."""
    n, m = len(template), len(line)
    if not n or not m:
        return Alignment(0.0, ())
    line_slot = [tok[:1] == "<" for tok in line]
    # integer units keep ties exact; an inserted word costs what an aligned one earns,
    # an extra variable much less
    cost = [_UNIT * 3 // 10 if s else _UNIT for s in line_slot]
    present = set(line)
    prev = [0] * (m + 1)  # row 0: the match may start anywhere in the line
    moves: list[bytearray | None] = []
    for tok in template:
        if tok[:1] != "<":
            word_gains = _word_gains(tok, line, present)
            if word_gains is None:  # the row would equal the one above: all "left out"
                moves.append(None)
                continue
            gains = word_gains
        elif tok == "<*>":  # drain3's wildcard takes anything
            gains = [_SLOT] * m
        else:  # a typed slot takes a variable, best one of its own kind
            gains = [(_SLOT if x == tok else _SLOT // 2) if v else 0
                     for x, v in zip(line, line_slot, strict=True)]
        cur = [prev[0]] * (m + 1)
        mv = bytearray(m + 1)
        mv[0] = 2
        left = cur[0]
        for j in range(m):
            best, move = prev[j + 1], 2  # 2: template token left out
            g = gains[j]
            if g and prev[j] + g >= best:
                best, move = prev[j] + g, 1  # 1: aligned
            if left - cost[j] > best:
                best, move = left - cost[j], 3  # 3: line token inserted
            cur[j + 1] = left = best
            mv[j + 1] = move
        moves.append(mv)
        prev = cur
    j = max(range(m + 1), key=prev.__getitem__)  # the match may end anywhere too
    i, pairs = n, []
    while i > 0 and j > 0:
        row = moves[i - 1]
        move = 2 if row is None else row[j]
        if move == 1:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move == 2:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return Alignment(_score(template, line, line_slot, pairs), tuple(pairs))


def _gain(tok: str, slot: bool, other: str, other_slot: bool) -> float:
    """Weight earned by aligning a template token with a line token (0: may not align)."""
    if not slot:
        if tok == other:
            return 1.0
        skel = skeleton(tok)
        return SLOT_WEIGHT if skel is not None and skel == skeleton(other) else 0.0
    if tok == "<*>":  # drain3's wildcard, where examples differed: takes anything
        return SLOT_WEIGHT
    if not other_slot:
        return 0.0  # a typed slot wants a variable: a word there is a different message
    return SLOT_WEIGHT if tok == other else SLOT_WEIGHT / 2  # e.g. <HOST> where <IP> was


def _score(template: Sequence[str], line: Sequence[str], line_slot: list[bool],
           pairs: list[tuple[int, int]]) -> float:
    if not any(not is_slot(template[i]) for i, _ in pairs):
        return 0.0  # slots alone are no evidence
    slots = sum(1 for tok in template if is_slot(tok))
    total = (len(template) - slots) + SLOT_WEIGHT * slots
    matched = sum(_gain(template[i], is_slot(template[i]), line[j], line_slot[j]) for i, j in pairs)
    # the stretch the template covers: the aligned part, widened by as many line tokens
    # as template tokens were left out at either end (so an edge substitution counts)
    lo = max(0, pairs[0][1] - pairs[0][0])
    hi = min(len(line) - 1, pairs[-1][1] + len(template) - 1 - pairs[-1][0])
    used = {j for _, j in pairs}
    inserted = [j for j in range(lo, hi + 1) if j not in used]
    words = sum(1 for j in inserted if not line_slot[j])
    extra_vars = len(inserted) - words
    outside = sum(1 for j in range(len(line)) if (j < lo or j > hi) and not line_slot[j])
    # a template with little constant text found inside a longer line is weak evidence
    dilution = max(CONTEXT_WEIGHT, min(1.0, SHORT_CONTEXT / total))
    context = 1.0 - dilution * outside / (outside + hi - lo + 1)
    score = (matched / total) * INSERT_PENALTY**words * VAR_INSERT_PENALTY**extra_vars * context
    return min(1.0, max(0.0, score))


@dataclass(frozen=True)
class _Entry:
    runbook_id: str
    template: Template
    counts: tuple[tuple[str, int], ...]  # constant word -> occurrences
    weight: float
    words: frozenset[str]
    repeats: bool  # some constant word occurs twice (then counts are needed)
    soft: frozenset[str]  # constant words with digits, which may align by skeleton


@dataclass(frozen=True)
class _Hit:
    """A scored template for one token sequence, with what the Match needs precomputed."""

    entry: int
    score: float
    head: tuple[str, str, float, tuple[str, ...]]  # runbook id, pattern id, shown score, words
    slots: tuple[int | tuple[str, str], ...]  # line variable index, or (kind, word) for <*>
    pattern: str
    direct: bool  # every slot is a line variable index


def _hit(idx: int, e: _Entry, line: Sequence[str], result: Alignment) -> _Hit:
    template = e.template.tokens
    var_at: dict[int, int] = {}
    for j, tok in enumerate(line):
        if tok[:1] == "<":
            var_at[j] = len(var_at)
    words: list[str] = []
    slots: list[int | tuple[str, str]] = []
    for i, j in result.pairs:
        if template[i][:1] != "<":
            words.append(template[i])
        else:  # a <*> slot may hold a word the masker kept
            slots.append(var_at[j] if j in var_at else (template[i][1:-1], line[j]))
    head = (e.runbook_id, e.template.pattern_id, round(result.score, 4), tuple(words))
    return _Hit(idx, result.score, head, tuple(slots), e.template.text,
                all(isinstance(k, int) for k in slots))


def check_limits(threshold: float, limit: int) -> None:
    """Refuse a threshold outside [0, 1] or a negative candidate limit."""
    if not 0.0 <= threshold <= 1.0:
        raise BadInput(f"match threshold must be between 0 and 1, not {threshold}")
    if limit < 0:
        raise BadInput(f"match limit must not be negative, not {limit}")


class PatternIndex:
    """Templates of many runbooks, indexed for matching log lines."""

    def __init__(self, patterns: Iterable[tuple[str, str | Template]], *,
                 min_threshold: float = 0.5) -> None:
        """Build the index from ``(runbook_id, pattern)`` pairs: example text or a template.

        Patterns that are blank or have no constant word are left out and listed
        in :attr:`skipped`. ``min_threshold`` is the lowest threshold the inverted
        index serves; lower ones scan every template.
        """
        check_limits(min_threshold, 0)
        self.min_threshold = min_threshold
        entries: list[_Entry] = []
        skipped: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for runbook_id, pattern in patterns:
            text = pattern if isinstance(pattern, str) else pattern.example
            if not text.strip():
                skipped.append((runbook_id, text, "blank pattern"))
                continue
            template = make_template(text) if isinstance(pattern, str) else pattern
            counts = Counter(t for t in template.tokens if not is_slot(t))
            if not counts:
                skipped.append((runbook_id, text, "no constant word: it would match any line"))
                continue
            if (runbook_id, template.pattern_id) in seen:
                continue
            seen.add((runbook_id, template.pattern_id))
            slots = len(template.tokens) - sum(counts.values())
            weight = sum(counts.values()) + SLOT_WEIGHT * slots
            soft = frozenset(t for t in counts if skeleton(t) is not None)
            repeats = len(counts) < sum(counts.values()) or bool(soft)
            entries.append(_Entry(runbook_id, template, tuple(counts.items()), weight,
                                  frozenset(counts), repeats, soft))
        self.entries: tuple[_Entry, ...] = tuple(entries)
        self.skipped: tuple[tuple[str, str, str], ...] = tuple(skipped)
        self._postings = self._build_postings()
        self._values: dict[int, frozenset[str]] = {}  # example variable texts, for ties
        # per threshold, so the bound prunes as hard as the threshold allows
        self._caches: dict[float, dict[tuple[str, ...], tuple[_Hit, ...]]] = {}

    def __len__(self) -> int:
        """Return the number of indexed (runbook, template) pairs."""
        return len(self.entries)

    def _build_postings(self) -> dict[str, list[int]]:
        df = Counter(tok for e in self.entries for tok, _ in e.counts)
        postings: dict[str, list[int]] = {}
        for idx, e in enumerate(self.entries):
            budget = (1.0 - self.min_threshold) * e.weight  # weight it may miss
            covered = 0
            for tok, count in sorted(e.counts, key=lambda tc: (df[tc[0]], tc[0])):
                # a word with digits is found by its skeleton ("bglio#" finds bglio559)
                postings.setdefault(skeleton(tok) or tok, []).append(idx)
                covered += count
                if covered > budget:
                    break
        return postings

    def _hits(self, tokens: tuple[str, ...], floor: float, everything: bool) -> tuple[_Hit, ...]:
        words = {t for t in tokens if t[:1] != "<"}  # the constant words (is_slot, inlined)
        skeletons = {k for k in map(skeleton, words) if k is not None}
        if everything:
            candidates: Iterable[int] = range(len(self.entries))
        else:
            postings = self._postings
            found: set[int] = set()
            for tok in (words | skeletons if skeletons else words) & postings.keys():
                found.update(postings[tok])
            if not found:
                return ()
            candidates = found
        hits = []
        for idx in candidates:
            e = self.entries[idx]
            if e.repeats:
                missing = sum((count if tok not in e.soft or skeleton(tok) not in skeletons
                               else count * SLOT_WEIGHT)
                              for tok, count in e.counts if tok not in words)
            else:
                missing = len(e.words) - len(e.words & words)
            if (e.weight - missing) / e.weight < floor:
                continue  # cannot reach the floor even if everything else aligned
            result = align(e.template.tokens, tokens)
            if result.score >= floor:
                hits.append(_hit(idx, e, tokens, result))
        hits.sort(key=lambda h: (-h.score, self.entries[h.entry].runbook_id, h.entry))
        best: dict[str, _Hit] = {}
        for hit in hits:  # best pattern per runbook only
            best.setdefault(self.entries[hit.entry].runbook_id, hit)
        return tuple(best.values())

    def match(
        self, line: str, *, threshold: float = DEFAULT_THRESHOLD, limit: int = 5
    ) -> tuple[Match, ...]:
        """Return up to ``limit`` runbooks whose patterns fit ``line``, best first."""
        shape = line_shape(line)
        hits = self._ranked(shape.tokens, threshold, limit)
        if not hits:
            return ()
        values = shape.values(line)
        if len(hits) > 1 and hits[1].score == hits[0].score:
            hits = self._tie_break(hits, values)
        return _matches(hits[:limit], values)

    def match_masked(self, masked: MaskedLine, *, threshold: float = DEFAULT_THRESHOLD,
                     limit: int = 5) -> tuple[Match, ...]:
        """Like :meth:`match`, for a line already masked."""
        hits = self._ranked(masked.tokens, threshold, limit)
        if not hits:
            return ()
        if len(hits) > 1 and hits[1].score == hits[0].score:
            hits = self._tie_break(hits, masked.variables)
        return _matches(hits[:limit], masked.variables)

    def _tie_break(self, hits: tuple[_Hit, ...],
                   values: Sequence[tuple[str, str]]) -> tuple[_Hit, ...]:
        """Order templates of equal score by how many of the line's variable values their
        example shows too: near-identical examples masked alike ('Active' / 'Inactive')
        are told apart by the text in their slots."""
        top = hits[0].score
        tied = [h for h in hits if h.score == top]
        texts = {v for _, v in values}
        tied.sort(key=lambda h: -len(texts & self._example_values(h.entry)))
        return (*tied, *hits[len(tied):])

    def _example_values(self, entry: int) -> frozenset[str]:
        found = self._values.get(entry)
        if found is None:
            example = self.entries[entry].template.example
            found = frozenset(v for _, v in line_shape(example).values(example))
            self._values[entry] = found
        return found

    def _ranked(self, tokens: tuple[str, ...], threshold: float, limit: int) -> tuple[_Hit, ...]:
        """Return the hits at ``threshold`` for ``tokens``, best first, memoized."""
        if not 0.0 <= threshold <= 1.0 or limit < 0:
            check_limits(threshold, limit)
        if threshold < self.min_threshold:
            return self._hits(tokens, threshold, everything=True)
        cache = self._caches.get(threshold)
        if cache is None:
            if len(self._caches) >= 8:
                self._caches.clear()
            cache = self._caches[threshold] = {}
        hits = cache.get(tokens)
        if hits is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            hits = cache[tokens] = self._hits(tokens, threshold, everything=False)
        return hits


_new_match = tuple.__new__


def _matches(hits: Sequence[_Hit], found: Sequence[tuple[str, str]]) -> tuple[Match, ...]:
    """Build the Match of each hit (all at or above the threshold) for one line's variables."""
    out = []
    done: dict[tuple[int | tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
    for hit in hits:
        variables = done.get(hit.slots)  # patterns of one error often fill the same slots
        if variables is None:
            if hit.direct:
                variables = tuple([found[k] for k in hit.slots])  # type: ignore[index]
            else:
                variables = tuple([found[k] if isinstance(k, int) else k for k in hit.slots])
            done[hit.slots] = variables
        out.append(_new_match(Match, (*hit.head, variables, hit.pattern)))
    return tuple(out)


LABEL_CONFIDENCE = 0.95  # a runbook's own label matcher is strong but not certain evidence
ANNOTATION_KEYS = ("summary", "description", "message")
_OPS = ("=~", "!~", "!=")


def _label_fits(op_value: str, actual: str | None) -> bool:
    """Test one Alertmanager-style matcher value: ``v``, ``=~re``, ``!=v``, ``!~re``."""
    for op, negate, regex in zip(_OPS, (False, True, True), (True, True, False), strict=True):
        if op_value.startswith(op):
            want = op_value[len(op) :]
            if regex:
                try:
                    fits = re.fullmatch(want, actual or "") is not None
                except re.error as exc:
                    raise BadInput(f"bad label matcher regex {want!r}: {exc}") from None
            else:
                fits = actual == want
            return fits != negate
    return actual == op_value


def match_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    matchers: Sequence[tuple[str, Mapping[str, str]]],
    index: PatternIndex,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 5,
) -> tuple[Match, ...]:
    """Rank runbooks for an alert: label matchers and annotation text, combined by noisy-OR."""
    check_limits(threshold, limit)
    label_hits: dict[str, tuple[tuple[str, ...], str]] = {}
    for runbook_id, matcher in matchers:
        if matcher and all(_label_fits(v, labels.get(k)) for k, v in matcher.items()):
            found = tuple(f"{k}={labels.get(k, '')}" for k in sorted(matcher))
            spec = ", ".join(
                f"{k}{'' if v[:2] in _OPS else '='}{v}" for k, v in sorted(matcher.items())
            )
            label_hits.setdefault(runbook_id, (found, spec))
    text_hits: dict[str, Match] = {}
    floor = min(threshold, index.min_threshold)
    for key in ANNOTATION_KEYS:
        for text_line in annotations.get(key, "").splitlines():
            if text_line.strip():
                for m in index.match(text_line, threshold=floor, limit=len(index) or 1):
                    if m.runbook_id not in text_hits or m.score > text_hits[m.runbook_id].score:
                        text_hits[m.runbook_id] = m
    out: list[Match] = []
    for runbook_id in label_hits.keys() | text_hits.keys():
        text = text_hits.get(runbook_id)
        text_score = text.score if text else 0.0
        label = LABEL_CONFIDENCE if runbook_id in label_hits else 0.0
        score = round(1.0 - (1.0 - label) * (1.0 - text_score), 4)
        if score < threshold:
            continue
        pairs, spec = label_hits.get(runbook_id, ((), ""))
        if text is not None:
            out.append(Match(runbook_id, text.pattern_id, score, pairs + text.matched_tokens,
                             text.variables, text.pattern))
        else:
            out.append(Match(runbook_id, "labels", score, pairs, (), spec))
    out.sort(key=lambda m: (-m.score, m.runbook_id))
    return tuple(out[:limit])
