"""The release verdict cannot be fooled: errors, repeats, baselines, same-name suites, results files."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET

import pytest

APP = """
def flaky(prompt, vars):
    if int(vars["n"]) != 0:
        raise RuntimeError("database down for customer ann@example.com")
    return "ok"

def good(prompt, vars):
    return "ok"
"""


def _suite(
    name: str = "s",
    model: str = "python:app:good",
    gates: str = '  - {metric: contains, pass_rate: ">= 0.9", ci: 0.95}',
    extra: str = "",
) -> str:
    cases = "\n".join(f"  - {{id: c{i}, vars: {{n: {i}}}}}" for i in range(10))
    return (
        f"suite: {name}\nmodel: {model}\nprompt: 'q {{{{ n }}}}'\ngeneration: {{temperature: 0.7}}\n{extra}"
        f"defaults:\n  scorers:\n    - contains: ok\ncases:\n{cases}\ngates:\n{gates}\n"
    )


@pytest.fixture
def project(pytester):
    pytester.makepyfile(app=APP)
    return pytester


def test_errored_cases_fail_the_gate_and_the_verdict(project):
    project.makefile(".yaml", s=_suite(model="python:app:flaky", gates='  - {metric: contains, mean: ">= 0.5"}'))
    result = project.runpytest("--llmeval-results", "r.jsonl")
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=1, errors=9)
    out = result.stdout.str()
    assert "RELEASE VERDICT: FAIL" in out and "9 errored outputs" in out
    gate = [json.loads(x) for x in (project.path / "r.jsonl").read_text().splitlines() if '"kind": "gate"' in x][0]
    assert gate["status"] == "failed" and gate["errors"] == 9 and "9 of 10 outputs errored" in gate["message"]


def test_max_error_rate_allows_a_share_of_errors(project):
    project.makefile(
        ".yaml",
        s=_suite(model="python:app:flaky", gates='  - {metric: contains, mean: ">= 0.5"}', extra="max_error_rate: 0.95\n"),
    )
    result = project.runpytest()
    result.assert_outcomes(passed=2, errors=9)
    out = result.stdout.str()
    assert "PASS  s::contains-mean [flaky]" in out  # the gate tolerates the errors ...
    # ... but the errored cases are checks of their own: the verdict fails, and says why, as the exit code does
    assert "RELEASE VERDICT: FAIL  (1/1 gates passed, 1/10 cases passed, 9 errored outputs)" in out
    assert result.stdout.lines[-1] == "exit code 1: the verdict is FAIL (0 only when the verdict is PASS)"
    assert any(line.startswith("  why: 9 cases errored: s::c1 [flaky]") for line in result.stdout.lines)


@pytest.mark.parametrize("repeat", ["1", "2", "5"])
def test_repeats_do_not_tighten_the_bound(project, repeat):
    """10 passing cases cannot show a pass rate >= 0.9 at 95% (exact bound 0.69), however often sampled."""
    project.makefile(".yaml", s=_suite())
    result = project.runpytest("--llmeval-repeat", repeat, "--llmeval-results", "r.jsonl")
    assert result.ret == 1
    gate = [json.loads(x) for x in (project.path / "r.jsonl").read_text().splitlines() if '"kind": "gate"' in x][0]
    assert gate["status"] == "failed" and gate["bound"] == pytest.approx(0.6915, abs=1e-3)


@pytest.mark.parametrize(
    ("content", "fragment"), [(None, "does not exist"), ("{oops", "not valid JSON"), ('{"a": 1}', "not an llmeval baseline")]
)
def test_a_missing_or_invalid_baseline_is_a_usage_error(project, content, fragment):
    project.makefile(".yaml", s=_suite())
    if content is not None:
        (project.path / "base.json").write_text(content)
    result = project.runpytest("--llmeval-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*base.json*{fragment}*"])


def test_regression_gate_without_a_baseline_fails(project):
    project.makefile(".yaml", s=_suite(gates="  - {metric: contains, regression: {max_drop: 0.0}}"))
    result = project.runpytest()
    result.assert_outcomes(passed=10, failed=1)
    assert "no baseline to compare with" in result.stdout.str()
    recording = project.runpytest("--llmeval-save-baseline", "b.json")
    recording.assert_outcomes(passed=10, skipped=1)


def test_two_suite_files_with_one_name_are_an_error_naming_both(project):
    project.makefile(".yaml", a=_suite(name="same"), b=_suite(name="same"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*b.yaml:1*suite name 'same' is already used by*a.yaml*"])


def test_results_file_is_overwritten_unless_appending(project):
    project.makefile(".yaml", s=_suite(gates='  - {metric: contains, mean: ">= 0.5"}'))
    for _ in range(2):
        project.runpytest("--llmeval-results", "r.jsonl")
    rows = [json.loads(x) for x in (project.path / "r.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "gate" for r in rows) == 1 and len({r["run_id"] for r in rows}) == 1
    project.runpytest("--llmeval-results", "r.jsonl", "--llmeval-append")
    rows = [json.loads(x) for x in (project.path / "r.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "gate" for r in rows) == 2


def test_testsuite_properties_reach_junit_under_xdist(project):
    project.makefile(".yaml", s=_suite(gates='  - {metric: contains, mean: ">= 0.5"}'))
    result = project.runpytest_subprocess("-n", "2", "--junitxml", "j.xml", "--llmeval-junit-properties", "testsuite")
    result.assert_outcomes(passed=11)
    names = [p.get("name") for p in ET.parse(project.path / "j.xml").getroot().iter("property")]
    assert len(names) > 20 and any(n.endswith("|llmeval.score.contains") for n in names)
    assert any(n.endswith("|llmeval.bound") or n.endswith("|llmeval.value") for n in names)


@pytest.mark.parametrize(("setting", "redacted"), [('"no"', False), ('"yes"', True), ("false", False), ("true", True)])
def test_pyproject_booleans_are_typed(project, setting, redacted):
    project.makefile(".yaml", s=_suite(model="python:app:flaky", gates='  - {metric: contains, mean: ">= 0.5"}'))
    project.makefile(".toml", pyproject=f"[tool.llmeval]\nredact_pii = {setting}\nresults = 'r.jsonl'\n")
    project.runpytest_subprocess()  # presidio and spaCy load in a process of their own
    text = (project.path / "r.jsonl").read_text()
    assert ("ann@example.com" in text) is not redacted


def test_ini_option_goes_through_the_same_converter(project):
    project.makefile(".yaml", s=_suite(gates='  - {metric: contains, mean: ">= 0.5"}'))
    bad = project.runpytest("-o", "llmeval_repeat=many")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*llmeval_repeat*repeat must be a whole number of at least 1*"])
    good = project.runpytest("-o", "llmeval_repeat=2", "--llmeval-results", "r.jsonl")
    rows = [json.loads(x) for x in (project.path / "r.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "case" for r in rows) == 20, good.stdout.str()


def test_plugin_import_leaves_the_environment_alone(pytester):
    code = "import os, json; before = dict(os.environ); import llmeval.pytest_plugin.plugin, llmeval; print(json.dumps(dict(os.environ) == before))"  # noqa: E501
    result = pytester.run(sys.executable, "-c", code)
    assert result.stdout.lines[-1] == "true"


def test_same_records_and_verdict_from_the_cli(project, monkeypatch):
    from llmeval.cli import main

    project.makefile(".yaml", s=_suite(model="python:app:flaky", gates='  - {metric: contains, mean: ">= 0.5"}'))
    result = project.runpytest("--llmeval-results", "p.jsonl")
    monkeypatch.chdir(project.path)
    monkeypatch.syspath_prepend(str(project.path))
    status = main(["run", "s.yaml", "--results", "c.jsonl", "--junit", "c.xml", "-q"])
    assert status == result.ret == 1
    assert _comparable(project.path / "p.jsonl") == _comparable(project.path / "c.jsonl")
    tests = list(ET.parse(project.path / "c.xml").getroot().iter("testcase"))
    assert len(tests) == 11 and sum(1 for t in tests if t.find("error") is not None) == 9


def _comparable(path):
    drop = {"run_id", "latency_s", "cached", "finished", "started"}
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    keep = [{k: v for k, v in r.items() if k not in drop} for r in rows if r["kind"] != "manifest"]
    for row in keep:  # the verdict holds its gate records, each with the run's id
        row["gates"] = [{k: v for k, v in g.items() if k not in drop} for g in row.get("gates", [])]
    return sorted(json.dumps(r, sort_keys=True) for r in keep)


def test_scorer_that_exits_is_an_error_on_its_case():
    from llmeval.backends import Generation
    from llmeval.core.scoring import score_jobs
    from llmeval.scorers.base import Score, Threshold
    from tests.core.helpers import case_with_scorer

    class Exits:
        name = "exits"
        threshold = Threshold(min=1)

        def __call__(self, sample):
            raise SystemExit(3)

    class Fine:
        name = "fine"
        threshold = Threshold(min=1)

        def __call__(self, sample):
            return Score("fine", 1.0, self.threshold, True)

    scored = score_jobs([(case_with_scorer(Exits()), "p", Generation("x")), (case_with_scorer(Fine()), "p", Generation("x"))])
    assert scored[0][1] is not None and re.search(r"SystemExit", scored[0][1])
    assert scored[1] == ({"fine": Score("fine", 1.0, Threshold(min=1), True).as_dict()}, None)
