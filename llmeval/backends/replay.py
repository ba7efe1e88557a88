"""`replay:<results file>[#<model label>]` — serve the outputs a previous run recorded, to re-score them.

Change scorers, thresholds or gates and re-run without the model (or a GPU): each request is
answered with the output recorded for the same prompt and sample index. A recording made with PII
redaction (a manifest with `redact_pii: true`) is refused: its masked values are gone, so PII and
leak scorers would pass on missing evidence. `replay-redacted:` accepts one, for suites that score
nothing redaction hides; the spec (and so the manifest's model identity) says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmeval.backends.base import Backend, Generation, OnResult, Request
from llmeval.backends.limits import Limits
from llmeval.errors import BackendError, LlmevalError

if TYPE_CHECKING:
    from llmeval.records import CaseRecord


class ReplayBackend(Backend):
    """The outputs a previous run recorded (a results file), matched by prompt and sample; PII-redacted recordings refused."""

    accept_redacted = False

    def __init__(self, target: str, *, root: Path, accept_redacted: bool | None = None) -> None:
        accept_redacted = self.accept_redacted if accept_redacted is None else accept_redacted
        self.spec = f"{'replay-redacted' if accept_redacted else 'replay'}:{target}"
        file, _sep, model = target.partition("#")
        path = Path(file).expanduser()
        self.path = path if path.is_absolute() else root / path
        if not self.path.is_file():
            raise BackendError(f"model spec '{self.spec}': no results file at {self.path} (write one with --llmeval-results)")
        if not accept_redacted:
            self._refuse_redacted(file, target)
        self._outputs = self._read(model or None)
        recorded = {r.model_label for r in self._outputs.values()}
        self.label = model or (recorded.pop() if len(recorded) == 1 else f"replay-{self.path.stem}")

    def _read(self, model: str | None) -> dict[tuple[str, int], CaseRecord]:
        from llmeval.records import read_results

        try:
            records = [r for r in read_results(self.path).cases if r.status != "error"]
        except LlmevalError as exc:
            raise BackendError(f"model spec '{self.spec}': {exc}") from None
        labels = sorted({r.model_label for r in records})
        if model is None and len(labels) > 1:
            raise BackendError(
                f"model spec '{self.spec}': {self.path} holds several models ({', '.join(labels)}); "
                f"pick one with replay:{self.path}#<model label>"
            )
        if model is not None:
            records = [r for r in records if model in (r.model_label, r.model)]
            if not records:
                raise BackendError(
                    f"model spec '{self.spec}': no outputs of model '{model}' in {self.path}; it has {', '.join(labels)}"
                )
        return {(r.prompt, r.sample): r for r in records}

    def _refuse_redacted(self, file: str, target: str) -> None:
        """A recording whose outputs had PII masked is no evidence for PII or leak gates: refuse it, naming the fix."""
        if not _recorded_with_pii_redaction(self.path):
            return
        raise BackendError(
            f"model spec '{self.spec}': {file} was recorded with PII redaction (its manifest says redact_pii: true): "
            "the masked values are gone from its outputs, so PII and leak scorers would pass on missing evidence. "
            "Fix: record it again without --llmeval-redact-pii (llmeval run: --redact-pii) and keep that file private; "
            f"or, if these suites score nothing redaction hides (no pii, no_leak or leak probes), use replay-redacted:{target}"
        )

    def identity(self) -> str:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        return f"replay|{self.spec}|{digest}"

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        """Answer from the recorded outputs: instant, so only the plan's deadline check applies."""
        for index, request in enumerate(requests):
            record = self._outputs.get((request.text(), request.sample))
            if record is None:
                on_result(
                    index, Generation("", error=f"no recorded output for this prompt (sample {request.sample}) in {self.path}")
                )
                continue
            tokens = record.tokens
            on_result(
                index,
                Generation(
                    record.output, int(tokens.get("prompt", 0)), int(tokens.get("completion", 0)), float(record.latency_s)
                ),
            )


class RedactedReplayBackend(ReplayBackend):
    """As replay:, accepting a recording made with PII redaction: only for suites that score nothing it hides."""

    accept_redacted = True


def _recorded_with_pii_redaction(path: Path) -> bool:
    """Whether any run recorded in the file (appended runs each write a manifest) masked PII.

    Only lines that mention "manifest" are parsed: a cheap pass over a file that may hold many outputs.
    """
    import json

    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if '"manifest"' not in line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the full read names a broken line with its number
            if isinstance(row, dict) and row.get("kind") == "manifest" and (row.get("settings") or {}).get("redact_pii"):
                return True
    return False
