"""The run's model pool: encoder models for scorers, each loaded once, fed in token-budgeted batches.

Scorers never own a model: they hand the pool all their texts at once. The pool deduplicates them,
sorts them by length, pads each batch only to its own longest input, runs on CUDA when present (bf16)
and halves a batch that runs out of GPU memory. Three kinds of work share one batching loop:
`embed` (mean-pooled sentence embeddings), `classify` (sequence classification, e.g. NLI, over text
pairs) and `loglikelihood` (per-token log-probabilities of a continuation under a causal LM).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmeval.engine.threads import use_torch_threads
from llmeval.errors import LlmevalError

if TYPE_CHECKING:
    import numpy as np

# Padded tokens and inputs per forward pass. On CPU small batches are as fast per token (measured: 32 x
# ~20 tokens beat 256 at once on the demo texts) and pad each batch only to its own longest input.
CPU_TOKEN_BUDGET, CPU_MAX_BATCH = 4 * 1024, 32
CUDA_TOKEN_BUDGET, CUDA_MAX_BATCH = 256 * 1024, 1024
KINDS = ("embed", "classify", "causal")


ENGINE_LOADS: list[tuple[str, float]] = []  # (what, seconds) of every scorer engine and model this process loaded


def note_load(what: str, seconds: float) -> None:
    """Record a scorer engine's load (pool models here; the PII engine in llmeval.pii): the run reports them."""
    ENGINE_LOADS.append((what, seconds))


class PoolError(LlmevalError):
    """A pool model cannot be loaded, or a single input does not fit in memory."""


@dataclass
class PoolStats:
    """What one model did in this run: calls, inputs asked for, distinct inputs run, forward passes, OOM halvings."""

    calls: int = 0
    requested: int = 0
    unique: int = 0
    batches: int = 0
    oom_halvings: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class LogLikelihood:
    """Log-probability of a continuation given its context: the sum, one value per continuation token, greedy."""

    total: float
    tokens: tuple[float, ...]
    greedy: bool


@dataclass(frozen=True)
class TokenVectors:
    """One text's tokens: (start, end) character spans, shape (n, 2), and unit vectors, shape (n, dim)."""

    spans: np.ndarray
    vectors: np.ndarray


@dataclass
class _Loaded:
    kind: str
    path: str
    tokenizer: Any
    model: Any
    device: str
    stats: PoolStats = field(default_factory=PoolStats)


Encoded = list[int] | dict[str, list[int]]
Forward = Callable[["_Loaded", list[Any]], list[Any]]


class ModelPool:
    """Encoder models of one run, keyed by (kind, model path or hub id); safe to call from several threads."""

    def __init__(
        self,
        *,
        device: str | None = None,
        threads: int | None = None,
        token_budget: int | None = None,
        max_batch: int | None = None,
    ) -> None:
        self.device_name = device
        self.threads = threads
        self.token_budget = token_budget
        self.max_batch = max_batch
        self._models: dict[tuple[str, str], _Loaded] = {}
        self._lock = threading.RLock()

    # -- public work ----------------------------------------------------------------------------
    def embed(self, model: str, texts: Sequence[str], *, max_length: int = 256, normalize: bool = True) -> np.ndarray:
        """Mean-pooled (optionally L2-normalised) embeddings, one float32 row per text, in the order given."""
        import numpy as np

        loaded = self.load("embed", model)
        rows = self._run(loaded, list(texts), lambda t: _token_ids(loaded.tokenizer, t, max_length), _embed_forward)
        matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        if normalize and len(matrix):
            matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        return matrix.astype(np.float32, copy=False)

    def token_embed(self, model: str, texts: Sequence[str], *, max_length: int = 256) -> list[TokenVectors]:
        """Contextual token embeddings (L2-normalised, special tokens dropped) with each token's character span."""
        import numpy as np

        loaded = self.load("embed", model)
        rows = self._run(loaded, list(texts), lambda t: _offset_ids(loaded.tokenizer, t, max_length), _token_forward)
        out = []
        for spans, vectors in rows:
            norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out.append(TokenVectors(spans, (vectors / norms).astype(np.float32, copy=False)))
        return out

    def classify(self, model: str, pairs: Sequence[tuple[str, str | None]], *, max_length: int = 512) -> np.ndarray:
        """Class probabilities (softmax), one row per (text, text pair or None); columns follow `labels(model)`."""
        import numpy as np

        loaded = self.load("classify", model)
        rows = self._run(loaded, list(pairs), lambda p: _pair_ids(loaded.tokenizer, p, max_length), _classify_forward)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, len(self.labels(model))), dtype=np.float32)

    def labels(self, model: str) -> tuple[str, ...]:
        """The classifier's label names by column, read from its config's id2label."""
        config = self.load("classify", model).model.config
        return tuple(str(config.id2label[i]) for i in range(config.num_labels))

    def loglikelihood(self, model: str, pairs: Sequence[tuple[str, str]]) -> list[LogLikelihood]:
        """Log-probability of each continuation given its context under a causal LM (the lm-eval recipe)."""
        loaded = self.load("causal", model)
        rows = self._run(loaded, list(pairs), lambda p: _continuation_ids(loaded.tokenizer, p), _causal_forward)
        return [LogLikelihood(float(sum(r[0])), tuple(float(x) for x in r[0]), bool(r[1])) for r in rows]

    def stats(self) -> dict[str, PoolStats]:
        """Per loaded model ("kind:path"), what it did in this run."""
        return {f"{kind}:{path}": loaded.stats for (kind, path), loaded in self._models.items()}

    def close(self) -> None:
        with self._lock:
            self._models.clear()

    # -- loading --------------------------------------------------------------------------------
    def load(self, kind: str, model: str) -> _Loaded:
        """Load a model once per pool (and so once per run); raises PoolError naming it."""
        if kind not in KINDS:
            raise ValueError(f"model kind must be one of {', '.join(KINDS)}, got {kind!r}")
        with self._lock:
            if (kind, model) not in self._models:
                started = time.perf_counter()
                self._models[(kind, model)] = self._load(kind, model)
                note_load(f"{kind}:{model.rstrip('/').rsplit('/', 1)[-1]}", time.perf_counter() - started)
            return self._models[(kind, model)]

    def _load(self, kind: str, path: str) -> _Loaded:
        import torch
        import transformers

        device = self.device_name or ("cuda" if torch.cuda.is_available() else "cpu")
        use_torch_threads(self.threads, device)
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        auto = {
            "embed": transformers.AutoModel,
            "classify": transformers.AutoModelForSequenceClassification,
            "causal": transformers.AutoModelForCausalLM,
        }[kind]
        try:
            from llmeval.backends.hf import quiet_loading

            quiet_loading()
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            net = auto.from_pretrained(path, dtype=dtype, local_files_only=True).to(device).eval()
        except (OSError, ValueError) as exc:
            raise PoolError(f"cannot load {kind} model '{path}': {exc}") from None
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"  # the forwards read real tokens from position 0
        return _Loaded(kind, path, tokenizer, net, device)

    # -- batching -------------------------------------------------------------------------------
    def _run(self, loaded: _Loaded, inputs: list[Any], encode: Callable[[Any], Encoded], forward: Forward) -> list[Any]:
        """Encode distinct inputs, run them longest first in budgeted batches, return one result per input."""
        distinct = list(dict.fromkeys(inputs))
        results: dict[int, Any] = {}
        started = time.perf_counter()
        with self._lock:  # fast tokenizers are not safe to share across threads ("Already borrowed")
            encoded = [encode(x) for x in distinct]
            order = sorted(range(len(distinct)), key=lambda i: -_length(encoded[i]))
            for batch in self._batches(order, encoded, loaded.device):
                for i, row in zip(batch, self._forward(loaded, [encoded[i] for i in batch], forward), strict=True):
                    results[i] = row
        stats = loaded.stats
        stats.calls, stats.requested, stats.unique = stats.calls + 1, stats.requested + len(inputs), stats.unique + len(distinct)
        stats.seconds += time.perf_counter() - started
        index = {x: i for i, x in enumerate(distinct)}
        return [results[index[x]] for x in inputs]

    def _batches(self, order: list[int], encoded: list[Encoded], device: str) -> Iterator[list[int]]:
        """Consecutive length-sorted inputs while (batch size x longest) stays within the token budget."""
        cuda = device.startswith("cuda")
        budget = self.token_budget or (CUDA_TOKEN_BUDGET if cuda else CPU_TOKEN_BUDGET)
        most = self.max_batch or (CUDA_MAX_BATCH if cuda else CPU_MAX_BATCH)
        batch: list[int] = []
        for i in order:  # longest first, so the first member sets the padded width
            width = _length(encoded[batch[0]]) if batch else _length(encoded[i])
            if batch and (width * (len(batch) + 1) > budget or len(batch) >= most):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _forward(self, loaded: _Loaded, items: list[Encoded], forward: Forward) -> list[Any]:
        """One forward pass; on CUDA out-of-memory, halve the batch and retry each half."""
        import torch

        try:
            with torch.inference_mode():
                rows = forward(loaded, items)
            loaded.stats.batches += 1
            return rows
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(items) == 1:
                raise PoolError(f"{loaded.kind} model '{loaded.path}': CUDA out of memory on a single input") from None
            loaded.stats.oom_halvings += 1
            half = len(items) // 2
            return self._forward(loaded, items[:half], forward) + self._forward(loaded, items[half:], forward)


def _length(encoded: Encoded) -> int:
    return len(encoded["input_ids"]) if isinstance(encoded, dict) else len(encoded)


def _token_ids(tokenizer: Any, text: str, max_length: int) -> list[int]:
    return list(tokenizer(text, truncation=True, max_length=max_length)["input_ids"])


def _offset_ids(tokenizer: Any, text: str, max_length: int) -> dict[str, list[int]]:
    """Token ids and each token's character span (flattened; special tokens span (0, 0))."""
    enc = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    return {"input_ids": list(enc["input_ids"]), "offsets": [int(x) for span in enc["offset_mapping"] for x in span]}


def _pair_ids(tokenizer: Any, pair: tuple[str, str | None], max_length: int) -> dict[str, list[int]]:
    """Premise and hypothesis as the model's pair input; a long premise is truncated first."""
    enc = tokenizer(pair[0], pair[1], truncation="only_first" if pair[1] is not None else True, max_length=max_length)
    return {k: list(v) for k, v in enc.items()}


def _continuation_ids(tokenizer: Any, pair: tuple[str, str]) -> dict[str, list[int]]:
    """Context then continuation ids (encoded apart, so the split is exact); `start` marks the continuation."""
    context, continuation = pair
    ctx = list(tokenizer(context, add_special_tokens=False)["input_ids"]) if context else []
    if not ctx:  # a whole sentence's likelihood: condition on BOS, else on EOS (lm-eval's CrowS-Pairs recipe)
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        ctx = [start] if start is not None else []
    cont = list(tokenizer(continuation, add_special_tokens=False)["input_ids"])
    if not ctx or not cont:
        raise PoolError("loglikelihood needs a non-empty context (or a BOS token) and a non-empty continuation")
    return {"input_ids": ctx + cont, "start": [len(ctx)]}


def _padded(loaded: _Loaded, items: list[Encoded]) -> dict[str, Any]:
    """Right-padded tensors on the model's device."""
    extra = ("start", "offsets")  # bookkeeping of the forwards, not model inputs
    features = [{"input_ids": x} if isinstance(x, list) else {k: v for k, v in x.items() if k not in extra} for x in items]
    batch = loaded.tokenizer.pad(features, padding=True, return_tensors="pt")
    return {k: v.to(loaded.device) for k, v in batch.items()}


def _embed_forward(loaded: _Loaded, items: list[Encoded]) -> list[Any]:
    batch = _padded(loaded, items)
    hidden = loaded.model(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return list(pooled.cpu().numpy())


def _token_forward(loaded: _Loaded, items: list[Encoded]) -> list[Any]:
    """Per input: the spans and last hidden states of its real (non-special) tokens."""
    import numpy as np

    hidden = loaded.model(**_padded(loaded, items)).last_hidden_state.float().cpu().numpy()
    rows = []
    for b, item in enumerate(items):
        assert isinstance(item, dict)
        spans = np.array(item["offsets"], dtype=np.int64).reshape(-1, 2)
        keep = spans[:, 1] > spans[:, 0]
        rows.append((spans[keep], hidden[b, : len(spans)][keep]))
    return rows


def _classify_forward(loaded: _Loaded, items: list[Encoded]) -> list[Any]:
    logits = loaded.model(**_padded(loaded, items)).logits.float()
    return list(logits.softmax(-1).cpu().numpy())


def _causal_forward(loaded: _Loaded, items: list[Encoded]) -> list[Any]:
    """Per-token log-probabilities of each continuation, and whether greedy decoding would produce it."""
    batch = _padded(loaded, items)
    logprobs = loaded.model(**batch).logits.float().log_softmax(-1)
    rows = []
    for b, item in enumerate(items):
        assert isinstance(item, dict)
        ids, start = item["input_ids"], item["start"][0]
        targets = batch["input_ids"][b, start : len(ids)]
        preds = logprobs[b, start - 1 : len(ids) - 1]
        picked = preds.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        rows.append((picked.cpu().numpy(), bool((preds.argmax(-1) == targets).all())))
    return rows
