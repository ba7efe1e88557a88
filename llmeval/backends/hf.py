"""`hf:<local path or hub id>` — a transformers causal LM, batched generation with left padding.

Decoding (`batching`, llmeval/backends/hf_decode.py): static batches, grouped by config then prompt
length, through `model.generate` (`static`) or a greedy loop that drops finished rows (`pruned`), or
transformers' continuous batching (`continuous`); `auto` picks per device from bench/hf_speed_bench.py.
Greedy outputs are the same whichever runs; stop strings end a row's decoding as soon as its text has one.

Time bounds: generation runs in batches, so `timeout` bounds the wall time of one batch (transformers'
`max_time`, checked between decoding steps); the requests of a batch that runs past it become errors.
The run deadline is checked before each batch and between decoding steps. `retries` does not apply:
a local model fails the same way again (CUDA OOM is retried by halving the batch instead).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmeval.backends.base import Backend, Generation, GenerationConfig, OnResult, Request, cut_at_stop
from llmeval.backends.hf_decode import Decoded, Decoder, Job, continuous
from llmeval.backends.limits import Limits
from llmeval.config import BATCHING_MODES
from llmeval.engine.threads import use_torch_threads
from llmeval.errors import BackendError

CPU_TOKEN_BUDGET = 32 * 1024
CUDA_TOKEN_BUDGET = 512 * 1024
MAX_AUTO_BATCH = 64
CPU_PAD_RATIO = 2
FULL_HASH_LIMIT = 256 * 1024 * 1024
# `batching: auto` per device, from bench/hf_speed_bench.py (bench/RESULTS.md, "hf: decoding strategies")
AUTO_BATCHING = {"cpu": "pruned", "cuda": "static"}


class HFBackend(Backend):
    """A transformers causal LM (local folder or hub id in the HF cache). Loads lazily: a fully cached run never imports torch."""

    options = {
        "batch_size": "requests per batch (default auto: batches fill a token budget, halved on out-of-memory)",
        "threads": "torch CPU threads (default: the cores other processes leave free)",
        "timeout": "seconds one batch may take (default: none; max_new_tokens bounds it)",
        "batching": "decoding: auto (default), static, pruned (drop finished rows), continuous",
    }
    distributable = True  # rebuilt from (spec, options) in a Ray actor under --llmeval-engine ray
    pad_ratio: int | None = CPU_PAD_RATIO  # None: batches close on the token budget only (as before)

    def __init__(
        self,
        target: str,
        *,
        root: Path,
        batch_size: int | str = "auto",
        device: str | None = None,
        threads: int | None = None,
        timeout: float | None = None,
        batching: str = "auto",
    ) -> None:
        if batching not in BATCHING_MODES:
            raise BackendError(f"hf: batching must be one of {', '.join(BATCHING_MODES)}, got {batching!r}")
        self.spec = f"hf:{target}"
        self.path = _locate(target, root, self.spec)
        self.label = model_label(self.path, target)
        self.batch_size = batch_size
        self.device_name = device
        self.threads = threads
        self.batching = batching
        self.defaults = Limits(timeout)  # no timeout by default: a batch's time is bounded by max_new_tokens
        self._identity: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._constraints: Any = None  # llmeval.backends.constrain.Constraints, built on the first constrained batch
        self._decoder: Any = None

    # -- identity -----------------------------------------------------------------------------
    def identity(self) -> str:
        """Hash of config, tokenizer and weight files: two different models at one path never share a key."""
        if self._identity is None:
            self._identity = f"hf|{weights_digest(self.path)}"
        return self._identity

    # -- generation ---------------------------------------------------------------------------
    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        self.load()
        bounds = (limits or Limits()).over(self.defaults)
        encoded = encode_requests(self._tokenizer, requests)
        rest = list(range(len(requests)))
        if self._batching() == "continuous":
            rest = self._run_continuous(rest, encoded, requests, on_result, bounds)
        for batch in self._batches(self._order(rest, encoded, requests), encoded, requests):
            if bounds.deadline is not None and bounds.deadline.reached():
                for i in batch:
                    on_result(i, Generation("", error=bounds.deadline.not_started))
                continue
            self._run_batch(batch, encoded, requests, on_result, bounds)

    def close(self) -> None:
        self._model = None
        self._tokenizer = None
        self._constraints = None
        self._decoder = None

    def load(self) -> None:
        """Import torch and load the weights (idempotent); the plan times it apart from generation."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device_name or ("cuda" if torch.cuda.is_available() else "cpu")
        use_torch_threads(self.threads, device)  # process-wide; the scoring pool makes the same choice
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        try:
            quiet_loading()
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load model '{self.spec}' from {self.path}: {exc}") from None
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = model.to(device)  # type: ignore[arg-type]
        self._tokenizer, self._model, self.device = tokenizer, model.eval(), device
        self._decoder = Decoder(self._model, tokenizer, device)

    def _encode(self, request: Request) -> list[int]:
        return encode_request(self._tokenizer, request)

    def _batches(self, order: list[int], encoded: list[list[int]], requests: Sequence[Request]) -> Iterator[list[int]]:
        """Consecutive (length-sorted) requests while (batch size x longest prompt + new tokens) fits the budget.

        On CPU a batch also closes before a prompt CPU_PAD_RATIO times shorter than its longest: padding
        costs prefill compute there, and small batches are about as fast per token.
        """
        fixed = self.batch_size if isinstance(self.batch_size, int) else None
        budget = CUDA_TOKEN_BUDGET if self.device.startswith("cuda") else CPU_TOKEN_BUDGET
        batch: list[int] = []
        width = 0
        for index in order:
            need = len(encoded[index]) + requests[index].config.max_new_tokens
            same_config = not batch or requests[batch[0]].config == requests[index].config
            grown = max(width, need) * (len(batch) + 1)
            full = len(batch) >= fixed if fixed else (grown > budget or len(batch) >= MAX_AUTO_BATCH)
            full = full or (
                not fixed
                and budget == CPU_TOKEN_BUDGET
                and bool(batch)
                and self.pad_ratio is not None
                and len(encoded[index]) * self.pad_ratio < len(encoded[batch[0]])
            )
            if batch and (full or not same_config):
                yield batch
                batch, width = [], 0
            batch.append(index)
            width = max(width, need)
        if batch:
            yield batch

    def _run_batch(
        self, batch: list[int], encoded: list[list[int]], requests: Sequence[Request], on_result: OnResult, limits: Limits
    ) -> None:
        import torch

        bound = limits.attempt_timeout()
        try:
            start = time.perf_counter()
            first = requests[batch[0]]
            job = Job([encoded[i] for i in batch], first.config, first.sample, bound, self.generate_kwargs(first, len(batch)))
            decoded = self._decode(job)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(batch) == 1:
                on_result(batch[0], Generation("", error="CUDA out of memory even at batch size 1"))
                return
            half = len(batch) // 2
            self._run_batch(batch[:half], encoded, requests, on_result, limits)
            self._run_batch(batch[half:], encoded, requests, on_result, limits)
            return
        except RuntimeError as exc:
            for i in batch:
                on_result(i, Generation("", error=f"generation failed: {exc}"))
            return
        elapsed = time.perf_counter() - start
        if decoded.cut:
            for i in batch:
                on_result(i, Generation("", latency_s=elapsed, error=_cut_message(limits, len(batch))))
            return
        latency = elapsed / len(batch)
        for i, row in zip(batch, decoded.rows, strict=True):
            on_result(i, self._generation(requests[i], encoded[i], row, latency))

    # -- decoding strategies (llmeval/backends/hf_decode.py) --------------------------------------
    def generate_kwargs(self, request: Request, rows: int = 1) -> dict[str, Any]:
        """Extra `model.generate` kwargs for a batch of `rows` like `request`: the output format's grammar mask.

        Requests in one batch share their config (the output format is part of it), so the first request's
        kwargs serve the batch; a batch with extra kwargs always decodes through `model.generate`.
        """
        fmt = request.config.output_format
        if fmt is None:
            return {}
        if self._constraints is None:
            from llmeval.backends.constrain import Constraints

            vocab = self._model.get_output_embeddings().weight.shape[0]
            self._constraints = Constraints(self._tokenizer, vocab, self._decoder.eos)
        kwargs: dict[str, Any] = self._constraints.generate_kwargs(fmt, rows)
        return kwargs

    def _order(self, indexes: list[int], encoded: list[list[int]], requests: Sequence[Request]) -> list[int]:
        return _static_order(indexes, encoded, requests)

    def _batching(self) -> str:
        """The decoding strategy: the `batching` option, `auto` resolved per device (see bench/RESULTS.md)."""
        if self.batching != "auto":
            return self.batching
        return AUTO_BATCHING["cuda" if self.device.startswith("cuda") else "cpu"]

    def _decode(self, job: Job) -> Decoded:
        prunable = job.config.greedy and not job.extra and self._batching() in ("pruned", "continuous")
        decoded: Decoded = self._decoder.pruned(job) if prunable else self._decoder.generate(job)
        return decoded

    def _generation(self, request: Request, prompt: list[int], row: list[int], latency: float) -> Generation:
        text = cut_at_stop(self._decoder.text(row), request.config.stop)
        return Generation(text, len(prompt), len(row), latency)

    def _run_continuous(
        self, indexes: list[int], encoded: list[list[int]], requests: Sequence[Request], on_result: OnResult, limits: Limits
    ) -> list[int]:
        """Greedy requests without extra generate kwargs through continuous batching; returns the others.

        A per-batch `timeout` has no batch to bound here, so with a timeout set everything stays static.
        """
        chosen = [
            i
            for i in indexes
            if requests[i].config.greedy and requests[i].config.output_format is None and not self.generate_kwargs(requests[i])
        ]
        if not chosen or limits.timeout is not None or (limits.deadline is not None and limits.deadline.reached()):
            return indexes
        started, finished = time.perf_counter(), [0]

        def done(k: int, row: list[int]) -> None:
            finished[0] += 1
            latency = (time.perf_counter() - started) / finished[0]
            on_result(chosen[k], self._generation(requests[chosen[k]], encoded[chosen[k]], row, latency))

        budget = CUDA_TOKEN_BUDGET if self.device.startswith("cuda") else CPU_TOKEN_BUDGET
        seconds = limits.deadline.remaining() if limits.deadline is not None else None
        left = continuous(
            self._decoder,
            [encoded[i] for i in chosen],
            [requests[i].config for i in chosen],
            seconds=seconds,
            on_row=done,
            token_budget=budget,
        )
        if limits.deadline is not None and limits.deadline.reached():
            for k in left:
                on_result(chosen[k], Generation("", error=limits.deadline.stopped))
            left = []
        taken = set(chosen)
        return [i for i in indexes if i not in taken] + [chosen[k] for k in left]


def encode_request(tok: Any, request: Request) -> list[int]:
    """Prompt token ids as hf: encodes them: the prompt without special tokens, or messages through the chat template."""
    if request.messages is None:
        return list(tok(request.prompt, add_special_tokens=False)["input_ids"])
    messages = [{"role": r, "content": c} for r, c in request.messages]
    if getattr(tok, "chat_template", None):
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        return list(ids["input_ids"] if isinstance(ids, dict) else ids)
    text = "\n".join(f"{r}: {c}" for r, c in request.messages) + "\nassistant:"
    return list(tok(text, add_special_tokens=False)["input_ids"])


def encode_requests(tok: Any, requests: Sequence[Request]) -> list[list[int]]:
    """`encode_request` for many: the plain prompts in one tokenizer call (one call per prompt costs more)."""
    plain = [i for i, r in enumerate(requests) if r.messages is None]
    ids = tok([requests[i].prompt for i in plain], add_special_tokens=False)["input_ids"] if plain else []
    found = dict(zip(plain, ids, strict=True))
    return [list(found[i]) if i in found else encode_request(tok, r) for i, r in enumerate(requests)]


def _static_order(indexes: list[int], encoded: list[list[int]], requests: Sequence[Request]) -> list[int]:
    """Requests grouped by config (a batch shares one), longest prompt first within a group.

    Sorting by length alone interleaved configs, and each change of config closed a batch: with four
    `max_new_tokens` values mixed, batches of 1-3 rows and ~8x the time (bench/RESULTS.md).
    """
    group: dict[GenerationConfig, int] = {}
    for i in indexes:
        group.setdefault(requests[i].config, len(group))
    return sorted(indexes, key=lambda i: (group[requests[i].config], -len(encoded[i])))


def _cut_message(limits: Limits, size: int) -> str:
    """The error of a batch stopped by its timeout or by the run deadline."""
    if limits.deadline is not None and limits.deadline.reached():
        return limits.deadline.stopped
    return f"generation timed out after {limits.timeout:g} s (a batch of {size} request{'s' if size > 1 else ''})"


def _locate(target: str, root: Path, spec: str) -> Path:
    candidate = Path(target).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    if candidate.exists():
        if not (candidate / "config.json").is_file():
            raise BackendError(
                f"model spec '{spec}': {candidate} exists but has no config.json (not a transformers model folder)"
            )
        return candidate
    if target.count("/") == 1 and not target.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(target, local_files_only=True))
        except Exception:
            pass
    cache = os.environ.get("HF_HUB_CACHE") or os.path.join(os.environ.get("HF_HOME", "~/.cache/huggingface"), "hub")
    raise BackendError(
        f"cannot find model '{spec}': tried the local path {candidate} and the Hugging Face cache {cache} "
        f"(llmeval never downloads at run time: fetch it once with `hf download {target}` or give a local path)"
    )


def model_label(path: Path, target: str) -> str:
    """A short name for a model: its folder, or the repo name of a hub snapshot."""
    return path.name if not _is_snapshot(path) else target.rsplit("/", 1)[-1]


def weights_digest(path: Path) -> str:
    """What identifies a model's files: a hub snapshot's revision, else a fingerprint of the folder."""
    return f"revision:{path.name}" if _is_snapshot(path) else _fingerprint_dir(path)


def _is_snapshot(path: Path) -> bool:
    return path.parent.name == "snapshots" and len(path.name) == 40


def _fingerprint_dir(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(_file_digest(file))
    return digest.hexdigest()[:32]


def _file_digest(file: Path) -> bytes:
    """Whole-file sha256 up to 256 MiB; beyond, size plus 16 sampled 1 MiB blocks (fast on multi-GB weights)."""
    size = file.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with file.open("rb") as fh:
        if size <= FULL_HASH_LIMIT:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        else:
            for k in range(16):
                fh.seek(size * k // 16)
                digest.update(fh.read(1 << 20))
    return digest.digest()


def quiet_loading() -> None:
    """Where a model loads (never at import): no hub traffic, no per-file progress bars on the user's terminal."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
