"""A case table that gives no cases is an error at its `cases_from` line, naming the table, in both front ends."""

from __future__ import annotations

import pytest

from llmeval import SuiteError, load_suite
from llmeval.cli import main

SUITE = """\
suite: s
model: python:app:answer
prompt: "{{ q }}"
cases:
  - {id: inline, vars: {q: a}, scorers: [{contains: ok}]}
  - cases_from: TABLE
    scorers: [{contains: ok}]
"""
EMPTY = {"t.csv": "q,answer\n", "t.jsonl": "", "blank.jsonl": "\n\n"}


@pytest.mark.parametrize("table", sorted(EMPTY))
def test_an_empty_table_is_a_suite_error_at_its_block(tmp_path, table):
    (tmp_path / table).write_text(EMPTY[table])
    path = tmp_path / "s.yaml"
    path.write_text(SUITE.replace("TABLE", table))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}:6: 'cases_from': "), message
    assert f"case table {tmp_path / table} has no rows" in message and "add rows" in message


def test_a_limit_keeps_at_least_one_row(tmp_path):
    (tmp_path / "t.csv").write_text("q\nx\ny\n")
    path = tmp_path / "s.yaml"
    path.write_text(SUITE.replace("TABLE", "t.csv"))
    assert [c.id for c in load_suite(path).cases] == ["inline", "t-1", "t-2"]


APP = "def answer(prompt, vars):\n    return 'ok'\n"
GOOD = (
    'suite: good\nmodel: python:app:answer\nprompt: "{{ q }}"\ncases:\n  - {id: one, vars: {q: a}, scorers: [{contains: ok}]}\n'
)


def test_pytest_collection_error_names_the_suite_line_and_the_others_run(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", good=GOOD, s=SUITE.replace("TABLE", "t.csv"))
    (pytester.path / "t.csv").write_text("q\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-threads", "1")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*s.yaml:6: 'cases_from': case table *t.csv has no rows*"])
    assert result.ret == 2


def test_llmeval_run_reports_the_empty_table_and_exits_2(in_project, capsys):
    project = in_project("app", APP)
    project.makefile(".yaml", good=GOOD, s=SUITE.replace("TABLE", "t.csv"))
    (project.path / "t.csv").write_text("q\n")
    assert main(["run", ".", "--results", "r.jsonl", "-q"]) == 2
    assert "s.yaml:6: 'cases_from': case table" in capsys.readouterr().err
