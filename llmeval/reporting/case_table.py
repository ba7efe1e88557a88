"""The HTML report's case table as compact data: the page's script renders one page of rows at a time.

Rows become short arrays over a table of repeated strings; long texts are cut (the results file keeps them
whole); every text is display-safe (control and bidi characters escaped); the JSON is gzip'd and base64'd
so a 100,000-case report stays a few megabytes. The script decodes it with the browser's own
`DecompressionStream`: no library, no network.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmeval.reporting.safe import display
from llmeval.reporting.summary import label_of, status_of

STATUSES = ("passed", "failed", "error")
TEXT_LIMIT = 2000  # characters kept of each text (prompt, output, each reference, error, vars) ...
MIN_TEXT_LIMIT = 300  # ... shrinking with the number of cases down to this
TEXT_BUDGET = 60_000_000  # characters of case text a report may hold before compression


def text_limit(n_cases: int) -> int:
    """Characters kept per text: 2,000 up to 7,500 cases, then less, never under 300."""
    return max(MIN_TEXT_LIMIT, min(TEXT_LIMIT, TEXT_BUDGET // max(1, 4 * n_cases)))


def cut(text: Any, limit: int) -> str:
    """`text` display-safe and at most `limit` characters, with a note saying how much was left out."""
    text = "" if text is None else str(text)
    if len(text) > limit:
        more = len(text) - limit
        text = f"{text[:limit]}\n… [cut here: {more:,} more characters in the results file]"
    return display(text)


def _number(value: Any, digits: int = 4) -> float | None:
    """A float rounded to `digits` significant digits; None for NaN, infinities and non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return float(f"{number:.{digits}g}") if math.isfinite(number) else None


class _Strings:
    """Repeated strings (suites, models, scorer names, explanations) stored once, referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

        self.memo: dict[tuple[Any, ...], int] = {}

    def __call__(self, text: Any) -> int:
        return self.index.setdefault(display(text), len(self.index))

    def of(self, value: Mapping[str, Any], describe: Callable[[Any], str]) -> int:
        """The index of `describe(value)` for a small mapping (a threshold), described once per distinct value."""
        key = tuple(sorted(value.items()))
        if key not in self.memo:
            self.memo[key] = self(describe(value))
        return self.memo[key]


def _scores(row: Mapping[str, Any], strings: _Strings, threshold: Callable[[Any], str]) -> list[list[Any]]:
    out = []
    for name, score in (row.get("scores") or {}).items():
        if isinstance(score, Mapping):
            bound = score.get("threshold")
            bound_text = strings.of(bound, threshold) if isinstance(bound, Mapping) else strings(threshold(bound))
            out.append(
                [
                    strings(name),
                    _number(score.get("value")),
                    bool(score.get("passed")),
                    bound_text,
                    strings(score.get("explanation") or ""),
                    strings(score.get("signature") or ""),
                ]
            )
    return out


def _case(row: Mapping[str, Any], strings: _Strings, limit: int, threshold: Callable[[Any], str], repeats: set[str]) -> list[Any]:
    references = list(row.get("references") or ([row["reference"]] if row.get("reference") else []))
    variables = row.get("vars") or {}
    sample = row.get("sample", 0) if row.get("suite", "") in repeats else None
    return [
        STATUSES.index(status_of(row)),
        strings(row.get("suite", "")),
        display(row.get("case", "")),
        strings(label_of(row)),
        sample,
        _number(row.get("latency_s"), 3),
        cut(row.get("prompt"), limit),
        cut(row.get("output"), limit),
        [cut(r, limit) for r in references],
        cut(row["error"], limit) if row.get("error") else None,
        _scores(row, strings, threshold),
        cut(json.dumps(variables, ensure_ascii=False, default=str), limit) if variables else "",
        [strings(t) for t in row.get("tags") or []],
        _minimal_break(row, limit),
    ]


def _minimal_break(row: Mapping[str, Any], limit: int) -> list[str] | None:
    """A robustness failure's minimal perturbation: [change, original prompt, perturbed prompt, original output,
    perturbed output], shown side by side in the drill-down; None for other rows."""
    for score in (row.get("scores") or {}).values():
        minimal = ((score or {}).get("metadata") or {}).get("minimal") if isinstance(score, Mapping) else None
        if isinstance(minimal, Mapping):
            keys = ("change", "original_prompt", "perturbed_prompt", "original_output", "perturbed_output")
            return [cut(minimal.get(k), limit) for k in keys]
    return None


def suites_with_repeats(case_rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The suites that sample a case more than once (a row with sample > 0)."""
    return {row.get("suite", "") for row in case_rows if isinstance(row.get("sample"), int) and row["sample"] > 0}


def payload(case_rows: Sequence[Mapping[str, Any]], threshold: Callable[[Any], str]) -> dict[str, Any]:
    """The table's data: {limit, samples, strings, cases}; a case is [status, suite, case, model, sample, latency,
    prompt, output, references, error, scores, vars, tags, minimal break], with suite, model and tags as string
    indices; sample is null for a suite without repeats (``samples`` says whether any suite has them); minimal
    break is a robustness failure's [change, prompts and outputs before and after] or null."""
    strings, limit, repeats = _Strings(), text_limit(len(case_rows)), suites_with_repeats(case_rows)
    cases = [_case(row, strings, limit, threshold, repeats) for row in case_rows]
    return {"limit": limit, "samples": bool(repeats), "strings": list(strings.index), "cases": cases}


def encode(data: Mapping[str, Any]) -> str:
    """gzip'd JSON in base64: only ``A-Za-z0-9+/=``, so it cannot close the script block it sits in."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def decode(text: str) -> dict[str, Any]:
    """The inverse of `encode` (for tests and tools)."""
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(text)))
    return data
