"""How `hf:` decodes: static batches (transformers' `generate`, or a greedy loop that drops finished rows)
and transformers' continuous batching. Every path returns, per request, the new token ids up to where it
finished (EOS, a stop string, or `max_new_tokens`), so texts and token counts agree across strategies.

Why three: `generate` keeps computing a row after it finished until the whole batch has; the pruning loop
forwards only unfinished rows (KV cache rows dropped as rows finish); continuous batching refills the
batch from a queue with a paged KV cache. Which wins depends on the device (bench/hf_speed_bench.py).
A batch carrying extra generate kwargs (a `logits_processor` for constrained decoding) always goes
through `generate`, so per-row processor state keeps the row order it expects.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmeval.backends.base import GenerationConfig, cut_at_stop, sample_seed

PRUNE_FRACTION = 4  # drop finished rows once a quarter of the batch has finished: each drop copies the KV cache


@dataclass
class Job:
    """One static batch: left-padded prompts sharing a config; `extra` goes to `model.generate` as is."""

    prompts: list[list[int]]
    config: GenerationConfig
    sample: int = 0
    max_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decoded:
    """New token ids per row (cut where the row finished) and whether `max_time` stopped unfinished rows."""

    rows: list[list[int]]
    cut: bool


def clean(text: str) -> str:
    """The completion as llmeval reports it before stop strings: a text the tokenizer began with a space
    is stripped (both ends, as before this module)."""
    return text.strip() if text.startswith(" ") else text


class Decoder:
    """The loaded model and tokenizer, and the decoding paths over them."""

    def __init__(self, model: Any, tokenizer: Any, device: str) -> None:
        self.model, self.tok, self.device = model, tokenizer, device
        eos = getattr(model.generation_config, "eos_token_id", None) or tokenizer.eos_token_id
        self.eos = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
        # as `generate` does: only the last position's logits (the same numbers, less memory)
        takes = "logits_to_keep" in inspect.signature(model.forward).parameters
        self._last_logits = {"logits_to_keep": 1} if takes else {}

    def text(self, row: Sequence[int]) -> str:
        return clean(self.tok.decode(list(row), skip_special_tokens=True))

    # -- static: transformers' generate --------------------------------------------------------
    def generate(self, job: Job) -> Decoded:
        """`model.generate` on the padded batch; stop strings end rows (the batch ends when all rows have)."""
        import torch

        ids, mask = self._padded(job.prompts)
        kwargs = self._generate_kwargs(job, ids.shape[1])
        with torch.inference_mode():
            out = self.model.generate(input_ids=ids, attention_mask=mask, **{**job.extra, **kwargs})
        new = out[:, ids.shape[1] :].tolist()
        stopped = _text_stop(self, job.config.stop, 0)
        rows = [self._finished_prefix(row, stopped) for row in new]
        unfinished = any(len(r) == len(n) and not self._ended(r, stopped) for r, n in zip(rows, new, strict=True))
        cut = job.max_time is not None and len(new[0]) < job.config.max_new_tokens and unfinished
        return Decoded(rows, cut)

    def _generate_kwargs(self, job: Job, width: int) -> dict[str, Any]:
        import torch
        from transformers import StoppingCriteriaList

        config = job.config
        kwargs: dict[str, Any] = {
            "max_new_tokens": config.max_new_tokens,
            "pad_token_id": self.tok.pad_token_id,
            "do_sample": not config.greedy,
        }
        if job.max_time is not None:
            kwargs["max_time"] = job.max_time  # transformers stops between decoding steps once it has run this long
        if config.greedy:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=config.temperature, top_p=config.top_p)
            torch.manual_seed(sample_seed(config, job.sample))
        stop = _text_stop(self, config.stop, width)
        if stop is not None:
            given = job.extra.get("stopping_criteria")
            kwargs["stopping_criteria"] = StoppingCriteriaList([*(given or []), stop])
        return kwargs

    # -- static: greedy loop that drops finished rows -------------------------------------------
    def pruned(self, job: Job) -> Decoded:
        """Greedy decoding that forwards only unfinished rows; the same tokens as `generate` (greedy)."""
        import torch

        ids, mask = self._padded(job.prompts)
        stop = _text_stop(self, job.config.stop, 0)
        eos = torch.tensor(self.eos or [-1], device=self.device)
        rows: list[list[int]] = [[] for _ in job.prompts]
        live = list(range(len(job.prompts)))  # batch position -> request row
        done = torch.zeros(len(live), dtype=torch.bool, device=self.device)
        started, cache, step_ids = time.perf_counter(), None, ids
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        with torch.inference_mode():
            for step in range(job.config.max_new_tokens):
                if step and job.max_time is not None and time.perf_counter() - started > job.max_time:
                    return Decoded(rows, True)
                out = self.model(
                    input_ids=step_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=cache,
                    use_cache=True,
                    **self._last_logits,
                )
                cache, token = out.past_key_values, out.logits[:, -1].argmax(-1)
                for pos, (t, finished) in enumerate(zip(token.tolist(), done.tolist(), strict=True)):
                    if not finished:
                        rows[live[pos]].append(t)
                done |= torch.isin(token, eos)
                if stop is not None:
                    done |= stop.rows([rows[r] for r in live], self.device)
                if bool(done.all()):
                    break
                if int(done.sum()) * PRUNE_FRACTION >= len(live):
                    keep = (~done).nonzero().squeeze(1)
                    cache.batch_select_indices(keep)
                    live = [live[k] for k in keep.tolist()]
                    token, mask, positions, done = token[keep], mask[keep], positions[keep], done[keep]
                step_ids = token.unsqueeze(1)
                mask = torch.cat([mask, mask.new_ones((len(live), 1))], dim=1)
                positions = positions[:, -1:] + 1
        return Decoded(rows, False)

    # -- helpers ------------------------------------------------------------------------------
    def _padded(self, prompts: list[list[int]]) -> tuple[Any, Any]:
        import torch

        width, pad = max(len(p) for p in prompts), self.tok.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        return ids, mask

    def _finished_prefix(self, row: list[int], stop: TextStop | None) -> list[int]:
        """The row up to where it finished: its first EOS (inclusive) or the token completing a stop string.

        Tokens after a stop string (padding from `generate`, or what continuous batching went on to
        generate) are not part of the completion, so counts agree across the decoding paths.
        """
        end = next((k + 1 for k, t in enumerate(row) if t in self.eos), len(row))
        if stop is not None:
            end = stop.first_end(row[:end])
        return row[:end]

    def _ended(self, row: list[int], stop: TextStop | None) -> bool:
        return bool(row) and (row[-1] in self.eos or (stop is not None and stop.hit(row)))


class TextStop:
    """Ends a row once its completion text, as reported, contains a stop string.

    Checked on decoded text rather than token strings so that a row stops exactly when `cut_at_stop`
    would cut its final text: the cut output is the same as decoding to the end and cutting after.
    """

    def __init__(self, decoder: Decoder, stop: tuple[str, ...], prompt_width: int) -> None:
        self.decoder, self.stop, self.width = decoder, stop, prompt_width

    def hit(self, row: Sequence[int]) -> bool:
        text = self.decoder.text(row)
        return cut_at_stop(text, self.stop) != text

    def first_end(self, row: list[int]) -> int:
        """The shortest prefix length whose text contains a stop string (len(row) when none does)."""
        if not self.hit(row):
            return len(row)
        low, high = 1, len(row)
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if self.hit(row[:mid]) else (mid + 1, high)
        return low

    def rows(self, rows: Sequence[Sequence[int]], device: str) -> Any:
        import torch

        return torch.tensor([self.hit(r) for r in rows], dtype=torch.bool, device=device)

    def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
        """transformers' StoppingCriteria protocol: one bool per row of the batch."""
        return self.rows(input_ids[:, self.width :].tolist(), str(input_ids.device))


def _text_stop(decoder: Decoder, stop: tuple[str, ...], width: int) -> TextStop | None:
    return TextStop(decoder, stop, width) if any(stop) else None


# -- continuous batching ---------------------------------------------------------------------------
OnRow = Callable[[int, list[int]], None]


def continuous(
    decoder: Decoder,
    prompts: Sequence[list[int]],
    configs: Sequence[GenerationConfig],
    *,
    seconds: float | None,
    on_row: OnRow,
    token_budget: int,
) -> list[int]:
    """Greedy continuous batching over all prompts (transformers' paged-attention manager).

    Calls on_row(index, new ids cut where the row finished) as rows finish; returns the indexes not
    finished within `seconds` (None: no bound) or lost by the manager. Stop strings are applied to
    finished rows (the manager has no hook for them), so rows with a stop string decode to the end.
    """
    import torch
    from transformers import GenerationConfig as HFConfig

    max_new = [c.max_new_tokens for c in configs]
    stops = [_text_stop(decoder, c.stop, 0) for c in configs]

    gen = HFConfig(  # type: ignore[no-untyped-call]
        do_sample=False, max_new_tokens=max(max_new), eos_token_id=decoder.eos or -1, pad_token_id=decoder.tok.pad_token_id
    )
    manager = decoder.model.init_continuous_batching(
        generation_config=gen, continuous_batching_config=_cb_config(decoder, prompts, max_new, token_budget)
    )
    pending = set(range(len(prompts)))
    ends = time.monotonic() + seconds if seconds is not None else None
    manager.start()
    try:
        with torch.inference_mode():
            for i, (p, n) in enumerate(zip(prompts, max_new, strict=True)):
                manager.add_request(list(p), request_id=str(i), max_new_tokens=n)
            _collect(manager, pending, ends, lambda i, ids: on_row(i, decoder._finished_prefix(ids, stops[i])))
    finally:
        manager.stop(block=True, timeout=30, hard_stop=bool(pending))
        manager.destroy()
    return sorted(pending)


def _collect(manager: Any, pending: set[int], ends: float | None, on_row: OnRow) -> None:
    while pending:
        wait = 1.0 if ends is None else min(1.0, ends - time.monotonic())
        if wait <= 0:
            return
        result = manager.get_result(timeout=wait)
        if result is None:
            if not manager.is_running():
                return
            continue
        index = int(result.request_id)
        if result.is_finished() and index in pending and result.error is None:
            pending.discard(index)
            on_row(index, list(result.generated_tokens))


def _cb_config(decoder: Decoder, prompts: Sequence[list[int]], max_new: Sequence[int], budget: int) -> Any:
    """On CUDA transformers sizes the paged cache from free memory; on CPU it would size it from RAM
    (measured: ~30 s for 40 short prompts), so give it a cache for one budget's worth of rows."""
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    if decoder.device.startswith("cuda"):
        return ContinuousBatchingConfig()
    page = 64
    longest = max(len(p) + n for p, n in zip(prompts, max_new, strict=True))
    rows = max(1, min(len(prompts), 64, budget // longest))
    blocks = rows * -(-longest // page) + 1
    return ContinuousBatchingConfig(
        page_size=page,
        num_blocks=blocks,
        max_batch_tokens=min(budget, 2048),
        max_requests_per_batch=rows,
        use_async_batching=False,
    )
