"""A model pool that keeps contextual token embeddings on disk (.bench-cache/hallucination/), for bench iterations.

The labeled data's sources are long (CNN/DM ~600 words); re-encoding them on every bench run takes minutes on a
shared CPU. Each distinct window text the detector asks for is stored once, keyed by encoder and text hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmeval.engine.pool import ModelPool, TokenVectors

CACHE = Path(__file__).resolve().parents[1] / ".bench-cache" / "hallucination"


class CachedPool(ModelPool):
    """`token_embed` from the disk cache, misses through the pool itself (stored as float16)."""

    def __init__(self, threads: int = 1, folder: Path = CACHE) -> None:
        super().__init__(threads=threads)
        self.folder = folder

    def _path(self, model: str, text: str) -> Path:
        key = hashlib.sha1(f"{Path(model).name}|{text}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npz"

    def token_embed(self, model: str, texts: Sequence[str], *, max_length: int = 256) -> list[TokenVectors]:
        missing = [t for t in dict.fromkeys(texts) if not self._path(model, t).exists()]
        for text, found in zip(missing, super().token_embed(model, missing, max_length=max_length), strict=True):
            path = self._path(model, text)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, spans=found.spans.astype(np.int32), vectors=found.vectors.astype(np.float16))
        return [self._stored(model, t) for t in texts]

    def _stored(self, model: str, text: str) -> TokenVectors:
        with np.load(self._path(model, text)) as data:
            return TokenVectors(data["spans"].astype(np.int64), data["vectors"].astype(np.float32))
