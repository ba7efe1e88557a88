"""Output paths fail before work: an unwritable one is a usage error (exit 4) naming the option and the path, before
any model is called; a write that still fails at the end goes to a fallback file named in a clear message."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from llmeval.cli import main
from llmeval.reporting.output_paths import unwritable

APP = """
import os, shutil, threading

LOCK = threading.Lock()  # the backend may call the app from several threads at once

def answer(prompt, vars):
    open("called", "a").close()
    with LOCK:
        if os.path.isdir("out") and os.environ.get("SABOTAGE"):  # the output folder turns into a file mid-run
            shutil.rmtree("out")
            open("out", "w").close()
    return "fine answer"
"""
SUITE = (
    "suite: late\nmodel: python:app:answer\nprompt: 'q {{ n }}'\ndefaults:\n  scorers: [{contains: fine}]\n"
    "cases:\n  - {id: a, vars: {n: 1}}\n  - {id: b, vars: {n: 2}}\ngates:\n  - {metric: contains, mean: '>= 0.5'}\n"
)


@pytest.fixture
def project(in_project, monkeypatch):
    project = in_project("app", APP)
    project.makefile(".yaml", late=SUITE)
    (project.path / "out").mkdir()
    (project.path / "spare").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(project.path / "spare"))  # where fallback files go
    return project


@pytest.mark.parametrize(
    "where, reason",
    [
        ("/proc/nope/x.html", "cannot create files in /proc"),
        ("{tmp}/file.txt/x.html", "file.txt is not a folder"),
        ("{tmp}", "it is a folder"),
        ("/dev/null", "it is not a regular file"),
        ("{tmp}/new/deeper/x.html", None),
        ("{tmp}/file.txt", None),
    ],
)
def test_unwritable_says_why_and_creates_nothing(tmp_path, where, reason):
    (tmp_path / "file.txt").write_text("kept")
    found = unwritable(Path(where.format(tmp=tmp_path)))
    assert found == reason if reason is None else reason in found
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"] and (tmp_path / "file.txt").read_text() == "kept"


PYTEST_OPTIONS = ["--llmeval-results", "--llmeval-html", "--llmeval-save-baseline", "--junitxml"]


@pytest.mark.parametrize("option", PYTEST_OPTIONS)
@pytest.mark.parametrize("path", ["/proc/nope/x.out", "late.yaml/x.out"])
def test_pytest_refuses_an_unwritable_output_before_any_work(project, option, path):
    result = project.runpytest(option, path)
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: {option} *{path}: cannot write there (*); give a writable path"])
    assert not (project.path / "called").exists()  # no model was called
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_pytest_refuses_an_unwritable_default_results_file_before_generation(project, xdist):
    (project.path / "reports").write_text("a file where the default results folder would be")
    result = project.runpytest_subprocess(*xdist) if xdist else project.runpytest()
    assert result.ret == 4
    expected = "ERROR: --llmeval-results *reports/*/results.jsonl: cannot write there (*reports is not a folder)*"
    result.stderr.fnmatch_lines([expected])
    assert not (project.path / "called").exists()


@pytest.mark.parametrize("option", ["--results", "--html", "--save-baseline", "--junit"])
def test_llmeval_run_refuses_an_unwritable_output_before_any_work(project, option, capsys):
    assert main(["run", ".", "-q", option, "/proc/nope/x.out"]) == 4
    assert f"llmeval: error: {option} /proc/nope/x.out: cannot write there" in capsys.readouterr().err
    assert not (project.path / "called").exists()


OUTPUTS = {"results": "r.jsonl", "HTML report": "r.html", "baseline": "b.json", "JUnit XML": "j.xml"}


def fallbacks(project, text: str) -> dict[str, Path]:
    """Each output's fallback file, as the messages name it; each message names the path that failed."""
    found = {}
    for what, name in OUTPUTS.items():
        head = f"llmeval: error: could not write the {what} to {project.path / 'out' / name}"
        line = next(line for line in text.splitlines() if head in line.replace("to out/", f"to {project.path}/out/"))
        found[what] = Path(line.split("it was written to ")[1].split(" instead")[0])
        assert found[what].parent.parent == project.path / "spare" and found[what].is_file()
    rows = [json.loads(line) for line in found["results"].read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["case", "case", "gate", "verdict", "manifest"]
    return found


def test_pytest_a_late_write_failure_keeps_the_results_in_fallback_files(project, monkeypatch):
    monkeypatch.setenv("SABOTAGE", "1")
    args = ["--llmeval-results", "out/r.jsonl", "--llmeval-html", "out/r.html", "--llmeval-save-baseline", "out/b.json"]
    result = project.runpytest(*args, "--junitxml", "out/j.xml")
    assert result.ret == 4 and (project.path / "out").is_file()
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text and "RELEASE VERDICT: PASS" in text
    assert "<testcase" in fallbacks(project, text)["JUnit XML"].read_text()


def test_llmeval_run_a_late_write_failure_keeps_the_results_in_fallback_files(project, monkeypatch, capsys):
    monkeypatch.setenv("SABOTAGE", "1")
    args = ["--results", "out/r.jsonl", "--html", "out/r.html", "--save-baseline", "out/b.json", "--junit", "out/j.xml"]
    assert main(["run", ".", "-q", *args]) == 4
    captured = capsys.readouterr()
    assert "RELEASE VERDICT: PASS" in captured.out and "Traceback" not in captured.err
    assert "<testcase" in fallbacks(project, captured.err)["JUnit XML"].read_text()
