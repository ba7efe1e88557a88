"""Deterministic text scorers: exact, contains, excludes, regex, json, length."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from llmeval.scorers.base import Sample, Score, Threshold

PASS = Threshold(min=1.0)


@dataclass(frozen=True)
class CheckScorer:
    """A pass/fail check: value 1.0 when `check` holds, else 0.0."""

    name: str
    check: Callable[[Sample], tuple[bool, str]]
    threshold: Threshold = PASS

    def __call__(self, sample: Sample) -> Score:
        ok, why = self.check(sample)
        value = 1.0 if ok else 0.0
        return Score(self.name, value, self.threshold, self.threshold.check(value), why)


def _norm(text: str, case_sensitive: bool, strip: bool = True) -> str:
    text = text.strip() if strip else text
    return text if case_sensitive else text.casefold()


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def exact(value: str | None = None, case_sensitive: bool = True, strip: bool = True) -> CheckScorer:
    """The output equals the reference (any of them) or the given value."""

    def check(sample: Sample) -> tuple[bool, str]:
        targets = [value] if value is not None else list(sample.references)
        if not targets:
            return False, "no reference to compare with (set 'reference' on the case or exact: <value>)"
        out = _norm(sample.output, case_sensitive, strip)
        hit = any(out == _norm(t, case_sensitive, strip) for t in targets)
        return hit, "output equals the expected text" if hit else f"output {_short(sample.output)!r} != {_short(targets[0])!r}"

    return CheckScorer("exact", check)


def _as_list(value: str | Sequence[str]) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ValueError("needs a non-empty string or list of non-empty strings")
    return items


def contains(value: str | Sequence[str], mode: Literal["all", "any"] = "all", case_sensitive: bool = True) -> CheckScorer:
    """The output contains the given text(s): all of them (mode: all) or at least one (mode: any)."""
    needles = _as_list(value)
    if mode not in ("all", "any"):
        raise ValueError(f"mode must be 'all' or 'any', got {mode!r}")

    def check(sample: Sample) -> tuple[bool, str]:
        out = _norm(sample.output, case_sensitive)
        found = [n for n in needles if _norm(n, case_sensitive) in out]
        missing = [n for n in needles if n not in found]
        ok = bool(found) if mode == "any" else not missing
        if ok:
            return True, f"found {found}"
        return False, f"missing {missing}" if mode == "all" else f"none of {needles} found"

    return CheckScorer("contains", check)


def excludes(value: str | Sequence[str], case_sensitive: bool = False) -> CheckScorer:
    """The output contains none of the given texts."""
    needles = _as_list(value)

    def check(sample: Sample) -> tuple[bool, str]:
        out = _norm(sample.output, case_sensitive)
        found = [n for n in needles if _norm(n, case_sensitive) in out]
        return (not found), (f"found forbidden {found}" if found else "none of the forbidden texts found")

    return CheckScorer("excludes", check)


def regex(pattern: str, ignore_case: bool = False, fullmatch: bool = False, negate: bool = False) -> CheckScorer:
    """The output matches the regular expression (searched anywhere unless fullmatch)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None

    def check(sample: Sample) -> tuple[bool, str]:
        text = sample.output.strip()
        match = compiled.fullmatch(text) if fullmatch else compiled.search(text)
        ok = (match is None) if negate else (match is not None)
        if match is not None:
            return ok, f"matched {_short(match.group(0))!r}"
        return ok, f"no match for /{pattern}/"

    return CheckScorer("regex", check)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def json_(schema: dict[str, Any] | None = None, extract: bool = True) -> CheckScorer:
    """The output is valid JSON (optionally inside a ``` fence), optionally valid against a JSON Schema."""
    validator = None
    if schema is not None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"invalid JSON Schema: {exc.message}") from None
        validator = jsonschema.Draft202012Validator(schema)

    def check(sample: Sample) -> tuple[bool, str]:
        text = sample.output.strip()
        fenced = _FENCE.search(text) if extract else None
        try:
            data = json.loads(fenced.group(1) if fenced else text)
        except json.JSONDecodeError as exc:
            return False, f"not valid JSON: {exc.msg} at char {exc.pos}"
        if validator is not None:
            error = next(iter(validator.iter_errors(data)), None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                return False, f"JSON does not match the schema at {where}: {error.message}"
        return True, "valid JSON" + (" matching the schema" if validator else "")

    return CheckScorer("json", check)


@dataclass(frozen=True)
class LengthScorer:
    name: str
    unit: str
    threshold: Threshold

    def __call__(self, sample: Sample) -> Score:
        size = len(sample.output.split()) if self.unit == "words" else len(sample.output.strip())
        ok = self.threshold.check(size)
        return Score(self.name, float(size), self.threshold, ok, f"{size} {self.unit} (want {self.threshold.describe()})")


def length(min: float | None = None, max: float | None = None, unit: Literal["words", "chars"] = "words") -> LengthScorer:
    """The output's length in words (or chars) lies within [min, max]."""
    if unit not in ("words", "chars"):
        raise ValueError(f"unit must be 'words' or 'chars', got {unit!r}")
    if min is None and max is None:
        raise ValueError("give min and/or max, e.g. length: {max: 40}")
    return LengthScorer("length", unit, Threshold(min, max))
