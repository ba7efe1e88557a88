"""--llmeval-redact-pii: mask detected PII in every text llmeval writes."""

from __future__ import annotations

from typing import Any

TEXT_FIELDS = ("prompt", "output", "reference")


def redact_text(text: str) -> str:
    from llmeval.pii import redact

    return redact(text)


def redact_row(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of a result row with PII masked in prompts, outputs, references, explanations and vars."""
    out = dict(row)
    for name in TEXT_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = redact_text(out[name])
    if out.get("references"):
        out["references"] = [redact_text(r) for r in out["references"]]
    if isinstance(out.get("vars"), dict):
        out["vars"] = {k: _redact_value(v) for k, v in out["vars"].items()}
    if isinstance(out.get("scores"), dict):
        out["scores"] = {
            name: {**score, "explanation": redact_text(score.get("explanation", ""))} for name, score in out["scores"].items()
        }
    if isinstance(out.get("message"), str):
        out["message"] = redact_text(out["message"])
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value
