"""The `nli` detector: premise = a source chunk, hypothesis = a claim; support = the highest entailment over chunks.

Any Hugging Face sequence-classification model (hub id in the local cache, or a local path) runs through
the run's model pool. The label holding support is read from the model's config (id2label): a name with
"entail", "consistent", "support" or "faithful"; a two-label model without such a name counts label 1
as consistent (the HHEM / TrueTeacher convention).
"""

from __future__ import annotations

from collections.abc import Sequence

from llmeval.engine.pool import ModelPool
from llmeval.hallucination import claims as T
from llmeval.hallucination.grounding import ClaimCheck

SUPPORT_NAMES = ("entail", "consistent", "support", "faithful")
DEFAULT_CHUNK_WORDS = 300


def support_column(labels: Sequence[str]) -> int:
    """The column of the supporting label; ValueError naming the labels when none can be told apart."""
    lowered = [label.lower() for label in labels]
    for i, name in enumerate(lowered):
        if any(key in name for key in SUPPORT_NAMES) and not name.startswith(("not", "in", "un", "non")):
            return i
    if len(labels) == 2:
        return 1
    raise ValueError(f"cannot tell which label means 'supported' among {list(labels)}; name one with 'entail' in it")


def chunks(source: str, max_words: int = DEFAULT_CHUNK_WORDS) -> list[str]:
    """Consecutive source sentences joined while they fit in `max_words` (a longer sentence is a chunk alone)."""
    out: list[str] = []
    current: list[str] = []
    for sentence in T.sentences(source) or [source]:
        if current and len(" ".join([*current, sentence]).split()) > max_words:
            out.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        out.append(" ".join(current))
    return out


def check(
    pairs: Sequence[tuple[Sequence[str], str]], pool: ModelPool, model: str, chunk_words: int = DEFAULT_CHUNK_WORDS
) -> list[list[ClaimCheck]]:
    """Every (chunk, claim) pair of the batch in one classify call; a claim's score is 1 - max entailment."""
    column = support_column(pool.labels(model))
    per_source = [chunks(source, chunk_words) for _, source in pairs]
    inputs = [(chunk, claim) for (claims, _), cs in zip(pairs, per_source, strict=True) for claim in claims for chunk in cs]
    if not inputs:
        return [[] for _ in pairs]
    probs = pool.classify(model, inputs)
    out, row = [], 0
    for (claims, _), cs in zip(pairs, per_source, strict=True):
        checks = []
        for claim in claims:
            support = probs[row : row + len(cs), column]
            best = int(support.argmax())
            checks.append(ClaimCheck(claim, 1.0 - float(support[best]), cs[best]))
            row += len(cs)
        out.append(checks)
    return out
