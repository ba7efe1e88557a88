"""Broken suite files: each error names file:line, the key and a fix; good files expand as written."""

from __future__ import annotations

import textwrap

import pytest

from llmeval import SuiteError, load_suite

GOOD = """\
suite: demo
model: python:app:answer
prompt: "Q: {{ question }}\\nA:"
defaults:
  vars: {shop: Acme}
  scorers:
    - rougeL: {min: 0.5}
cases:
  - id: refund
    vars: {question: "How long?"}
    reference: "30 days at {{ shop }}"
    tags: [refunds]
    scorers:
      - contains: "30 days"
"""

BROKEN = [
    # (name, suite text, line, substrings expected in the message)
    ("yaml-syntax", "suite: x\ncases: [\n  - id: a\n", 3, ["not valid YAML"]),
    ("not-a-mapping", "- suite: x\n", 1, ["must be a mapping"]),
    ("missing-cases", "suite: x\nprompt: hi\n", 1, ["required key 'cases' is missing", "for example"]),
    (
        "unknown-top-key",
        "suite: x\npromt: hi\ncases:\n  - {id: a, scorers: [{exact: y}]}\n",
        2,
        ["unknown key 'promt'", "did you mean 'prompt'"],
    ),
    (
        "unknown-case-key",
        "suite: x\nprompt: hi\ncases:\n  - id: a\n    refrence: y\n    scorers: [{exact: y}]\n",
        5,
        ["unknown key 'refrence'", "did you mean 'reference'"],
    ),
    (
        "unknown-scorer",
        "suite: x\nprompt: hi\ncases:\n  - id: a\n    scorers:\n      - rouge_l: {min: 0.5}\n",
        6,
        ["unknown scorer 'rouge_l'", "did you mean 'rougeL'", "available:"],
    ),
    (
        "bad-scorer-param",
        "suite: x\nprompt: hi\ncases:\n  - id: a\n    scorers:\n      - rougeL: {minimum: 0.5}\n",
        6,
        ["bad parameters for scorer 'rougeL'", "accepts: min, max"],
    ),
    (
        "undefined-var",
        'suite: x\nprompt: "Q: {{ question }}"\ncases:\n  - id: a\n    vars: {questoin: hi}\n    scorers: [{exact: y}]\n',
        4,
        ["undefined variable", "'question' is undefined", "defined here: questoin"],
    ),
    (
        "wrong-type",
        "suite: x\nprompt: hi\ngeneration: {max_new_tokens: lots}\ncases:\n  - {id: a, scorers: [{exact: y}]}\n",
        3,
        ["max_new_tokens", "valid integer", "'lots'"],
    ),
    (
        "duplicate-id",
        "suite: x\nprompt: hi\ncases:\n  - {id: a, scorers: [{exact: y}]}\n  - {id: a, scorers: [{exact: y}]}\n",
        5,
        ["duplicate case id 'a'"],
    ),
    ("no-scorers", "suite: x\nprompt: hi\ncases:\n  - id: a\n", 4, ["no scorers", "could never fail"]),
    ("no-prompt", "suite: x\ncases:\n  - {id: a, scorers: [{exact: y}]}\n", 3, ["no prompt"]),
    (
        "gate-unknown-metric",
        "suite: x\nprompt: hi\ncases:\n  - {id: a, scorers: [{exact: y}]}\ngates:\n  - {metric: rougeL, mean: '>= 0.5'}\n",
        6,
        ["no case in this suite scores", "available: exact"],
    ),
    (
        "gate-unknown-key",
        "suite: x\nprompt: hi\ncases:\n  - {id: a, scorers: [{exact: y}]}\ngates:\n  - {metric: exact, avg: '>= 0.5'}\n",
        6,
        ["unknown key 'avg'"],
    ),
    (
        "missing-table",
        "suite: x\nprompt: hi\ncases:\n  - cases_from: nope.csv\n    scorers: [{exact: y}]\n",
        4,
        ["case table not found", "relative to the suite file"],
    ),
    (
        "bad-regex",
        "suite: x\nprompt: hi\ncases:\n  - id: a\n    scorers:\n      - regex: '([a-z'\n",
        6,
        ["invalid regular expression"],
    ),
    (
        "duplicate-key",
        "suite: x\nprompt: hi\nprompt: again\ncases:\n  - {id: a, scorers: [{exact: y}]}\n",
        3,
        ["duplicate key 'prompt'"],
    ),
    ("bad-case-id", "suite: x\nprompt: hi\ncases:\n  - {id: 'a b', scorers: [{exact: y}]}\n", 4, ["'id'", "not a valid name"]),
]


@pytest.mark.parametrize(("name", "text", "line", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_suite_error_names_file_line_and_fix(tmp_path, name, text, line, expected):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert "Traceback" not in message


def test_good_suite_expands_defaults_templates_and_scorers(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    suite = load_suite(path)
    (case,) = suite.cases
    assert (case.id, case.line, case.prompt) == ("refund", 9, "Q: How long?\nA:")
    assert case.references == ("30 days at Acme",)
    assert [s.name for s in case.scorers] == ["rougeL", "contains"]
    assert case.tags == ("refunds",)


@pytest.mark.parametrize(
    ("table_name", "content"),
    [
        ("faq.csv", "id,question,answer\nq1,Where?,Here\nq2,When?,Now\n"),
        (
            "faq.jsonl",
            '{"id": "q1", "question": "Where?", "answer": "Here"}\n{"id": "q2", "question": "When?", "answer": "Now"}\n',
        ),
    ],
)
def test_case_tables_become_cases_with_their_own_lines(tmp_path, table_name, content):
    (tmp_path / table_name).write_text(content)
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent(f"""\
        suite: t
        prompt: "Q: {{{{ question }}}}"
        cases:
          - cases_from: {table_name}
            reference: "{{{{ answer }}}}"
            scorers: [{{exact: "{{{{ answer }}}}"}}]
        """)
    )
    suite = load_suite(tmp_path / "s.yaml")
    assert [(c.id, c.prompt, c.references, c.path.endswith(table_name)) for c in suite.cases] == [
        ("q1", "Q: Where?", ("Here",), True),
        ("q2", "Q: When?", ("Now",), True),
    ]
    first_line = 2 if table_name.endswith(".csv") else 1
    assert [c.line for c in suite.cases] == [first_line, first_line + 1]


def test_parquet_table(tmp_path):
    import pandas as pd

    pd.DataFrame({"question": ["a?", "b?"], "answer": ["A", "B"]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "s.yaml").write_text(
        'suite: p\nprompt: "{{ question }}"\ncases:\n  - cases_from: t.parquet\n'
        '    reference: "{{ answer }}"\n    scorers: [{exact: "{{ answer }}"}]\n'
    )
    suite = load_suite(tmp_path / "s.yaml")
    assert [c.id for c in suite.cases] == ["t-1", "t-2"]


def test_chat_messages_are_rendered(tmp_path):
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent("""\
        suite: chat
        messages:
          - {role: system, content: "You work for {{ shop }}."}
          - {role: user, content: "{{ question }}"}
        defaults: {vars: {shop: Acme}}
        cases:
          - {id: a, vars: {question: hi}, scorers: [{contains: hello}]}
        """)
    )
    (case,) = load_suite(tmp_path / "s.yaml").cases
    assert case.prompt is None
    assert case.messages == (("system", "You work for Acme."), ("user", "hi"))


def test_example_suites_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in sorted((root / "suites").glob("*.yaml")):
        suite = load_suite(path)
        assert suite.cases and suite.model
