"""The one redaction point of a run: secrets always, PII under --llmeval-redact-pii, in every string of every record.

Guarantees (for `Redactor.redact_records`):
- every string anywhere in the records is redacted, dict keys included (keys: known values only, no detection);
- detection runs on full texts (long ones in overlapping chunks), in one batched engine pass over the run;
- a value detected in any field is masked in every field of the run (a name found in the prompt is masked in the
  output too), as written, reformatted (numbers, any separators) or cut off by an ellipsis or the end of a string;
- secrets (API keys) are masked whole and as any run of 8 of their characters (keys of 16+ characters).
Strings under ID_KEYS (ids joined across runs) are not sent to the detector but still masked against the values
found elsewhere; strings under STRUCTURAL_KEYS (enumerations) only have secrets masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from llmeval.pii.values import KnownValues, secret_pattern

ID_KEYS = frozenset({"suite", "case", "model", "model_label", "path", "gate", "metric", "file"})
STRUCTURAL_KEYS = frozenset({"kind", "status", "stat", "token_source", "run_id"})
CHUNK_CHARS = 10_000  # detection window for long texts; values straddling a cut are caught by the overlap
CHUNK_OVERLAP = 300
SECRET_LABEL = "<SECRET>"


class Redactor:
    """Masks secrets and (when `pii`) detected PII; built once per run, it remembers every value it has found."""

    def __init__(self, pii: bool, secrets: Sequence[str] = (), *, spacy_model: str | None = None) -> None:
        self.pii = pii
        self.spacy_model = spacy_model
        self._secret_list = list(dict.fromkeys(s for s in secrets if s))
        self._secrets = secret_pattern(self._secret_list)
        self._known = KnownValues()
        self._found: list[tuple[str, str]] = []  # (type, value), each once, in the order found: for other processes
        self._found_set: set[tuple[str, str]] = set()
        self._analysed: set[str] = set()

    @property
    def active(self) -> bool:
        """Whether this redactor changes anything (PII on, or secrets to mask)."""
        return self.pii or self._secrets is not None

    def redact_records(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Redacted copies of JSON-like records, after one detection pass over all their texts."""
        if not self.active:
            return [dict(r) for r in records]
        self._learn([text for record in records for text in _detectable(record)])
        return [self._redact_value(record, None) for record in records]

    def redact_text(self, text: str) -> str:
        """One message (a terminal line): masked with the run's known values plus what a fresh pass finds in it."""
        if not self.active:
            return text
        self._learn([text])
        return self._redact_string(text)

    @property
    def secrets(self) -> list[str]:
        return list(self._secret_list)

    def found_since(self, start: int = 0) -> list[tuple[str, str]]:
        """The (entity type, value) pairs detected after the first `start` (what an xdist worker sends its controller)."""
        return self._found[start:]

    def learn(self, values: Iterable[Sequence[str]] = (), secrets: Iterable[str] = ()) -> None:
        """Values and secrets found by another process of the run join this redactor's (no detection here)."""
        for entity_type, value in values:
            self._remember(entity_type, value)
        fresh = [s for s in secrets if s and s not in self._secret_list]
        if fresh:
            self._secret_list += fresh
            self._secrets = secret_pattern(self._secret_list)

    def mask_records(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of the records masked with the values known now, without a detection pass."""
        return [self._redact_value(record, None) for record in records] if self.active else [dict(r) for r in records]

    def mask_text(self, text: str) -> str:
        """One text masked with the values known now, without a detection pass."""
        return self._redact_string(text) if self.active else text

    def _remember(self, entity_type: str, value: str) -> None:
        if (entity_type, value) not in self._found_set:
            self._known.add(entity_type, value)
            self._found.append((entity_type, value))
            self._found_set.add((entity_type, value))

    def _learn(self, texts: Sequence[str]) -> None:
        """Detect PII in the texts not analysed yet (one engine call) and remember the values found."""
        if not self.pii:
            return
        fresh = [t for t in dict.fromkeys(self._mask_secrets(t) for t in texts) if t.strip() and t not in self._analysed]
        if not fresh:
            return
        from llmeval.pii import DEFAULT_ENTITIES, analyze

        chunks = [chunk for text in fresh for chunk in _chunks(text)]
        for found in analyze(chunks, entities=DEFAULT_ENTITIES, spacy_model=self.spacy_model):
            for entity in found:
                self._remember(entity.type, entity.text)
        self._analysed.update(fresh)

    def _mask_secrets(self, text: str) -> str:
        return self._secrets.sub(SECRET_LABEL, text) if self._secrets is not None else text

    def _redact_string(self, text: str) -> str:
        text = self._mask_secrets(text)
        return self._known.mask(text) if self.pii else text

    def _redact_value(self, value: Any, key: str | None) -> Any:
        if isinstance(value, str):
            return self._mask_secrets(value) if key in STRUCTURAL_KEYS else self._redact_string(value)
        if isinstance(value, dict):
            return self._redact_dict(value)
        if isinstance(value, list | tuple):
            return [self._redact_value(v, key) for v in value]
        return value

    def _redact_dict(self, mapping: dict[Any, Any]) -> dict[Any, Any]:
        """Values redacted by their key's rule; string keys masked too, kept distinct if two mask alike."""
        out: dict[Any, Any] = {}
        for key, value in mapping.items():
            new_key = self._redact_string(key) if isinstance(key, str) else key
            while new_key in out:
                new_key = f"{new_key}'"
            out[new_key] = self._redact_value(value, key if isinstance(key, str) else None)
        return out


def _detectable(value: Any, key: str | None = None) -> Iterator[str]:
    """The strings of a record the detector reads: all but dict keys, ids and enumerations."""
    if key in ID_KEYS or key in STRUCTURAL_KEYS:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _detectable(v, k if isinstance(k, str) else None)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _detectable(v, key)


def _chunks(text: str) -> Iterator[str]:
    """A long text as overlapping windows cut at whitespace, so no detector input exceeds CHUNK_CHARS."""
    start = 0
    while len(text) - start > CHUNK_CHARS:
        cut = text.rfind(" ", start + CHUNK_CHARS // 2, start + CHUNK_CHARS)
        end = cut if cut > 0 else start + CHUNK_CHARS
        yield text[start:end]
        start = max(end - CHUNK_OVERLAP, start + 1)
    yield text[start:]


def redact_row(row: dict[str, Any]) -> dict[str, Any]:
    """One record redacted for PII on its own (prefer one `Redactor` per run: values found in one record then
    mask all the others)."""
    return Redactor(pii=True).redact_records([row])[0]


def redact_text(text: str) -> str:
    """One message redacted for PII on its own (prefer `Redactor.redact_text` of the run's redactor)."""
    return Redactor(pii=True).redact_text(text)
