"""Strict parsers for judge output, and the output formats that hold a judge to them.

Each parser takes the first JSON object in the text and checks it field by field (ValueError if not). Each
`*_format` is the JSON schema of what its parser accepts, narrowed where that helps a weak model finish
(short reasons, exact claim numbers): text that follows the format always parses; the parser still checks
text from backends that cannot constrain decoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmeval.backends.base import OutputFormat

REASON_CHARS = 200  # a judge's reason: one sentence
CLAIM_REASON_CHARS = 100  # per claim, so a verdict list fits its token budget

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_object(text: str) -> dict[str, Any]:
    """The outermost {...} of the text as a JSON object (code fences and prose around it are ignored)."""
    match = _OBJECT.search(text)
    if match is None:
        raise ValueError("no JSON object in the output")
    try:
        value = json.loads(match.group(0), strict=False)  # raw control characters in strings: guided decoders allow them
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError("the JSON value is not an object")
    return value


@dataclass(frozen=True)
class Rating:
    score: float
    reason: str


def rating(text: str, low: float, high: float) -> Rating:
    """{"score": n, "reason": "..."} with low <= n <= high."""
    data = json_object(text)
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError("'score' is missing or not a number")
    if not low <= score <= high:
        raise ValueError(f"score {score} is outside {low:g}..{high:g}")
    return Rating(float(score), str(data.get("reason", "")))


def rating_format(low: float, high: float) -> OutputFormat:
    return _object("rating", {"score": {"type": "number", "minimum": low, "maximum": high}, "reason": _reason(REASON_CHARS)})


@dataclass(frozen=True)
class Preference:
    winner: str  # "A", "B" or "tie"
    reason: str


def preference(text: str) -> Preference:
    """{"winner": "A" | "B" | "tie", "reason": "..."}."""
    data = json_object(text)
    winner = str(data.get("winner", "")).strip().upper()
    if winner not in ("A", "B", "TIE"):
        raise ValueError('\'winner\' must be "A", "B" or "tie"')
    return Preference("tie" if winner == "TIE" else winner, str(data.get("reason", "")))


def preference_format() -> OutputFormat:
    return _object("preference", {"winner": {"type": "string", "enum": ["A", "B", "tie"]}, "reason": _reason(REASON_CHARS)})


def verdicts(text: str, count: int) -> list[tuple[bool, str]]:
    """{"verdicts": [{"claim": i, "supported": true|false, "reason": "..."}, ...]} covering claims 1..count."""
    items = json_object(text).get("verdicts")
    if not isinstance(items, list):
        raise ValueError("'verdicts' is missing or not a list")
    found: dict[int, tuple[bool, str]] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("claim"), int) and isinstance(item.get("supported"), bool):
            found[item["claim"]] = (item["supported"], str(item.get("reason", "")))
    if set(found) != set(range(1, count + 1)):
        raise ValueError(f"verdicts must cover claims 1..{count}, got {sorted(found)}")
    return [found[i] for i in range(1, count + 1)]


def verdicts_format(count: int) -> OutputFormat:
    """Exactly claims 1..count, in order (one format per claim count)."""
    items = [
        _properties(
            {"claim": {"type": "integer", "const": i}, "supported": {"type": "boolean"}, "reason": _reason(CLAIM_REASON_CHARS)}
        )
        for i in range(1, count + 1)
    ]
    listing = {"type": "array", "prefixItems": items, "items": False, "minItems": count, "maxItems": count}
    return _object("verdicts", {"verdicts": listing})


def _reason(chars: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": chars}


def _properties(fields: dict[str, Any]) -> dict[str, Any]:
    """An object with exactly these fields, all required (OpenAI's strict mode asks for both)."""
    return {"type": "object", "properties": fields, "required": list(fields), "additionalProperties": False}


def _object(name: str, fields: dict[str, Any]) -> OutputFormat:
    return OutputFormat.json_schema(_properties(fields), name=name)
