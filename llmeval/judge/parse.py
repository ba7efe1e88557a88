"""Strict parsers for judge output: the first JSON object in the text, checked field by field (ValueError if not)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_object(text: str) -> dict[str, Any]:
    """The outermost {...} of the text as a JSON object (code fences and prose around it are ignored)."""
    match = _OBJECT.search(text)
    if match is None:
        raise ValueError("no JSON object in the output")
    try:
        value = json.loads(match.group(0))
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
