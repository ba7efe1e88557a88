"""`hf:<local path or hub id>` — a transformers causal LM, batched generation with left padding.

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

from llmeval.backends.base import Generation, GenerationConfig, OnResult, Request, cut_at_stop, sample_seed
from llmeval.backends.limits import Limits
from llmeval.errors import BackendError

CPU_TOKEN_BUDGET = 32 * 1024
CUDA_TOKEN_BUDGET = 512 * 1024
MAX_AUTO_BATCH = 64
FULL_HASH_LIMIT = 256 * 1024 * 1024


class HFBackend:
    """A transformers causal LM. Loads lazily: a fully cached run never imports torch."""

    sees_vars = False

    def __init__(
        self,
        target: str,
        *,
        root: Path,
        batch_size: int | str = "auto",
        device: str | None = None,
        threads: int | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> None:
        self.spec = f"hf:{target}"
        self.path = _locate(target, root, self.spec)
        self.label = model_label(self.path, target)
        self.batch_size = batch_size
        self.device_name = device
        self.threads = threads
        self.defaults = Limits(timeout)  # no timeout by default: a batch's time is bounded by max_new_tokens
        self._identity: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    # -- identity -----------------------------------------------------------------------------
    def identity(self) -> str:
        """Hash of config, tokenizer and weight files: two different models at one path never share a key."""
        if self._identity is None:
            self._identity = f"hf|{weights_digest(self.path)}"
        return self._identity

    # -- generation ---------------------------------------------------------------------------
    def secrets(self) -> list[str]:
        return []

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        self.load()
        bounds = (limits or Limits()).over(self.defaults)
        encoded = encode_requests(self._tokenizer, requests)
        order = sorted(range(len(requests)), key=lambda i: -len(encoded[i]))
        for batch in self._batches(order, encoded, requests):
            if bounds.deadline is not None and bounds.deadline.reached():
                for i in batch:
                    on_result(i, Generation("", error=bounds.deadline.not_started))
                continue
            self._run_batch(batch, encoded, requests, on_result, bounds)

    def close(self) -> None:
        self._model = None
        self._tokenizer = None

    def load(self) -> None:
        """Import torch and load the weights (idempotent); the plan times it apart from generation."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)  # process-wide: pins CPU work, steadier on shared runners
        device = self.device_name or ("cuda" if torch.cuda.is_available() else "cpu")
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

    def _encode(self, request: Request) -> list[int]:
        return encode_request(self._tokenizer, request)

    def _batches(self, order: list[int], encoded: list[list[int]], requests: Sequence[Request]) -> Iterator[list[int]]:
        """Consecutive (length-sorted) requests while (batch size x longest prompt + new tokens) fits the budget."""
        fixed = self.batch_size if isinstance(self.batch_size, int) else None
        budget = CUDA_TOKEN_BUDGET if self.device.startswith("cuda") else CPU_TOKEN_BUDGET
        batch: list[int] = []
        width = 0
        for index in order:
            need = len(encoded[index]) + requests[index].config.max_new_tokens
            same_config = not batch or requests[batch[0]].config == requests[index].config
            grown = max(width, need) * (len(batch) + 1)
            full = len(batch) >= fixed if fixed else (grown > budget or len(batch) >= MAX_AUTO_BATCH)
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
            texts, counts, cut = self._generate_ids([encoded[i] for i in batch], first.config, first.sample, bound)
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
        if cut:
            for i in batch:
                on_result(i, Generation("", latency_s=elapsed, error=_cut_message(limits, len(batch))))
            return
        latency = elapsed / len(batch)
        for i, text, count in zip(batch, texts, counts, strict=True):
            on_result(i, Generation(cut_at_stop(text, requests[i].config.stop), len(encoded[i]), count, latency))

    def _generate_ids(
        self, prompts: list[list[int]], config: GenerationConfig, sample: int, max_time: float | None = None
    ) -> tuple[list[str], list[int], bool]:
        """Texts and completion token counts, and whether max_time stopped the batch before it finished."""
        import torch

        tok, model = self._tokenizer, self._model
        width = max(len(p) for p in prompts)
        pad = tok.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "pad_token_id": pad, "do_sample": not config.greedy}
        if max_time is not None:
            kwargs["max_time"] = max_time  # transformers stops between decoding steps once it has run this long
        if config.greedy:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=config.temperature, top_p=config.top_p)
            torch.manual_seed(sample_seed(config, sample))
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
        new = out[:, width:]
        eos = set(_eos_ids(model, tok))
        counts = []
        for row in new.tolist():
            n = next((k + 1 for k, t in enumerate(row) if t in eos), len(row))
            counts.append(n)
        unfinished = any(not eos.intersection(row) for row in new.tolist())
        cut = max_time is not None and new.shape[1] < config.max_new_tokens and unfinished
        texts = tok.batch_decode(new, skip_special_tokens=True)
        return [clean_text(t) for t in texts], counts, cut


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


def clean_text(text: str) -> str:
    """A decoded completion as hf: reports it: one that starts with a space (the usual "A: answer") is stripped."""
    return text.strip() if text.startswith(" ") else text


def _cut_message(limits: Limits, size: int) -> str:
    """The error of a batch stopped by its timeout or by the run deadline."""
    if limits.deadline is not None and limits.deadline.reached():
        return limits.deadline.stopped
    return f"generation timed out after {limits.timeout:g} s (a batch of {size} request{'s' if size > 1 else ''})"


def _eos_ids(model: Any, tok: Any) -> list[int]:
    eos = getattr(model.generation_config, "eos_token_id", None) or tok.eos_token_id
    return list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []


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

    hf_logging.disable_progress_bar()
