"""Token alignment of an output with its source: each output token's best match among the source's contextual tokens.

Texts are cut into windows of whole sentences (at most `WINDOW_WORDS` words, a longer sentence cut by words) so
every token gets the encoder's context, with bounded cost per window. An output token's support is its highest
cosine to any source token (BERTScore precision, greedy matching), read per claim by character span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from llmeval.hallucination import claims as T

if TYPE_CHECKING:
    from llmeval.engine.pool import ModelPool

WINDOW_WORDS = 150  # ~200 word pieces: inside all-MiniLM-L6-v2's 256-token limit
MAX_LENGTH = 256


@dataclass(frozen=True)
class Tokens:
    """A text's tokens: character spans (n, 2) into the text and unit vectors (n, dim)."""

    spans: np.ndarray
    vectors: np.ndarray


def windows(text: str, max_words: int = WINDOW_WORDS) -> list[tuple[int, str]]:
    """(start offset, piece) of consecutive sentences joined while they fit in `max_words`; long sentences cut."""
    pieces: list[tuple[int, str]] = []
    for start, end in sentence_spans(text):
        for s, e in _word_cuts(text, start, end, max_words):
            if pieces and len(text[pieces[-1][0] : e].split()) <= max_words:
                pieces[-1] = (pieces[-1][0], text[pieces[-1][0] : e])
            else:
                pieces.append((s, text[s:e]))
    return pieces


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the text's sentences (`text.sentences`), in order."""
    spans, cursor = [], 0
    for sentence in T.sentences(text):
        start = text.find(sentence, cursor)
        start = cursor if start < 0 else start
        spans.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    return spans


def _word_cuts(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def encode(texts: Sequence[str], pool: ModelPool, model: str) -> list[Tokens]:
    """Every text's contextual tokens, all windows of the batch in one pool call."""
    cut = [windows(t) for t in texts]
    flat = [piece for pieces in cut for _, piece in pieces]
    found = pool.token_embed(model, flat, max_length=MAX_LENGTH) if flat else []
    out, row = [], 0
    for pieces in cut:
        parts = found[row : row + len(pieces)]
        spans = [p.spans + offset for (offset, _), p in zip(pieces, parts, strict=True)]
        vectors = [p.vectors for p in parts]
        out.append(
            Tokens(
                np.concatenate(spans) if spans else np.zeros((0, 2), dtype=np.int64),
                np.concatenate(vectors) if vectors else np.zeros((0, 1), dtype=np.float32),
            )
        )
        row += len(pieces)
    return out


def align(output: Tokens, source: Tokens, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Per output token, its highest cosine to a source token and that token's index (0 and -1 without a source).

    Computed in blocks of output rows, so memory stays at block x source tokens whatever the lengths."""
    n = len(output.vectors)
    if not n or not len(source.vectors):
        return np.zeros(n, dtype=np.float32), np.full(n, -1, dtype=np.int64)
    best, where = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.int64)
    for start in range(0, n, block):
        sims = output.vectors[start : start + block] @ source.vectors.T
        where[start : start + block] = sims.argmax(axis=1)
        best[start : start + block] = sims.max(axis=1)
    return best, where
