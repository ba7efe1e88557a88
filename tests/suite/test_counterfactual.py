"""Counterfactual expansion: one set per base case (and per name index), tagged with groups; ids select with -k."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from llmeval import SuiteError, load_suite
from llmeval.suite.schema import CASE_ID_PATTERN

SUITE = """\
suite: cf
model: python:app:answer
prompt: "{{ name }} ({{ age }}) asks about {{ topic }}"
counterfactual:
  attributes:
    ethnicity: {var: name, values: {white: [Emily, Greg], black: [Lakisha, Jamal]}}
    age: {young: 25, older: 62}
defaults:
  scorers: [{decision: {choices: {yes: [approved], no: [denied]}}}]
cases:
  - id: loan
    vars: {topic: loans}
  - cases_from: topics.csv
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "topics.csv").write_text("id,topic\nt1,rent\nt2,cars\nt3,homes\n")
    path = tmp_path / "cf.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_base_case_becomes_tagged_sets(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, SUITE))
    # 4 base cases (1 inline + 3 table rows) x 2 name indexes x 2 ethnicities x 2 ages
    assert len(suite.cases) == 4 * 2 * 2 * 2
    sets = {c.vars["counterfactual.set"] for c in suite.cases}
    assert sets == {f"{b}.{i}" for b in ("loan", "t1", "t2", "t3") for i in (1, 2)}
    case = next(c for c in suite.cases if c.id == "t2.2:black.older")
    assert case.vars["name"] == "Jamal" and case.vars["age"] == 62
    assert case.vars["group.ethnicity"] == "black" and case.vars["group.age"] == "older"
    assert case.prompt == "Jamal (62) asks about cars"
    assert all(re.fullmatch(CASE_ID_PATTERN, c.id) for c in suite.cases)
    members = [c for c in suite.cases if c.vars["counterfactual.set"] == "loan.1"]
    assert sorted(c.vars["name"] for c in members) == ["Emily", "Emily", "Lakisha", "Lakisha"]


def test_single_values_make_one_set_per_case(tmp_path: Path) -> None:
    text = SUITE.replace("{white: [Emily, Greg], black: [Lakisha, Jamal]}", "{white: Emily, black: Lakisha}")
    suite = load_suite(_write(tmp_path, text))
    assert len(suite.cases) == 4 * 2 * 2
    assert {c.id for c in suite.cases if c.vars["counterfactual.set"] == "loan"} == {
        "loan:white.young",
        "loan:white.older",
        "loan:black.young",
        "loan:black.older",
    }


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("age: {young: 25, older: 62}", "age: {young: 25}", "at least two groups"),
        ("age: {young: 25, older: 62}", "age: {young one: 25, older: 62}", "plain name"),
    ],
)
def test_bad_blocks_name_file_and_line(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    with pytest.raises(SuiteError, match=fragment) as info:
        load_suite(_write(tmp_path, SUITE.replace(old, new)))
    assert info.value.line in (6, 7)
