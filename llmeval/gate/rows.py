"""Helpers over result rows (the dicts of the results file): selection and per-case grouping."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]


def case_rows(rows: Iterable[Row], *, suite: str | None = None, model: str | None = None) -> list[Row]:
    """The case rows (not gate rows) of one suite and model; ``None`` matches any."""
    return [
        r
        for r in rows
        if r.get("kind", "case") == "case"
        and (suite is None or r.get("suite") == suite)
        and (model is None or r.get("model") == model)
    ]


def gate_rows(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if r.get("kind") == "gate"]


def is_error(row: Row) -> bool:
    return bool(row.get("error"))


USAGE_METRICS = ("latency_s", "tokens", "completion_tokens")  # gateable like scores: README "Latency and tokens"
TIMING_CAVEAT = "timings are machine-dependent: compare them only between runs on the same machine and load"


def usage_value(row: Row, metric: str) -> float:
    """A case row's latency (seconds), tokens (prompt + completion) or completion tokens."""
    if metric == "latency_s":
        return float(row.get("latency_s") or 0.0)
    tokens = row.get("tokens") or {}
    return float(tokens.get("completion", 0)) + (float(tokens.get("prompt", 0)) if metric == "tokens" else 0.0)


def score_of(row: Row, metric: str) -> Mapping[str, Any] | None:
    """The row's score entry for a metric, or None when it has none (or a NaN value); the USAGE_METRICS are
    read from the row itself, unless a scorer of that name scored it."""
    score = (row.get("scores") or {}).get(metric)
    if score is None and metric in USAGE_METRICS:
        return {"value": usage_value(row, metric), "passed": True}
    if not isinstance(score, Mapping):
        return None
    value = score.get("value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return score


def metrics_in(rows: Iterable[Row]) -> list[str]:
    """Every metric named in the rows' scores, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for name in row.get("scores") or {}:
            seen.setdefault(name, None)
    return list(seen)


def group_by_case(rows: Iterable[Row], metric: str) -> dict[str, list[Mapping[str, Any]]]:
    """Case id -> the metric's score entries over that case's samples (errors and gaps skipped)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if is_error(row):
            continue
        score = score_of(row, metric)
        if score is not None:
            groups.setdefault(str(row.get("case")), []).append(score)
    return groups


def suite_models(rows: Iterable[Row]) -> list[tuple[str, str]]:
    """Every (suite, model) pair present in the case rows, in first-seen order."""
    seen: dict[tuple[str, str], None] = {}
    for row in case_rows(rows):
        seen.setdefault((str(row.get("suite")), str(row.get("model"))), None)
    return list(seen)


def case_summary(suite: str, model: str, case: str, samples: Sequence[Row]) -> dict[str, Any]:
    """One case's scores over its samples: each metric's mean value and pass fraction."""
    ok = [s for s in samples if not is_error(s)]
    scores: dict[str, Any] = {}
    for metric in metrics_in(ok):
        entries = [e for e in (score_of(s, metric) for s in ok) if e is not None]
        if entries:
            scores[metric] = {
                "value": round(sum(float(e["value"]) for e in entries) / len(entries), 6),
                "passed": round(sum(bool(e.get("passed")) for e in entries) / len(entries), 6),
                "threshold": dict(entries[0].get("threshold") or {}),
            }
    entry: dict[str, Any] = {"suite": suite, "model": model, "case": case, "samples": len(samples), "scores": scores}
    entry["fingerprint"] = case_fingerprint(samples[0])
    if len(ok) < len(samples):
        entry["errors"] = len(samples) - len(ok)
    return entry


def case_fingerprint(row: Row) -> str:
    """A short hash of what defines a case (vars and references): it changes when the case does."""
    text = json.dumps([row.get("vars") or {}, row.get("references") or []], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def summarize_cases(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """One entry per (suite, model, case): mean value and pass fraction of each metric over samples."""
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in case_rows(rows):
        key = (str(row.get("suite")), str(row.get("model")), str(row.get("case")))
        groups.setdefault(key, []).append(row)
    return [case_summary(*key, samples) for key, samples in sorted(groups.items())]
