"""`pytest`, `pytest -n 2` and `llmeval run` conclude a run with the same code (llmeval.core.conclude): for the same
inputs they write byte-identical results files and HTML reports, baseline comparison and verdict included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

APP = """
def first(prompt, vars):
    return "The refund takes five days." if "refund" in prompt else "Please contact support."

def second(prompt, vars):
    return "Shipping is free over 50 euros." if "ship" in prompt else "I do not know."
"""
SUITE = """suite: {name}
model: python:app:{fn}
prompt: "{{{{ question }}}}"
defaults:
  scorers: [{{contains: "{word}"}}, {{rougeL: {{min: 0.3}}}}]
regression:
  - {{metric: rougeL, max_drop: 0.05}}
gates:
  - {{name: most-pass, metric: contains, pass_rate: ">= 0.3"}}
cases:
  - {{id: a, vars: {{question: "how long does a refund take?"}}, reference: "A refund takes five days."}}
  - {{id: b, vars: {{question: "what about shipping?"}}, reference: "Shipping is free over 50 euros."}}
  - {{id: c, vars: {{question: "can I pay by card?"}}, reference: "Yes, we take cards."}}
"""
OUTPUTS = ("out/results.jsonl", "out/report.html")
COMMON = ("--run-id", "ci-42", "--baseline", "base.json", "--results", OUTPUTS[0], "--html", OUTPUTS[1])


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764720000")  # fixes the manifest's start and end times
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", alpha=SUITE.format(name="alpha", fn="first", word="refund"))
    pytester.makefile(".yaml", beta=SUITE.format(name="beta", fn="second", word="free"))
    # the baseline, and a warm cache: every front end below reads the same generations
    pytester.runpytest_subprocess("--llmeval-save-baseline", "base.json", "--llmeval-results", "warm.jsonl")
    assert (pytester.path / "base.json").is_file()
    return pytester


def outputs(pytester, name):
    """Move this run's files aside under `name`; their bytes."""
    found = {}
    for relative in OUTPUTS:
        path = pytester.path / relative
        found[relative] = path.read_bytes()
        shutil.move(path, pytester.path / f"{name}-{path.name}")
    return found


def test_pytest_xdist_and_llmeval_run_write_identical_files(project):
    pytest_flags = [f"--llmeval-{flag[2:]}" if flag.startswith("--") else flag for flag in COMMON]
    serial = project.runpytest_subprocess(*pytest_flags)
    serial.assert_outcomes(passed=6, failed=4)
    wrote = {"pytest": outputs(project, "serial")}
    project.runpytest_subprocess(*pytest_flags, "-n", "2").assert_outcomes(passed=6, failed=4)
    wrote["pytest -n 2"] = outputs(project, "xdist")
    cli = subprocess.run(
        [sys.executable, "-m", "llmeval", "run", "alpha.yaml", "beta.yaml", "-q", *COMMON],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1, cli.stderr
    wrote["llmeval run"] = outputs(project, "cli")

    rows = [json.loads(line) for line in wrote["pytest"][OUTPUTS[0]].decode().splitlines()]
    assert {r["run_id"] for r in rows if "run_id" in r} == {"ci-42"}
    assert [r["kind"] for r in rows][-2:] == ["verdict", "manifest"]
    verdict = rows[-2]
    assert verdict["passed"] is False and verdict["cases_failed"] == 4
    assert rows[-1]["models"] and rows[-1]["started"] == "2025-12-03T00:00:00+00:00"
    for front_end in ("pytest -n 2", "llmeval run"):
        for relative in OUTPUTS:
            assert wrote[front_end][relative] == wrote["pytest"][relative], f"{front_end} wrote another {relative}"


def test_xdist_workers_record_the_controllers_run_id(project):
    """A defect: each xdist worker made its own run id, so records disagreed with the verdict and the manifest."""
    project.runpytest_subprocess("-n", "2", "--llmeval-results", "x.jsonl")
    rows = [json.loads(line) for line in (project.path / "x.jsonl").read_text().splitlines()]
    assert len({r["run_id"] for r in rows}) == 1
