"""End to end through pytest: suite file -> items -> pass/fail -> JUnit properties and results file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

APP = """
def answer(prompt, vars):
    if "return" in prompt:
        return "You have 30 days to return an item."
    return "I do not know."

def other(prompt):
    return "You have 30 days to return an item."

async def slow(prompt, vars):
    import asyncio
    await asyncio.sleep(0.01)
    return "You have 30 days to return an item."

def broken(prompt, vars):
    raise RuntimeError("database down")
"""

QA = """\
suite: qa
model: python:app:answer
prompt: "Q: {{ question }}\\nA:"
defaults:
  scorers:
    - rougeL: {min: 0.5}
cases:
  - id: refund
    vars: {question: "How do I return an item?"}
    reference: "You have 30 days to return an item."
    tags: [refunds]
    scorers: [{contains: "30 days"}]
  - id: shipping
    vars: {question: "What does shipping cost?"}
    reference: "Shipping is free over 50 dollars."
gates:
  - {metric: rougeL, pass_rate: ">= 0.5"}
"""


@pytest.fixture
def project(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", qa=QA)
    return pytester


def test_cases_and_gates_become_items_with_readable_ids(project):
    result = project.runpytest("--collect-only", "-q")
    lines = result.stdout.lines
    for nodeid in ("qa.yaml::refund[answer]", "qa.yaml::shipping[answer]", "qa.yaml::gate:rougeL-pass_rate[answer]"):
        assert nodeid in lines


def test_pass_fail_and_failure_message_without_traceback(project):
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*qa.yaml:13: case 'shipping' failed on answer (python:app:answer)",
            "*prompt:*Q: What does shipping cost?\\nA:",
            "*output:*I do not know.",
            "*reference:*Shipping is free over 50 dollars.",
            "*FAIL rougeL*want >= 0.5*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == 1


def test_k_selects_exactly_one_case_and_m_selects_tags(project):
    result = project.runpytest("-k", "refund")
    result.assert_outcomes(passed=1)
    result = project.runpytest("-m", "refunds")
    result.assert_outcomes(passed=1)


def test_junit_has_score_properties(project):
    project.runpytest("--junitxml", "junit.xml")
    tree = ET.parse(project.path / "junit.xml")
    case = next(tc for tc in tree.iter("testcase") if tc.get("name") == "refund[answer]")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["llmeval.score.rougeL"] == "1.0"
    assert props["llmeval.score.contains"] == "1.0"
    assert props["llmeval.model"] == "python:app:answer"
    gate = next(tc for tc in tree.iter("testcase") if tc.get("name").startswith("gate:"))
    assert {p.get("name") for p in gate.iter("property")} >= {"llmeval.value", "llmeval.threshold", "llmeval.metric"}


def test_results_file_has_the_contract_fields(project):
    project.runpytest("--llmeval-results", "out/results.jsonl")
    rows = [json.loads(line) for line in (project.path / "out" / "results.jsonl").read_text().splitlines()]
    cases = [r for r in rows if r["kind"] == "case"]
    assert {r["case"] for r in cases} == {"refund", "shipping"}
    for row in cases:
        for field in (
            "suite",
            "case",
            "model",
            "prompt",
            "output",
            "reference",
            "scores",
            "passed",
            "error",
            "latency_s",
            "tokens",
        ):
            assert field in row
    refund = next(r for r in cases if r["case"] == "refund")
    assert refund["scores"]["rougeL"] == {**refund["scores"]["rougeL"], "value": 1.0, "passed": True}
    assert [r["kind"] for r in rows].count("gate") == 1


def test_broken_suite_is_one_collection_error_and_others_still_run(project):
    project.makefile(
        ".yaml", broken="suite: broken\nmodel: python:app:answer\nprompt: hi\ncases:\n  - id: a\n    scorers: [{rouge_l: {}}]\n"
    )
    result = project.runpytest()
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*broken.yaml:6: 'rouge_l': unknown scorer 'rouge_l'*", "*did you mean 'rougeL'*"])
    assert result.ret == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope:thing", "unknown model spec prefix 'nope:'"),
        ("openai:localhost:8000", "needs the model name after"),
        ("python:missing_module:fn", "cannot import module 'missing_module'"),
        ("python:app:nothing", "module 'app' has no callable 'nothing'"),
        ("hf:no/such/model-dir", "cannot find model 'hf:no/such/model-dir'"),
        ("justaname", "has no prefix"),
    ],
)
def test_unloadable_model_is_one_clear_error_per_suite(project, spec, message):
    result = project.runpytest("--llmeval-model", spec)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stdout.str()


def test_model_option_repeats_every_case_per_model(project):
    result = project.runpytest(
        "--llmeval-model", "python:app:answer", "--llmeval-model", "python:app:other", "-v", "--llmeval-html", "r.html"
    )
    outcomes = {line.split()[0]: line.split()[1] for line in result.stdout.lines if line.startswith("qa.yaml::")}
    assert outcomes["qa.yaml::refund[answer]"] == "PASSED" and outcomes["qa.yaml::shipping[answer]"] == "FAILED"
    assert outcomes["qa.yaml::refund[other]"] == "PASSED" and outcomes["qa.yaml::shipping[other]"] == "FAILED"
    # several models in one run: a side-by-side comparison in the terminal and next to the HTML report
    result.stdout.fnmatch_lines(["Means (95% interval)", "Pairwise (delta = b - a, paired bootstrap)"])
    assert "answer" in (project.path / "r-compare.html").read_text()


def test_async_callable_backend(project):
    result = project.runpytest("--llmeval-model", "python:app:slow", "--llmeval-concurrency", "4", "-v")
    result.assert_outcomes(passed=2, failed=1)
    assert any(line.startswith("qa.yaml::refund[slow] PASSED") for line in result.stdout.lines)


def test_application_error_is_an_error_not_a_failure(project):
    result = project.runpytest("--llmeval-model", "python:app:broken", "-k", "refund")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*case 'refund' could not be evaluated on python:app:broken*RuntimeError: database down*"])


def test_pyproject_settings_and_unknown_setting(project):
    project.makepyprojecttoml('[tool.llmeval]\nmodel = "python:app:other"\nresults = "r.jsonl"\n')
    result = project.runpytest("-v")
    assert any(line.startswith("qa.yaml::refund[other] PASSED") for line in result.stdout.lines)
    assert (project.path / "r.jsonl").is_file()
    project.makepyprojecttoml('[tool.llmeval]\nmodle = "python:app:other"\n')
    result = project.runpytest()
    result.stderr.fnmatch_lines(["*unknown llmeval setting 'modle'*did you mean 'model'*"])


def test_repeat_gives_one_row_per_sample(project):
    project.runpytest("--llmeval-repeat", "3", "--llmeval-results", "r.jsonl", "-k", "refund")
    rows = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    assert sorted(r["sample"] for r in rows if r["kind"] == "case") == [0, 1, 2]


def test_plain_python_tests_are_untouched(pytester):
    pytester.makepyfile("def test_ok():\n    assert True\n")
    pytester.makefile(".yaml", notasuite="name: just some yaml\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_under_xdist_rows_reach_the_controller_and_gates_still_aggregate(project):
    result = project.runpytest_subprocess("-n", "2", "--llmeval-results", "r.jsonl", "--junitxml", "j.xml")
    result.assert_outcomes(passed=2, failed=1)
    rows = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in rows[-2:]] == ["verdict", "manifest"]
    rows = [r for r in rows if r["kind"] in ("case", "gate")]
    assert sorted(r.get("case") or r["gate"] for r in rows) == ["refund", "rougeL-pass_rate", "shipping"]
    gate = next(r for r in rows if r["kind"] == "gate")
    assert gate["n"] == 2 and gate["value"] == 0.5


def test_llm_fixture_and_check_in_plain_python_tests(project):
    project.makepyfile(
        test_app="""
from llmeval import check

def test_refund(llm):
    out = llm("Q: How do I return an item?\\nA:", max_new_tokens=16)
    check(out, reference="You have 30 days to return an item.", rougeL={"min": 0.5})

def test_wrong(llm):
    check(llm("What does shipping cost?"), contains="free")
"""
    )
    result = project.runpytest("test_app.py", "--llmeval-model", "python:app:answer")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: llmeval check failed:", "*contains = 0, want >= 1: missing*free*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llmeval-repeat", "0"], "repeat must be a whole number of at least 1"),
        (["--llmeval-threads", "0"], "threads must be a whole number of at least 1"),
        (["--llmeval-batch-size", "lots"], "batch_size must be a positive number or 'auto'"),
        (["-o", "llmeval_batching=dynamic"], "batching must be one of auto, static, pruned, continuous"),
    ],
)
def test_bad_option_values_are_usage_errors(project, args, message):
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_suites_with_their_own_models_are_not_compared(project):
    project.makefile(".yaml", other=QA.replace("suite: qa", "suite: qa2").replace("python:app:answer", "python:app:other"))
    result = project.runpytest("--llmeval-html", "r.html")
    assert "Means (95% interval)" not in result.stdout.str()
    assert not (project.path / "r-compare.html").exists()


def test_replay_rescores_a_previous_run_without_the_model(project):
    project.runpytest("--llmeval-results", "first.jsonl")
    (project.path / "app.py").write_text("def answer(prompt, vars):\n    raise RuntimeError('model is gone')\n")
    stricter = QA.replace("rougeL: {min: 0.5}", "rougeL: {min: 0.99}")
    (project.path / "qa.yaml").write_text(stricter)
    result = project.runpytest("--llmeval-model", "replay:first.jsonl", "-v", "--llmeval-results", "second.jsonl")
    outcomes = {line.split()[0]: line.split()[1] for line in result.stdout.lines if line.startswith("qa.yaml::")}
    assert outcomes["qa.yaml::refund[answer]"] == "PASSED" and outcomes["qa.yaml::shipping[answer]"] == "FAILED"
    second = [json.loads(line) for line in (project.path / "second.jsonl").read_text().splitlines()]
    assert next(r for r in second if r.get("case") == "refund")["output"] == "You have 30 days to return an item."


def test_replay_of_a_missing_prompt_is_an_error_on_that_case(project):
    project.runpytest("--llmeval-results", "first.jsonl", "-k", "refund")
    result = project.runpytest("--llmeval-model", "replay:first.jsonl#answer", "-k", "shipping")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no recorded output for this prompt*"])


def test_a_run_without_suites_leaves_no_trace(pytester):
    pytester.makepyfile("def test_ok():\n    assert True\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert not (pytester.path / ".llmeval").exists()
    assert not (pytester.path / "reports").exists()
