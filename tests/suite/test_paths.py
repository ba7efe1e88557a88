"""Confined paths: a suite reads files inside the project (or an allowed folder), never special files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmeval import SuiteError, load_suite
from llmeval.cli import main

APP = "def answer(prompt, vars):\n    return 'ok'\n"
SUITE = """suite: s
model: python:app:answer
prompt: "{{{{ q }}}}"
cases:
  - cases_from: {table}
    scorers: [{{contains: ok}}]
"""


@pytest.fixture
def project(pytester):
    """A project folder (pytest's rootdir) with an app; a secret table sits next to it, outside."""
    pytester.makepyfile(app=APP)
    pytester.makeini("[pytest]\n")
    (pytester.path.parent / "secret.csv").write_text("q\nthe neighbour's secret row\n")
    return pytester


@pytest.mark.parametrize("table", ["../secret.csv", "ABSOLUTE", "link.csv"])
def test_tables_outside_the_project_are_refused_through_pytest(project, table):
    secret = project.path.parent / "secret.csv"
    if table == "ABSOLUTE":
        table = str(secret)
    elif table == "link.csv":
        (project.path / "link.csv").symlink_to(secret)
    project.makefile(".yaml", s=SUITE.format(table=table))
    result = project.runpytest("-p", "no:cacheprovider", "--llmeval-results", "r.jsonl")
    result.stdout.fnmatch_lines(
        [f"*s.yaml:5: 'cases_from': cases_from '*' is refused: it resolves to {secret}, outside the project*"]
    )
    result.stdout.fnmatch_lines(["*--llmeval-allow-path DIR*"])
    assert result.ret == 2
    results = project.path / "r.jsonl"
    assert not results.exists() or "neighbour" not in results.read_text()


@pytest.mark.parametrize(
    "how",
    [["--llmeval-allow-path=.."], ["-o", "llmeval_allow_path=.."], "pyproject"],
)
def test_a_folder_allowed_explicitly_is_read(project, how):
    project.makefile(".yaml", s=SUITE.format(table="../secret.csv"))
    if how == "pyproject":
        (project.path / "pyproject.toml").write_text('[tool.llmeval]\nallow_paths = [".."]\n')
        how = []
    result = project.runpytest("-p", "no:cacheprovider", "--llmeval-results", "r.jsonl", *how)
    result.assert_outcomes(passed=1)
    assert "neighbour" in (project.path / "r.jsonl").read_text()


def test_llmeval_run_confines_to_its_folder_unless_allowed(project, monkeypatch, capsys):
    monkeypatch.chdir(project.path)
    monkeypatch.syspath_prepend(str(project.path))
    project.makefile(".yaml", s=SUITE.format(table="../secret.csv"))
    assert main(["run", "s.yaml", "-q", "--results", "r.jsonl"]) == 2
    assert "is refused: it resolves to" in capsys.readouterr().err
    assert main(["run", "s.yaml", "-q", "--results", "r.jsonl", "--allow-path", ".."]) == 0
    assert "neighbour" in (project.path / "r.jsonl").read_text()


@pytest.mark.parametrize(("target", "expected"), [("/proc/self/environ", "special file"), ("FIFO", "special file")])
def test_special_files_are_refused_even_when_allowed(tmp_path, target, expected):
    link = tmp_path / "t.csv"
    if target == "FIFO":
        os.mkfifo(link)
    else:
        link.symlink_to(target)
    path = tmp_path / "s.yaml"
    path.write_text(SUITE.format(table="t.csv"))
    with pytest.raises(SuiteError, match=expected):
        load_suite(path, root=tmp_path, allow_paths=["/"])


def test_cache_key_files_outside_the_project_are_refused(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside.py").write_text("x = 1\n")
    (project / "t.csv").write_text("q\na\n")
    path = project / "s.yaml"
    path.write_text(SUITE.format(table="t.csv") + "cache_key_files: ['../*.py']\n")
    with pytest.raises(SuiteError, match=r"s.yaml:7: 'cache_key_files': .*outside the project"):
        load_suite(path, root=project)
    assert load_suite(path, root=project, allow_paths=[Path("..")]).cache_key_files == (str(tmp_path / "outside.py"),)
