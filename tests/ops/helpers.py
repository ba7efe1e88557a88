"""Synthetic runs for the ops tests: records as a front end makes them, with chosen scores."""

from __future__ import annotations

from llmeval.gate.verdict import build_verdict
from llmeval.records import CaseRecord, GateRecord, Manifest

SHA = "a" * 64


def cases(run_id: str, value: float, *, suite: str = "qa", n: int = 40, latency: float = 0.5) -> list[CaseRecord]:
    """n cases whose rougeL is `value` (every other case `value` - 0.1), with latency and tokens."""
    out = []
    for i in range(n):
        v = value if i % 2 else max(0.0, value - 0.1)
        out.append(
            CaseRecord(
                suite=suite,
                case=f"c{i}",
                model="hf:m",
                model_label="m",
                sample=0,
                prompt="p",
                output="o",
                status="passed",
                scores={"rougeL": {"value": v, "passed": v >= 0.5, "threshold": {}}},
                suite_path=f"{suite}.yaml",
                latency_s=latency * (1 + i / n),
                tokens={"prompt": 10, "completion": 5},
                vars={"i": i},
                run_id=run_id,
            )
        )
    return out


def gate(run_id: str, value: float, *, suite: str = "qa", passed: bool = True) -> GateRecord:
    return GateRecord(
        suite=suite,
        gate="rougeL-mean",
        model="hf:m",
        model_label="m",
        metric="rougeL",
        stat="mean",
        status="passed" if passed else "failed",
        value=value,
        interval=(value - 0.1, value + 0.05),
        bound=value - 0.1,
        threshold=">= 0.5",
        n=40,
        units=40,
        run_id=run_id,
    )


def manifest(run_id: str, *, sha: str = SHA, torch: str = "2.13.0", suite: str = "qa") -> Manifest:
    return Manifest(
        run_id=run_id,
        suites={suite: {"path": f"{suite}.yaml", "sha256": sha, "generation": {"seed": 0}}},
        models={"hf:m": "hf|abc"},
        settings={"repeat": None},
        packages={"llmeval": "0.1.0", "torch": torch},
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        environment={"python": "3.11.7", "machine": "x86_64", "cpus": 2, "gpus": [], "git": {"commit": "f" * 40}},
        backends={"hf:m": "hf"},
    )


def run(run_id: str, value: float, **kw):
    """(cases, gates, verdict, manifest) of one synthetic run."""
    c, g = cases(run_id, value), [gate(run_id, value, passed=value >= 0.5)]
    return c, g, build_verdict(g, None, run_id=run_id), manifest(run_id, **kw)


def record(run_id: str, value: float, **kw) -> dict:
    """The history record of a synthetic run."""
    from llmeval.ops.aggregates import metric_aggregates, usage
    from llmeval.ops.history import run_record

    c, g, v, m = run(run_id, value, **kw)
    return run_record(c, g, v, m, aggregates=metric_aggregates(c), usage=usage(c))
