"""The ops front ends end to end on `llmeval run`: history recorded, trend printed and drawn, a run accepted and
used as the baseline, a changed suite file invalidating a regression gate, and `llmeval card`."""

from __future__ import annotations

import json
import re

import pytest

from llmeval.cli import main

APP = "from pathlib import Path\n\ndef reply(prompt, vars):\n    return Path('answer.txt').read_text()\n"
SUITE = (
    "suite: qa\nmodel: python:app:reply\nprompt: 'q {{ n }}'\ndefaults:\n  scorers:\n    - contains: ok\n"
    "cases:\n" + "".join(f"  - {{id: c{i}, vars: {{n: {i}}}}}\n" for i in range(30)) + "gates:\n"
    "  - {metric: contains, mean: '>= 0.0'}\n  - {metric: latency_s, p95: '<= 60'}\n"
    "regression:\n  - {metric: contains, max_drop: 0.02}\n"
)
RUN = ["run", "qa.yaml", "-q", "--cache", "off", "--history", "h.sqlite"]


@pytest.fixture
def project(in_project):
    project = in_project("app", APP)
    project.makefile(".yaml", qa=SUITE)
    (project.path / "answer.txt").write_text("ok")
    return project


def _run_ids(path) -> list[str]:
    from llmeval.ops.history import History

    return [r.run_id for r in History(path).runs()]


def test_history_trend_accept_and_a_history_baseline(project, capsys):
    # the regression gate has no baseline yet: the run fails, but is recorded
    assert main([*RUN, "--prometheus", "m.prom"]) == 1
    out = capsys.readouterr().out
    assert "llmeval history: h.sqlite" in out and "llmeval Prometheus textfile: m.prom" in out
    [first] = _run_ids(project.path / "h.sqlite")
    assert main(["history", "h.sqlite", "accept", first]) == 0
    assert f"accepted run {first}" in capsys.readouterr().out
    # same answers: no regression against the accepted run
    assert main([*RUN, "--baseline", "history:last-accepted"]) == 0
    capsys.readouterr()
    # worse answers: the regression gate fails against the accepted run
    (project.path / "answer.txt").write_text("no")
    assert main([*RUN, "--baseline", "history:last-accepted"]) == 1
    assert "regression" in capsys.readouterr().out
    assert main(["history", "h.sqlite", "--metric", "contains", "--html", "trend.html"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"qa / reply / contains  ██▁  last 0, -1 since the run before", text), text
    assert re.search(r"(?m)^  \S+ .* FAIL +yes ", text)  # the accepted run marked
    html = (project.path / "trend.html").read_text()
    assert "<svg" in html and html.count("<circle") == 3 and "<script" not in html


def test_a_suite_file_changed_since_the_accepted_run_errors_the_regression_gate(project, capsys):
    assert main(RUN) == 1
    [first] = _run_ids(project.path / "h.sqlite")
    main(["history", "h.sqlite", "accept", first])
    (project.path / "qa.yaml").write_text(SUITE.replace("q {{ n }}", "question {{ n }}"))
    assert main([*RUN, "--baseline", "history:last-accepted", "--results", "r.jsonl"]) == 1
    gates = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    [regression] = [g for g in gates if g.get("gate") == "contains-regression"]
    assert regression["status"] == "error"
    assert "suites.qa.sha256 differs from the baseline's" in regression["message"]


def test_no_accepted_run_is_a_usage_error(project, capsys):
    assert main(RUN) == 1
    assert main([*RUN, "--baseline", "history:last-accepted"]) == 4
    assert "no accepted run; accept one with `llmeval history" in capsys.readouterr().err


def test_history_cli_errors(project, capsys):
    assert main(["history", "missing.sqlite"]) == 2
    assert "no run history at missing.sqlite" in capsys.readouterr().err
    main(RUN)
    assert main(["history", "h.sqlite", "accept", "nope"]) == 2
    assert "holds no run 'nope'" in capsys.readouterr().err
    assert main(["history", "h.sqlite", "--metric", "bleu"]) == 1
    assert "no aggregates for metric bleu" in capsys.readouterr().err


def test_the_card_of_a_run(project, capsys):
    main([*RUN, "--results", "r.jsonl", "--cost-per-1k", "2"])
    assert main(["card", "r.jsonl", "--out", "CARD.md", "--cost-per-1k", "2"]) == 0
    card = (project.path / "CARD.md").read_text()
    assert "| qa | reply | contains | 1 |" in card
    assert "cost = tokens / 1000 x 2" in card and "latency_s-p95" in card
