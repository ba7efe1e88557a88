"""Log a finished run to MLflow: params (the manifest), metrics (aggregates, usage, gate values and bounds),
tags (the verdict) and artifacts (the files the run wrote), through ``mlflow.MlflowClient`` (no global state).

``--llmeval-mlflow`` takes a tracking URI (``sqlite:///...``, ``http://host:5000``, ``databricks``...) or a local
folder: ``mlruns`` becomes ``sqlite:///<root>/mlruns/mlflow.db`` with artifacts in ``mlruns/artifacts``
(MLflow 3 keeps new local stores in SQLite: its file store is in maintenance mode).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError, MissingDependency

EXPERIMENT = "llmeval"
_KEY = re.compile(r"[^\w\-. :/]")
_BATCH = 100  # MLflow's log_batch takes at most 100 params (1000 metrics) per call
_VALUE = 500


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MissingDependency("mlflow-skinny", "--llmeval-mlflow", "ops") from None
    return mlflow


def resolve(target: str, root: Path) -> tuple[str, str | None]:
    """The tracking URI for `target`, and the artifact location new experiments get (None: the server decides)."""
    if re.match(r"^[a-zA-Z][\w+.-]*:", target) and not re.match(r"^[a-zA-Z]:[\\/]", target):
        if target.startswith("sqlite:///"):
            return target, (Path(target.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
        return target, None
    path = (root / target).resolve()
    if path.suffix == ".db":
        return f"sqlite:///{path}", (path.parent / "mlartifacts").as_uri()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mlflow.db'}", (path / "artifacts").as_uri()


def log_run(
    target: str,
    root: Path,
    *,
    manifest: Any,
    aggregates: Sequence[Any],
    usage: Sequence[Any],
    gates: Sequence[Any],
    verdict: Any,
    artifacts: Iterable[tuple[str, Path]],
) -> tuple[str, str]:
    """Log the run; returns (tracking URI, MLflow run id)."""
    mlflow = _mlflow()
    from mlflow.entities import Metric, Param

    uri, artifact_location = resolve(target, root)
    client = mlflow.MlflowClient(tracking_uri=uri)
    try:
        experiment = _experiment(mlflow, client, artifact_location)
        tags = {
            "mlflow.runName": verdict.run_id or "llmeval",
            "llmeval.verdict": verdict.status,
            "llmeval.run_id": verdict.run_id,
            "llmeval.gates_failed": str(verdict.failed + verdict.errors),
            "llmeval.gates": str(verdict.total),
        }
        run = client.create_run(experiment, tags=tags)
        rid, now = run.info.run_id, int(time.time() * 1000)
        params = [Param(_key(k), _value(v)) for k, v in sorted(manifest_params(manifest).items())]
        metrics = [Metric(_key(k), float(v), now, 0) for k, v in run_metrics(aggregates, usage, gates, verdict).items()]
        for i in range(0, max(len(params), len(metrics)), _BATCH):
            client.log_batch(rid, metrics=metrics[i : i + _BATCH], params=params[i : i + _BATCH])
        client.log_dict(rid, manifest.to_json() if manifest is not None else {}, "manifest.json")
        for kind, path in artifacts:
            if Path(path).is_file():
                client.log_artifact(rid, str(path), artifact_path=_key(kind).replace(" ", "-"))
        client.set_terminated(rid, "FINISHED" if verdict.passed else "FAILED")
    except mlflow.exceptions.MlflowException as exc:
        raise LlmevalError(f"--llmeval-mlflow {target}: {exc.message}") from None
    return uri, rid


def _experiment(mlflow: Any, client: Any, artifact_location: str | None) -> str:
    """The id of the experiment "llmeval", created on first use (a concurrent run may create it first)."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(EXPERIMENT, artifact_location))
    except mlflow.exceptions.MlflowException:
        found = client.get_experiment_by_name(EXPERIMENT)
        if found is None:
            raise
        return str(found.experiment_id)


def manifest_params(manifest: Any) -> dict[str, Any]:
    """The manifest flattened to MLflow params: suite.<name>.sha256, model.<spec>, package.<name>, env.<key>..."""
    if manifest is None:
        return {}
    data = manifest.to_json()
    out: dict[str, Any] = {}
    for name, entry in (data.get("suites") or {}).items():
        out.update({f"suite.{name}.{k}": v for k, v in entry.items()})
    out.update({f"model.{spec}": identity for spec, identity in (data.get("models") or {}).items()})
    out.update({f"backend.{spec}": b for spec, b in (data.get("backends") or {}).items()})
    out.update({f"package.{n}": v for n, v in (data.get("packages") or {}).items()})
    env = dict(data.get("environment") or {})
    git = env.pop("git", {}) or {}
    out.update({f"env.{k}": v for k, v in env.items()})
    out.update({f"env.git.{k}": v for k, v in git.items()})
    settings = data.get("settings") or {}
    out.update({f"setting.{k}": v for k, v in settings.items() if v not in (None, [], "", False)})
    return out


def run_metrics(aggregates: Sequence[Any], usage: Sequence[Any], gates: Sequence[Any], verdict: Any) -> dict[str, float]:
    """Metric key -> value: metric/<suite>/<model>/<metric>/{mean,low,high,pass_rate}, gate/..., usage/..."""
    out: dict[str, float] = {"verdict_passed": float(verdict.passed), "gates_failed": float(verdict.failed + verdict.errors)}
    for a in aggregates:
        base = f"metric/{a.suite}/{a.model}/{a.metric}"
        out.update(
            _present({f"{base}/mean": a.value, f"{base}/low": a.low, f"{base}/high": a.high, f"{base}/pass_rate": a.pass_rate})
        )
    for g in gates:
        base = f"gate/{g.suite}/{g.label}/{g.gate}"
        out.update(_present({f"{base}/value": g.value, f"{base}/bound": g.bound, f"{base}/passed": float(g.passed)}))
        if g.interval:
            out.update(_present({f"{base}/low": g.interval[0], f"{base}/high": g.interval[1]}))
    for u in usage:
        base = f"usage/{u.suite}/{u.model}"
        out.update(
            _present(
                {
                    f"{base}/latency_p50_s": u.latency_p50,
                    f"{base}/latency_p95_s": u.latency_p95,
                    f"{base}/latency_max_s": u.latency_max,
                    f"{base}/tokens": u.tokens,
                    f"{base}/tokens_per_s": u.tokens_per_s,
                    f"{base}/cost": u.cost,
                }
            )
        )
    return out


def _present(values: Mapping[str, Any]) -> dict[str, float]:
    import math

    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


def _key(name: str) -> str:
    return _KEY.sub("_", name)[:250]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= _VALUE else text[: _VALUE - 3] + "..."
