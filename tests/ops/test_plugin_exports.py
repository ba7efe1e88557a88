"""The pytest front end: the export options reach the one end-of-run path, are checked writable before any work,
and a failed export is an error (exit 4) that leaves the other outputs written."""

from __future__ import annotations

import sqlite3

from prometheus_client.parser import text_string_to_metric_families

APP = "def good(prompt, vars):\n    return 'ok'\n"
SUITE = (
    "suite: s\nmodel: python:app:good\nprompt: 'q {{ n }}'\ndefaults:\n  scorers:\n    - contains: ok\n"
    "cases:\n  - {id: a, vars: {n: 1}}\n  - {id: b, vars: {n: 2}}\n"
    "gates:\n  - {metric: contains, mean: '>= 0.5'}\n  - {metric: latency_s, max: '<= 60'}\n"
)


def _project(pytester, monkeypatch):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", s=SUITE)
    monkeypatch.syspath_prepend(str(pytester.path))
    return pytester


def test_pytest_writes_history_prometheus_and_mlflow(pytester, monkeypatch):
    project = _project(pytester, monkeypatch)
    # in a subprocess: mlflow, once imported, keeps state that later in-process pytest runs trip over
    options = ("--llmeval-history", "h.sqlite", "--llmeval-prometheus", "out/m.prom", "--llmeval-mlflow", "mlruns")
    result = project.runpytest_subprocess(*options, "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["llmeval history: h.sqlite", "llmeval Prometheus textfile: out/m.prom", "llmeval MLflow run *"])
    with sqlite3.connect(project.path / "h.sqlite") as db:
        assert db.execute("SELECT verdict FROM runs").fetchall() == [("PASS",)]
        assert db.execute("SELECT gate, status FROM gates ORDER BY gate").fetchall() == [
            ("contains-mean", "passed"),
            ("latency_s-max", "passed"),
        ]
    families = {f.name for f in text_string_to_metric_families((project.path / "out/m.prom").read_text())}
    assert {"llmeval_metric_value", "llmeval_gate_passed", "llmeval_verdict_passed"} <= families
    assert (project.path / "mlruns/mlflow.db").is_file()


def test_an_unwritable_export_path_is_refused_before_any_work(pytester, monkeypatch):
    project = _project(pytester, monkeypatch)
    for option in ("--llmeval-history", "--llmeval-prometheus"):
        result = project.runpytest(option, "/proc/nope/x")
        assert result.ret == 4
        result.stderr.fnmatch_lines([f"ERROR: {option} /proc/nope/x: cannot write there (*); give a writable path"])


def test_a_failed_push_is_exit_4_and_the_results_are_still_written(pytester, monkeypatch):
    from tests._servers import free_port

    project = _project(pytester, monkeypatch)
    port = free_port()  # nothing listens there
    result = project.runpytest("--llmeval-pushgateway", f"http://127.0.0.1:{port}", "--llmeval-results", "r.jsonl")
    assert result.ret == 4
    result.stdout.fnmatch_lines([f"llmeval: error: --llmeval-pushgateway http://127.0.0.1:{port}: the push failed*"])
    assert (project.path / "r.jsonl").is_file()
