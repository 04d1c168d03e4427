"""CTC prefix beam search with constraints applied inside the search.

A prefix is only ever extended by a character the constraints allow there: an allowed
character set, a length range, a regular expression (checked on every prefix with the
`regex` package's partial matching: could this prefix still become a match?). So the
search spends its beam on answers that can be right, instead of filtering a handful of
unconstrained answers afterwards and often finding none.

A hypothesis' score is log P(text | image): the sum over every CTC alignment of the
text (a greedy path is just one of them), so `confidence` here is that probability.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import regex
from torch import Tensor

from seqocr.charset import Charset
from seqocr.config import DecodeConfig
from seqocr.errors import SeqocrError

NEG_INF = float("-inf")
ALWAYS_TRIED = 3  # characters tried at every frame, however unlikely (constraints may force them)
NEGLIGIBLE = math.log(1e-4)  # beyond those, characters this unlikely at a frame are not tried


@dataclass(frozen=True)
class Hypothesis:
    text: str
    log_prob: float  # log P(text | image) over all CTC alignments

    @property
    def confidence(self) -> float:
        return math.exp(self.log_prob)


class Checker:
    """Constraint checks on prefixes, cached: the search asks about the same ones often.
    Built once per decoding call; raises SeqocrError on constraints that make no sense."""

    def __init__(self, constraints: DecodeConfig, charset: Charset):
        self.constraints = constraints
        if constraints.max_length is not None and constraints.max_length < constraints.min_length:
            raise SeqocrError(f"length range is empty: min {constraints.min_length} > max {constraints.max_length}")
        try:
            self.pattern = regex.compile(constraints.pattern) if constraints.pattern else None
        except regex.error as error:
            raise SeqocrError(f"pattern {constraints.pattern!r} is not a valid regular expression ({error})") from None
        unknown = charset.unknown_chars(constraints.allowed)
        if unknown:
            raise SeqocrError(f"--allowed has characters the model cannot read: {unknown!r}")
        allowed = set(constraints.allowed or charset.chars)
        self.allowed_ids = charset.ids_of(allowed)
        # a minimum length or a pattern only accepts complete answers: short prefixes,
        # more probable until the very end, must not crowd out the long ones
        self.keep_every_length = bool(constraints.min_length or constraints.pattern)
        self._viable: dict[str, bool] = {}

    def viable(self, prefix: str) -> bool:
        """Can `prefix` still be (or grow into) an acceptable answer?"""
        known = self._viable.get(prefix)
        if known is None:
            c = self.constraints
            known = (c.max_length is None or len(prefix) <= c.max_length) and (
                self.pattern is None or self.pattern.fullmatch(prefix, partial=True) is not None
            )
            self._viable[prefix] = known
        return known

    def complete(self, text: str) -> bool:
        c = self.constraints
        if len(text) < c.min_length or (c.max_length is not None and len(text) > c.max_length):
            return False
        return self.pattern is None or self.pattern.fullmatch(text) is not None


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def prefix_beam_search(
    log_probs: Tensor, charset: Charset, checker: Checker, beam: int, n_best: int
) -> list[Hypothesis]:
    """log_probs (T, C) of one image -> up to `n_best` acceptable answers, best first
    (none if no answer satisfies the constraints)."""
    rows = log_probs.double().tolist()
    steps = len(rows)
    blank = charset.blank
    min_length = checker.constraints.min_length
    # prefix -> (log P ending in blank, log P ending in its last character)
    beams: dict[str, tuple[float, float]] = {"": (0.0, NEG_INF)}
    for t, row in enumerate(rows):
        ranked = sorted(checker.allowed_ids, key=row.__getitem__, reverse=True)[:beam]
        # the frame's few likeliest characters always, others only if not negligible here
        candidates = ranked[:ALWAYS_TRIED] + [c for c in ranked[ALWAYS_TRIED:] if row[c] > NEGLIGIBLE]
        grown: dict[str, list[float]] = {}
        for prefix, (p_blank, p_char) in beams.items():
            total = _add(p_blank, p_char)
            entry = grown.setdefault(prefix, [NEG_INF, NEG_INF])
            entry[0] = _add(entry[0], total + row[blank])
            last = charset.id_of(prefix[-1]) if prefix else None
            if last is not None:  # the last character again, with no blank between: same prefix
                entry[1] = _add(entry[1], p_char + row[last])
            for c in candidates:
                extended = prefix + charset.char_of(c)
                if not checker.viable(extended):
                    continue
                new = grown.setdefault(extended, [NEG_INF, NEG_INF])
                # a repeated character needs a blank between its two emissions
                new[1] = _add(new[1], (p_blank if c == last else total) + row[c])
        remaining = steps - 1 - t
        reachable = [(p, v) for p, v in grown.items() if len(p) + remaining >= min_length]
        reachable.sort(key=lambda kv: _add(*kv[1]), reverse=True)
        if checker.keep_every_length:  # the best `beam` prefixes of every length
            best, per_length = [], Counter[int]()
            for prefix, value in reachable:
                per_length[len(prefix)] += 1
                if per_length[len(prefix)] <= beam:
                    best.append((prefix, value))
        else:
            best = reachable[:beam]
        beams = {p: (v[0], v[1]) for p, v in best}
    finals = [Hypothesis(p, _add(*v)) for p, v in beams.items() if checker.complete(p)]
    return sorted(finals, key=lambda h: h.log_prob, reverse=True)[:n_best]
