"""The offline `grounding` detector: each claim's support in the source, one score per claim in 0..1.

Per claim, two measures of what the source does not back up, combined by a logistic function:
- new content words, softened by token alignment: a word whose stem the source lacks counts in full when
  its contextual token embedding (all-MiniLM-L6-v2, through the run's model pool) matches no source token,
  and not at all when it matches one closely (a synonym or inflection);
- the share of the claim's word trigrams the source never uses (a fact recombined: a swapped name or role).
Weights were fitted on FRANK's CNN/DM validation half only (`bench/hallucination_bench.py --calibrate`) and
reported on XSum/BBC and FaithBench. A number or date the source lacks, or a negation the closest source
sentences lack, or a name (a capitalised word inside a sentence) it lacks, makes a claim unsupported whatever
the combination says.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from llmeval.hallucination import alignment as A
from llmeval.hallucination import claims as T

if TYPE_CHECKING:
    from llmeval.engine.pool import ModelPool

FEATURES = ("new_words", "new_trigrams")
# Fitted by `python bench/hallucination_bench.py --calibrate` (logistic regression on FRANK valid, CNN/DM half,
# item-level labels); intercept first, then one weight per FEATURES entry.
WEIGHTS = (-1.424, 4.443, 4.692)
# Chosen for a false-alarm rate <= 5% on faithful text (bench/RESULTS.md): the claim score above which a claim is
# unsupported; set by `--calibrate` from our paraphrase set and FRANK CNN/DM's faithful summaries.
CLAIM_THRESHOLD = 0.9981
SYNONYM, UNRELATED = 0.95, 0.75  # token cosine at/above which a new word counts as backed / at/below which in full
NAME_PREFIX = 5  # a name is backed by a source word sharing its first letters (demonyms, possessives)
NEAREST = 3  # source sentences a negated claim may take its negation from
HARD_EVIDENCE = 1.0  # a claim's score when a number, date, name or negation goes against the source
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: its hallucination score (0 supported .. 1 unsupported), the closest source sentence, what is missing."""

    claim: str
    score: float
    nearest: str
    missing: tuple[str, ...] = ()
    features: tuple[float, ...] = ()


@dataclass(frozen=True)
class SourceFacts:
    text: str
    sentences: tuple[tuple[int, int], ...]  # character spans
    words: frozenset[str]
    prefixes: frozenset[str]  # of the longer words: "Belgian" is backed by "Belgium", "Irish" is not by "Ireland"
    trigrams: frozenset[tuple[str, ...]]
    numbers: tuple[float, ...]
    dates: frozenset[str]

    @classmethod
    def of(cls, source: str) -> SourceFacts:
        spans = tuple(A.sentence_spans(source)) or ((0, len(source)),)
        words = frozenset(T.content_words(source))
        prefixes = frozenset(w[:NAME_PREFIX] for w in words if len(w) >= NAME_PREFIX)
        return cls(
            source, spans, words, prefixes, frozenset(trigrams(source)), tuple(T.numbers(source)), frozenset(T.dates(source))
        )

    def sentence(self, i: int) -> str:
        start, end = self.sentences[i]
        return self.text[start:end]


def trigrams(text: str) -> list[tuple[str, ...]]:
    """Word trigrams of stems (stopwords kept: "said the mayor" and "the mayor said" differ)."""
    words = [T.stem(w) for w in re.findall(r"[A-Za-z]+|\d+", text.lower())]
    return [tuple(words[i : i + 3]) for i in range(len(words) - 2)]


def check(pairs: Sequence[tuple[Sequence[str], str]], pool: ModelPool, model: str) -> list[list[ClaimCheck]]:
    """Score every (claims, source) pair of a batch; one token-embedding call for all outputs and sources."""
    outputs = [" ".join(claims) for claims, _ in pairs]
    tokens = A.encode([*outputs, *(source for _, source in pairs)], pool, model)
    out = []
    for i, (claims, source) in enumerate(pairs):
        out.append(_check_output(list(claims), outputs[i], tokens[i], SourceFacts.of(source), tokens[len(pairs) + i]))
    return out


def _check_output(claims: list[str], output: str, out_tokens: A.Tokens, fact: SourceFacts, src: A.Tokens) -> list[ClaimCheck]:
    best, where = A.align(out_tokens, src)
    ends = [e for _, e in fact.sentences]
    sentence_of = np.searchsorted(ends, src.spans[where, 0], side="right") if len(src.spans) else np.zeros_like(where)
    checks, cursor = [], 0
    for claim in claims:
        start = output.find(claim, cursor)
        start, cursor = (cursor, cursor) if start < 0 else (start, start + len(claim))
        inside = (out_tokens.spans[:, 0] >= start) & (out_tokens.spans[:, 1] <= start + len(claim))
        support = _word_support(claim, start, out_tokens.spans[inside], best[inside])
        nearest = [int(i) for i, _ in Counter(sentence_of[inside].tolist()).most_common(NEAREST)] or [0]
        checks.append(_check(claim, fact, support, [fact.sentence(min(i, len(fact.sentences) - 1)) for i in nearest]))
    return checks


def _word_support(claim: str, start: int, spans: np.ndarray, best: np.ndarray) -> dict[str, float]:
    """Per content-word stem of the claim, its best token alignment (a word's weakest piece; max over occurrences)."""
    found: dict[str, float] = {}
    for m in _WORD.finditer(claim):
        stems = T.content_words(m.group())
        if not stems:
            continue
        a, b = start + m.start(), start + m.end()
        pieces = best[(spans[:, 0] < b) & (spans[:, 1] > a)]
        value = float(pieces.min()) if len(pieces) else 0.0
        for s in stems:
            found[s] = max(found.get(s, 0.0), value)
    return found


def _check(original: str, fact: SourceFacts, support: dict[str, float], nearest: list[str]) -> ClaimCheck:
    claim = T.factual(original)
    words = T.content_words(claim)
    new_words = sorted(words - fact.words)
    soft = sum(min(max((SYNONYM - support.get(w, 0.0)) / (SYNONYM - UNRELATED), 0.0), 1.0) for w in new_words)
    grams = trigrams(claim)
    values = (soft / len(words) if words else 0.0, sum(g not in fact.trigrams for g in grams) / len(grams) if grams else 0.0)
    bad_numbers = [
        f"{n:g}" for n in T.numbers(claim) if not T.number_supported(n, list(fact.numbers)) and not T.small_count(n, claim)
    ]
    bad_dates = sorted(T.dates(claim) - fact.dates)
    bad_names = sorted(n for n in T.entities(claim) - fact.words if n[:NAME_PREFIX] not in fact.prefixes)
    flip = negation_flip(claim, nearest)
    score = combine(values)
    if bad_numbers or bad_dates or bad_names or flip:
        score = max(score, HARD_EVIDENCE)
    rest = [w for w in new_words if support.get(w, 0) < SYNONYM and w not in bad_names and w not in bad_dates]
    missing = bad_numbers + bad_dates + bad_names + (["(negation)"] if flip else []) + rest
    return ClaimCheck(original, score, nearest[0], tuple(missing), values)


def negation_flip(claim: str, nearest: list[str]) -> bool:
    """A negated claim that no close source sentence negates.

    The converse (a plain claim restating a negated sentence) is not checked: on FRANK XSum/BBC it fired on 8 of
    26 faithful summaries and 34 of 270 hallucinated ones (bench/RESULTS.md), worse than chance."""
    return T.has_negation(claim) and not any(T.has_negation(s) for s in nearest)


def combine(values: Sequence[float], weights: Sequence[float] = WEIGHTS) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], values, strict=True))
    return 1 / (1 + math.exp(-z))
