"""MLflow: a run logged to a real local store (SQLite, as MLflow 3 keeps local stores) and read back."""

from __future__ import annotations

import json

import pytest

from llmeval.config import Settings
from llmeval.ops.export import export_run
from llmeval.ops.mlflow_log import resolve
from tests.ops.helpers import run

mlflow = pytest.importorskip("mlflow", reason="mlflow-skinny is in requirements.txt")


def test_a_run_is_logged_to_a_local_store_and_read_back(tmp_path):
    cases, gates, verdict, manifest = run("r1", 0.8)
    (tmp_path / "results.jsonl").write_text('{"kind": "case"}\n')  # the front end wrote it before the exports
    (tmp_path / "report.html").write_text("<html></html>")
    settings = Settings(mlflow="mlruns", cost_per_1k=0.5, results="results.jsonl", history="h.sqlite")
    written = export_run(settings, tmp_path, cases, gates, verdict, manifest, [("html", tmp_path / "report.html")])
    assert written[0] == ("history", tmp_path / "h.sqlite")
    [(kind, path)] = written[1:]
    assert kind.startswith("MLflow run ") and path == tmp_path / "mlruns/mlflow.db"
    client = mlflow.MlflowClient(f"sqlite:///{path}")
    logged = client.get_run(kind.removeprefix("MLflow run "))
    assert logged.info.status == "FINISHED"
    assert logged.data.tags["llmeval.verdict"] == "PASS" and logged.data.tags["mlflow.runName"] == "r1"
    assert logged.data.params["suite.qa.sha256"] == "a" * 64
    assert logged.data.params["package.torch"] == "2.13.0" and logged.data.params["env.git.commit"] == "f" * 40
    metrics = logged.data.metrics
    assert metrics["metric/qa/m/rougeL/mean"] == pytest.approx(0.75)
    assert metrics["metric/qa/m/rougeL/low"] < 0.75 < metrics["metric/qa/m/rougeL/high"]
    assert metrics["gate/qa/m/rougeL-mean/value"] == pytest.approx(0.8) and metrics["gate/qa/m/rougeL-mean/passed"] == 1
    assert metrics["usage/qa/m/cost"] == pytest.approx(0.3) and metrics["verdict_passed"] == 1
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert artifacts == {"manifest.json", "results", "html"}  # not the history: it holds every run
    local = client.download_artifacts(logged.info.run_id, "manifest.json", str(tmp_path / "dl"))
    assert json.loads(open(local).read())["run_id"] == "r1"
    assert (tmp_path / "mlruns/artifacts").is_dir()


def test_a_failing_verdict_is_a_failed_run_and_runs_accumulate_in_one_experiment(tmp_path):
    for run_id, value in (("r1", 0.8), ("r2", 0.3)):
        cases, gates, verdict, manifest = run(run_id, value)
        export_run(Settings(mlflow=str(tmp_path / "store.db")), tmp_path, cases, gates, verdict, manifest, [])
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'store.db'}")
    experiment = client.get_experiment_by_name("llmeval")
    found = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [(r.data.tags["llmeval.run_id"], r.data.tags["llmeval.verdict"], r.info.status) for r in found] == [
        ("r1", "PASS", "FINISHED"),
        ("r2", "FAIL", "FAILED"),
    ]


def test_targets_resolve_to_tracking_uris(tmp_path):
    assert resolve("http://127.0.0.1:5000", tmp_path) == ("http://127.0.0.1:5000", None)
    uri, artifacts = resolve("sqlite:////srv/ml/mlflow.db", tmp_path)
    assert uri == "sqlite:////srv/ml/mlflow.db" and artifacts == "file:///srv/ml/mlartifacts"
    assert resolve("runs", tmp_path) == (f"sqlite:///{tmp_path / 'runs/mlflow.db'}", (tmp_path / "runs/artifacts").as_uri())
