"""Summaries of result rows for the reports: per suite × model and per metric × model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate import stats


def status_of(row: Mapping[str, Any]) -> str:
    """passed, failed or error: the status a case row shows in the report."""
    if R.is_error(row):
        return "error"
    return "passed" if row.get("passed") else "failed"


def label_of(row: Mapping[str, Any]) -> str:
    return str(row.get("model_label") or row.get("model") or "")


def suite_summary(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Counts of passed / failed / errored rows per (suite, model)."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for row in R.case_rows(rows):
        key = (str(row.get("suite")), label_of(row))
        entry = table.setdefault(key, {"suite": key[0], "model": key[1], "rows": 0, "passed": 0, "failed": 0, "error": 0})
        entry["rows"] += 1
        entry[status_of(row)] += 1
    for entry in table.values():
        scored = entry["rows"] - entry["error"]
        entry["pass_rate"] = entry["passed"] / scored if scored else None
    return list(table.values())


def metric_summary(rows: Sequence[Mapping[str, Any]], *, confidence: float = 0.95) -> list[dict[str, Any]]:
    """Per (metric, model): n, mean with a case-bootstrap interval, median, min, max and pass rate."""
    out = []
    case_rows = R.case_rows(rows)
    models: dict[str, list[Mapping[str, Any]]] = {}
    for row in case_rows:
        models.setdefault(label_of(row), []).append(row)
    for metric in R.metrics_in(case_rows):
        for model, model_rows in models.items():
            by_case = R.group_by_case(model_rows, metric)
            values = [[float(s["value"]) for s in scores] for scores in by_case.values()]
            flat = [v for c in values for v in c]
            if not flat:
                continue
            passes = [bool(s.get("passed")) for scores in by_case.values() for s in scores]
            out.append(
                {
                    "metric": metric,
                    "model": model,
                    "n": len(flat),
                    "mean": stats.point_stat(flat, "mean"),
                    "interval": stats.bootstrap_interval(values, "mean", confidence=confidence),
                    "median": stats.point_stat(flat, "median"),
                    "min": min(flat),
                    "max": max(flat),
                    "pass_rate": sum(passes) / len(passes),
                    "values": flat,
                }
            )
    return out
