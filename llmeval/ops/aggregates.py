"""Per suite x model x metric aggregates of a run with their intervals, and its latency, token and cost figures.

The interval of a metric's mean is the gates' own (``llmeval.gate.units.mean_bound``: exact binomial for
checks, betting for bounded scores, Student's t otherwise) over the cases as independent units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.records import CaseRecord

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Aggregate:
    """One metric of one suite on one model: its mean over cases, the interval, pass rate and evidence."""

    suite: str
    model: str
    metric: str
    value: float
    low: float | None
    high: float | None
    pass_rate: float
    n: int  # outputs
    units: int  # cases
    method: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Usage:
    """Latency and tokens of one suite on one model (uncached outputs only for the timing figures)."""

    suite: str
    model: str
    outputs: int
    timed: int  # outputs that were generated in this run (not cached, not errored): the latency figures' n
    latency_p50: float | None
    latency_p95: float | None
    latency_max: float | None
    tokens: int  # prompt + completion tokens of every output
    completion_tokens: int
    tokens_per_s: float | None  # completion tokens per second of generation, over the timed outputs
    cost: float | None = None  # tokens / 1000 * cost_per_1k, when a price was given

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def metric_aggregates(cases: Sequence[CaseRecord], confidence: float = CONFIDENCE) -> list[Aggregate]:
    """One Aggregate per (suite, model label, metric), in a stable order."""
    from llmeval.gate import rows as R
    from llmeval.gate.units import mean_bound, scale_for

    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in cases:
        groups[(record.suite, record.model_label or record.model)].append(record.row())
    out = []
    for (suite, model), rows in sorted(groups.items()):
        for metric in sorted(R.metrics_in(rows)):
            per_case = R.group_by_case(rows, metric)
            if not per_case:
                continue
            values = {case: [float(e["value"]) for e in entries] for case, entries in per_case.items()}
            n = sum(len(v) for v in values.values())
            passed = sum(bool(e.get("passed")) for entries in per_case.values() for e in entries)
            means = [sum(v) / len(v) for v in values.values()]
            bound = mean_bound(values, scale_for(metric, {}, None), confidence)
            low, high = (bound.low, bound.high) if bound.units and abs(bound.low) != float("inf") else (None, None)
            out.append(
                Aggregate(suite, model, metric, sum(means) / len(means), low, high, passed / n, n, len(values), bound.method)
            )
    return out


def usage(cases: Sequence[CaseRecord], cost_per_1k: float | None = None) -> list[Usage]:
    """Latency percentiles, token totals, tokens/s and cost per (suite, model label)."""
    import numpy as np

    groups: dict[tuple[str, str], list[CaseRecord]] = defaultdict(list)
    for record in cases:
        groups[(record.suite, record.model_label or record.model)].append(record)
    out = []
    for (suite, model), records in sorted(groups.items()):
        timed = [r for r in records if not r.cached and not r.error and r.latency_s > 0]
        latencies = np.asarray([r.latency_s for r in timed], dtype=float)
        p50, p95, top = (float(np.quantile(latencies, q)) for q in (0.5, 0.95, 1.0)) if len(timed) else (None, None, None)
        seconds = float(latencies.sum())
        tokens = sum(_tokens(r.tokens) for r in records)
        speed = sum(int(r.tokens.get("completion", 0)) for r in timed) / seconds if seconds > 0 else None
        out.append(
            Usage(
                suite=suite,
                model=model,
                outputs=len(records),
                timed=len(timed),
                latency_p50=p50,
                latency_p95=p95,
                latency_max=top,
                tokens=tokens,
                completion_tokens=sum(int(r.tokens.get("completion", 0)) for r in records),
                tokens_per_s=speed,
                cost=tokens / 1000 * cost_per_1k if cost_per_1k is not None else None,
            )
        )
    return out


def _tokens(counts: Mapping[str, int]) -> int:
    return int(counts.get("prompt", 0)) + int(counts.get("completion", 0))
