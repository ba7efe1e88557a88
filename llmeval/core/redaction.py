"""Phase 3: the run's one redaction point, applied to every record before anything writes or shows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.records import CaseRecord, GateRecord

Key = tuple[str, str, str]


class RunRedactor:
    """Masks secrets always and PII when asked, in every text field of every record of the run."""

    def __init__(self, *, pii: bool, secrets: Sequence[str]) -> None:
        self.pii = pii
        self.secrets = [s for s in secrets if s]

    @property
    def active(self) -> bool:
        return self.pii or bool(self.secrets)

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from llmeval.reporting.redact import redact_row

        if self.pii:
            rows = [redact_row(r) for r in rows]
        return [_mask(r, self.secrets) for r in rows] if self.secrets else rows

    def text(self, text: str) -> str:
        return self.rows([{"message": text}])[0]["message"]


def redact_case_records(
    records: dict[Key, list[CaseRecord]], *, pii: bool, secrets: Sequence[str]
) -> dict[Key, list[CaseRecord]]:
    redactor = RunRedactor(pii=pii, secrets=secrets)
    if not redactor.active:
        return records
    flat = [(key, r) for key, rs in records.items() for r in rs]
    cleaned = redactor.rows([r.to_json() for _, r in flat])
    out: dict[Key, list[CaseRecord]] = {}
    for (key, _), data in zip(flat, cleaned, strict=True):
        out.setdefault(key, []).append(CaseRecord.from_json(data))
    return out


def redact_gate_records(gates: list[GateRecord], *, pii: bool, secrets: Sequence[str]) -> list[GateRecord]:
    redactor = RunRedactor(pii=pii, secrets=secrets)
    if not redactor.active:
        return gates
    return [GateRecord.from_json(d) for d in redactor.rows([g.to_json() for g in gates])]


def _mask(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "<SECRET>")
        return value
    if isinstance(value, dict):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    return value
