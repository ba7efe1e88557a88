"""Contextual token embeddings of the bench's texts, computed once and kept under .bench-cache/hallucination/.

The labeled data's sources are long (CNN/DM ~600 words); re-encoding them on every bench run would take minutes
on a shared CPU. Each distinct text is stored once, keyed by the encoder and the text's hash (float16 vectors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmeval.engine.pool import ModelPool
from llmeval.hallucination import alignment as A

CACHE = Path(__file__).resolve().parents[1] / ".bench-cache" / "hallucination"


def _path(model: str, text: str) -> Path:
    key = hashlib.sha1(f"{Path(model).name}|{A.WINDOW_WORDS}|{text}".encode()).hexdigest()
    return CACHE / key[:2] / f"{key}.npz"


def tokens(texts: Sequence[str], pool: ModelPool, model: str, chunk: int = 64) -> dict[str, A.Tokens]:
    """Every distinct text's tokens: from the cache, else encoded (in chunks, stored as they finish)."""
    distinct = list(dict.fromkeys(texts))
    missing = [t for t in distinct if not _path(model, t).exists()]
    for start in range(0, len(missing), chunk):
        part = missing[start : start + chunk]
        for text, found in zip(part, A.encode(part, pool, model), strict=True):
            path = _path(model, text)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, spans=found.spans.astype(np.int32), vectors=found.vectors.astype(np.float16))
    out = {}
    for text in distinct:
        with np.load(_path(model, text)) as data:
            out[text] = A.Tokens(data["spans"].astype(np.int64), data["vectors"].astype(np.float32))
    return out
