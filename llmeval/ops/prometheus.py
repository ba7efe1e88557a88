"""A run's aggregates, usage and gate results as Prometheus metrics, with the official client (prometheus_client):
a textfile for node-exporter's textfile collector (written atomically: temp file, then rename) or a push to a
Pushgateway. The metric list is README "In production" (Grafana-ready)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmeval.errors import MissingDependency

JOB = "llmeval"
METRIC = ("suite", "metric", "model")
GATE = ("suite", "gate", "metric", "model")
USAGE = ("suite", "model")


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MissingDependency("prometheus-client", "--llmeval-prometheus and --llmeval-pushgateway", "ops") from None
    return prometheus_client


def build_registry(aggregates: Sequence[Any], gates: Sequence[Any], usage: Sequence[Any], verdict: Any) -> Any:
    """A CollectorRegistry holding the run's gauges (one sample per suite x metric x model, per gate, per usage row)."""
    client = _client()
    registry = client.CollectorRegistry()

    def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> Any:
        return client.Gauge(name, doc, labels, registry=registry)

    value = gauge("llmeval_metric_value", "mean of the metric over the cases", METRIC)
    low = gauge("llmeval_metric_interval_low", "lower end of the 95% interval of the mean", METRIC)
    high = gauge("llmeval_metric_interval_high", "upper end of the 95% interval of the mean", METRIC)
    rate = gauge("llmeval_metric_pass_rate", "share of outputs whose score passed its threshold", METRIC)
    outputs = gauge("llmeval_metric_outputs", "outputs scored for the metric", METRIC)
    for a in aggregates:
        labels = (a.suite, a.metric, a.model)
        value.labels(*labels).set(a.value)
        rate.labels(*labels).set(a.pass_rate)
        outputs.labels(*labels).set(a.n)
        if a.low is not None and a.high is not None:
            low.labels(*labels).set(a.low)
            high.labels(*labels).set(a.high)
    passed = gauge("llmeval_gate_passed", "1 when the gate passed, 0 when it failed, errored or was skipped", GATE)
    gate_value = gauge("llmeval_gate_value", "the gate's statistic", GATE)
    bound = gauge("llmeval_gate_bound", "the interval end the gate was judged on", GATE)
    for g in gates:
        where = (g.suite, g.gate, g.metric, g.label)
        passed.labels(*where).set(1 if g.passed else 0)
        if g.value is not None:
            gate_value.labels(*where).set(g.value)
        if g.bound is not None:
            bound.labels(*where).set(g.bound)
    _usage(gauge, usage)
    gauge("llmeval_verdict_passed", "1 when the release verdict is PASS").set(1 if verdict.passed else 0)
    gauge("llmeval_gates_failed", "gates that failed or errored").set(verdict.failed + verdict.errors)
    gauge("llmeval_run_timestamp_seconds", "when the run finished (Unix time)").set(time.time())
    return registry


def _usage(gauge: Any, usage: Sequence[Any]) -> None:
    latency = gauge(
        "llmeval_latency_seconds", "per-output generation latency (uncached outputs; machine-dependent)", (*USAGE, "quantile")
    )
    tokens = gauge("llmeval_tokens", "prompt + completion tokens of the run's outputs", USAGE)
    speed = gauge("llmeval_tokens_per_second", "completion tokens per second of generation (machine-dependent)", USAGE)
    cost = gauge("llmeval_cost", "tokens / 1000 x --llmeval-cost-per-1k", USAGE)
    for u in usage:
        for q, v in (("0.5", u.latency_p50), ("0.95", u.latency_p95), ("1", u.latency_max)):
            if v is not None:
                latency.labels(u.suite, u.model, q).set(v)
        tokens.labels(u.suite, u.model).set(u.tokens)
        if u.tokens_per_s is not None:
            speed.labels(u.suite, u.model).set(u.tokens_per_s)
        if u.cost is not None:
            cost.labels(u.suite, u.model).set(u.cost)


def write_textfile(path: Path, registry: Any) -> Path:
    """The exposition text at `path`, replaced atomically (prometheus_client writes a temp file and renames it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _client().write_to_textfile(str(path), registry)
    return path


def push(url: str, registry: Any, *, timeout: float = 30.0) -> None:
    """PUT the registry to a Pushgateway under job "llmeval" (replacing the job's previous metrics)."""
    _client().push_to_gateway(url, job=JOB, registry=registry, timeout=timeout)
