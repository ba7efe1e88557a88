"""Phase 3: the run's one redaction point, applied to every record before anything writes or shows it.

Under pytest-xdist each worker sends what its redactor found (`worker_payload`); the controller's `RunRedaction`
learns their union and masks what it writes with it.
"""

from __future__ import annotations

from typing import Any

from llmeval.core.redactor import Redactor
from llmeval.records import CaseRecord, GateRecord

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


def worker_payload(redactor: Redactor, sent: list[int]) -> dict[str, Any] | None:
    """What the worker's redactor found since its last payload (`sent`: [values sent, secrets sent], updated)."""
    values, secrets = redactor.found_since(sent[0]), redactor.secrets[sent[1] :]
    if not values and not secrets:
        return None
    sent[0], sent[1] = sent[0] + len(values), sent[1] + len(secrets)
    return {"values": [list(v) for v in values], "secrets": secrets}


class RunRedaction:
    """The controller's redactor: learns the workers' payloads, then masks what the controller writes or shows."""

    def __init__(self, pii: bool) -> None:
        self.redactor = Redactor(pii)

    def learn(self, payload: dict[str, Any]) -> None:
        self.redactor.learn(payload.get("values", ()), payload.get("secrets", ()))

    def records(self, records: list[Any]) -> list[Any]:
        """Case and gate records masked with the run's values (as rebuilt records)."""
        if not records or not self.redactor.active:
            return records
        from llmeval.records import from_json

        return [from_json(data) for data in self.redactor.mask_records([r.to_json() for r in records])]

    def json(self, data: Any) -> Any:
        if data is None or not self.redactor.active:
            return data
        return self.redactor.mask_records([{"value": data}])[0]["value"]
