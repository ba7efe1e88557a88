"""Guided decoding for `hf:`: an OutputFormat (JSON schema or regex) becomes a grammar mask on the logits.

Built on xgrammar (the grammar engine vLLM and SGLang use by default, so `hf:` and a vLLM server constrain
alike): the tokenizer is read once per backend, each format is compiled once, and every batch gets a fresh
mask with one grammar matcher per row. xgrammar is imported only when a constrained request is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.backends.base import OutputFormat
from llmeval.errors import BackendError, MissingDependency


class Constraints:
    """Compiles output formats for one tokenizer; `generate_kwargs` gives model.generate the mask for a batch."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: Sequence[int]) -> None:
        xgr = _xgrammar()
        stops = list(stop_ids) or None  # the ids model.generate stops on; none known: xgrammar reads the tokenizer's
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stops)
        self._compiler = xgr.GrammarCompiler(info)
        self._compiled: dict[OutputFormat, Any] = {}

    def generate_kwargs(self, fmt: OutputFormat | None, rows: int) -> dict[str, Any]:
        """`{"logits_processor": ...}` constraining each of the batch's `rows` to `fmt`; {} when there is no format."""
        if fmt is None:
            return {}
        from transformers import LogitsProcessorList

        return {"logits_processor": LogitsProcessorList([_grammar_mask(self.compiled(fmt), rows)])}

    def compiled(self, fmt: OutputFormat) -> Any:
        if fmt not in self._compiled:
            try:
                if fmt.kind == "regex":
                    grammar = self._compiler.compile_regex(fmt.value)
                else:  # compact JSON: free whitespace would let a weak model pad until max_new_tokens
                    grammar = self._compiler.compile_json_schema(fmt.value, any_whitespace=False)
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"cannot compile the output format ({fmt.kind}: {fmt.value[:200]}): {exc}") from None
            self._compiled[fmt] = grammar
        return self._compiled[fmt]


def _grammar_mask(compiled: Any, rows: int) -> Any:
    """A transformers LogitsProcessor: each row's matcher takes the row's last token, then masks the row's logits."""
    import torch
    from transformers import LogitsProcessor

    xgr = _xgrammar()

    class GrammarMask(LogitsProcessor):
        def __init__(self) -> None:
            self.matchers = [xgr.GrammarMatcher(compiled) for _ in range(rows)]
            self.bitmask = xgr.allocate_token_bitmask(rows, compiled.tokenizer_info.vocab_size)
            self.started = False

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            if input_ids.shape[0] != rows:
                raise RuntimeError(f"grammar mask built for {rows} rows got a batch of {input_ids.shape[0]}")
            last = input_ids[:, -1].tolist()
            for row, matcher in enumerate(self.matchers):
                # A finished row (its grammar ended, transformers now pads it) keeps its last mask.
                if matcher.is_terminated():
                    continue
                if self.started and not matcher.accept_token(last[row]):
                    raise RuntimeError(f"row {row} sampled token {last[row]}, which its output format forbids")
                if not matcher.is_terminated():
                    matcher.fill_next_token_bitmask(self.bitmask, row)
            self.started = True
            width = min(scores.shape[-1], compiled.tokenizer_info.vocab_size)
            xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device), vocab_size=width)
            return scores

    return GrammarMask()


def _xgrammar() -> Any:
    try:
        import xgrammar
    except ImportError:
        raise MissingDependency("xgrammar", "constrained decoding on hf: models (a judge's output format)", "guided") from None
    return xgrammar
