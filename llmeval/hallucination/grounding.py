"""The offline `grounding` detector: each claim's support in the source, one calibrated score per claim.

Per claim: share of its content words, named entities, numbers and dates found in the source, the
count of new content words, a negation mismatch with the closest source sentence, and the cosine of
the claim to that sentence (all-MiniLM-L6-v2 through the run's model pool). A logistic combination
(weights fitted on FaithBench batches 1-4, see `bench/hallucination_bench.py --calibrate`) turns them
into a hallucination score in 0..1 per claim.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmeval.hallucination import text as T

if TYPE_CHECKING:
    from llmeval.engine.pool import ModelPool

FEATURES = ("word_recall", "new_words", "entity_recall", "number_recall", "date_recall", "negation_flip", "cosine")
# Fitted by `python bench/hallucination_bench.py --calibrate` (logistic regression, claim-level labels from
# FaithBench's annotated spans, batches b1-b4 only); intercept first, then one weight per FEATURES entry.
WEIGHTS = (3.749, 0.0, 0.532, -2.628, 0.0, -2.586, 1.567, 0.0)
CLAIM_THRESHOLD = 0.5
NEAREST = 3  # source sentences a negated claim may take its negation from
OFF_TOPIC_RECALL, OFF_TOPIC_COSINE = 0.5, 0.5  # most content words new and no close source sentence
HARD_EVIDENCE = 0.9  # the floor of a claim's score when one of its numbers or dates is not in the source
ENTITY_LABELS = frozenset("PERSON ORG GPE LOC NORP FAC EVENT PRODUCT WORK_OF_ART LAW".split())
SIGNATURE_BASE = "grounding-v1|minilm-l6|spacy-ner"


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
    sentences: tuple[str, ...]
    words: frozenset[str]
    numbers: tuple[float, ...]
    dates: frozenset[str]

    @classmethod
    def of(cls, source: str) -> SourceFacts:
        sents = tuple(T.sentences(source)) or (source,)
        return cls(sents, frozenset(T.content_words(source)), tuple(T.numbers(source)), frozenset(T.dates(source)))


def check(pairs: Sequence[tuple[Sequence[str], str]], pool: ModelPool, model: str) -> list[list[ClaimCheck]]:
    """Score every (claims, source) pair of a batch; one embedding pass and one NER pass for the whole batch."""
    facts = [SourceFacts.of(source) for _, source in pairs]
    all_claims = [c for claims, _ in pairs for c in claims]
    texts = all_claims + [s for f in facts for s in f.sentences]
    if not all_claims:
        return [[] for _ in pairs]
    vectors = pool.embed(model, texts, max_length=256)
    entities = claim_entities(all_claims)
    out, row, srow = [], 0, len(all_claims)
    for (claims, _), fact in zip(pairs, facts, strict=True):
        sims = vectors[row : row + len(claims)] @ vectors[srow : srow + len(fact.sentences)].T
        out.append([_check(c, fact, sims[i], entities[row + i]) for i, c in enumerate(claims)])
        row, srow = row + len(claims), srow + len(fact.sentences)
    return out


def _check(claim: str, fact: SourceFacts, sims: Any, entities: list[str]) -> ClaimCheck:
    order = [int(i) for i in sims.argsort()[::-1][:NEAREST]]
    best = order[0]
    values, missing = claim_features(claim, fact, [fact.sentences[i] for i in order], float(sims[best]), entities)
    score = combine(values)
    if values[3] < 1 or values[4] < 1 or (values[0] < OFF_TOPIC_RECALL and values[6] < OFF_TOPIC_COSINE):
        score = max(score, HARD_EVIDENCE)  # a number or date not in the source, or a claim about something else
    return ClaimCheck(claim, score, fact.sentences[best], tuple(missing), tuple(values))


def claim_features(
    claim: str, fact: SourceFacts, nearest: list[str], cosine: float, entities: list[str]
) -> tuple[list[float], list[str]]:
    """The feature vector (see FEATURES) and the unsupported words, entities, numbers and dates."""
    words = T.content_words(claim)
    new_words = sorted(words - fact.words)
    bad_entities = [e for e in entities if not T.content_words(e) <= fact.words]
    bad_numbers = [n for n in T.numbers(claim) if not T.number_supported(n, list(fact.numbers))]
    bad_dates = sorted(T.dates(claim) - fact.dates)
    n_numbers, n_dates = len(T.numbers(claim)), len(T.dates(claim))
    values = [
        1 - len(new_words) / len(words) if words else 1.0,
        math.log1p(len(new_words)),
        1 - len(bad_entities) / len(entities) if entities else 1.0,
        1 - len(bad_numbers) / n_numbers if n_numbers else 1.0,
        1 - len(bad_dates) / n_dates if n_dates else 1.0,
        float(negation_flip(claim, nearest)),
        cosine,
    ]
    missing = (
        bad_entities
        + [f"{n:g}" for n in bad_numbers]
        + bad_dates
        + [w for w in new_words if w not in " ".join(bad_entities).lower()]
    )
    return values, missing


def negation_flip(claim: str, nearest: list[str]) -> bool:
    """A negated claim no close source sentence negates, or a plain claim whose closest sentence is negated."""
    if T.has_negation(claim):
        return not any(T.has_negation(s) for s in nearest)
    return T.has_negation(nearest[0])


def combine(values: Sequence[float], weights: Sequence[float] = WEIGHTS) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], values, strict=True))
    return 1 / (1 + math.exp(-z))


# -- named entities (spaCy when installed, capitalised words otherwise) ------------------------------
_NLP: dict[str, Any] = {}
_NLP_LOCK = threading.Lock()


def claim_entities(claims: Sequence[str]) -> list[list[str]]:
    """Named entities per claim: spaCy NER when a pipeline is installed, else capitalised words inside a sentence."""
    nlp = _spacy()
    if nlp is None:
        return [_capitalised(c) for c in claims]
    with _NLP_LOCK:
        return [[e.text for e in doc.ents if e.label_ in ENTITY_LABELS] for doc in nlp.pipe(claims, batch_size=64)]


def _spacy() -> Any:
    with _NLP_LOCK:
        if "nlp" not in _NLP:
            _NLP["nlp"] = _load_spacy()
        return _NLP["nlp"]


def _load_spacy() -> Any:
    try:
        import spacy

        from llmeval.pii.engine import resolve_spacy_model
    except ImportError:
        return None
    name = resolve_spacy_model()
    if name is None:
        return None
    return spacy.load(name, disable=["tagger", "parser", "attribute_ruler", "lemmatizer"])


def _capitalised(claim: str) -> list[str]:
    words = claim.split()
    return [w.strip(".,;:!?\"'()") for w in words[1:] if w[:1].isupper() and w.lower().strip(".,") not in T.STOPWORDS]
