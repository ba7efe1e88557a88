"""Phase 3: the run's one redaction point, applied to every record before anything writes or shows it."""

from __future__ import annotations

from typing import Any

from llmeval.records import CaseRecord, GateRecord
from llmeval.reporting.redact import Redactor

Key = tuple[str, str, str]


def redact_case_records(redactor: Redactor, records: dict[Key, list[CaseRecord]]) -> dict[Key, list[CaseRecord]]:
    """Every case record's JSON form through the run's redactor (one detection pass), rebuilt as records."""
    if not redactor.active:
        return records
    flat = [(key, r) for key, rs in records.items() for r in rs]
    cleaned = redactor.redact_records([r.to_json() for _, r in flat])
    out: dict[Key, list[CaseRecord]] = {}
    for (key, _), data in zip(flat, cleaned, strict=True):
        out.setdefault(key, []).append(CaseRecord.from_json(data))
    return out


def redact_gate_records(redactor: Redactor, gates: list[GateRecord]) -> list[GateRecord]:
    if not redactor.active:
        return gates
    return [GateRecord.from_json(d) for d in redactor.redact_records([g.to_json() for g in gates])]


def redact_json(redactor: Redactor, data: Any) -> Any:
    """Any JSON-like value (a baseline comparison, say) masked with the values the run has found."""
    if not redactor.active or data is None:
        return data
    return redactor.redact_records([{"value": data}])[0]["value"]
