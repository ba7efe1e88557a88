"""Through pytest: a hostile suite file is a collection error of that file only; the others still run."""

from __future__ import annotations

import pytest

from tests.suite.test_bounds import DOUBLING, LOOPS4
from tests.suite.test_hostile import billion_laughs

GOOD = """\
suite: good
model: python:app:answer
prompt: "{{ question }}"
cases:
  - {id: one, vars: {question: a}, scorers: [{contains: ok}]}
"""

HOSTILE = {
    "latin": (b'suite: latin\nmodel: python:app:answer\nprompt: "caf\xe9"\n', 3, "not valid UTF-8"),
    "tagged": (b"suite: tagged\nmodel: python:app:answer\nprompt: !!python/name:os.system hi\n", 3, "!!python/name"),
    "bomb": (billion_laughs().encode(), 6, "aliases expand the document"),
    "zerodiv": (b'suite: zerodiv\nmodel: python:app:answer\nprompt: "{{ 1/0 }}"\n', 5, "ZeroDivisionError"),
    "include": (b"suite: include\nmodel: python:app:answer\nprompt: \"{% include 'x' %}\"\n", 5, "no loader"),
    "loops": (b'suite: loops\nmodel: python:app:answer\nprompt: "' + LOOPS4.encode() + b'"\n', 5, "budget of 500,000 steps"),
    "doubling": (b'suite: doubling\nmodel: python:app:answer\nprompt: "' + DOUBLING.encode() + b'"\n', 5, "10,000,000"),
}
CASES = b"cases:\n  - {id: a, vars: {s: " + b"y" * 400 + b"}, scorers: [{contains: ok}]}\n"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_suite_is_a_collection_error_and_the_others_run(pytester, name):
    content, line, message = HOSTILE[name]
    pytester.makepyfile(app="def answer(prompt, vars):\n    return 'ok'\n")
    pytester.makefile(".yaml", good=GOOD)
    (pytester.path / f"{name}.yaml").write_bytes(content + (b"" if name == "bomb" else CASES))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-threads", "1")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*{name}.yaml:{line}: *{message}*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    assert result.ret == 2


def test_ids_with_slash_and_colon_are_selectable_by_node_id(pytester):
    pytester.makepyfile(app="def answer(prompt, vars):\n    return 'ok'\n")
    pytester.makefile(".yaml", s=GOOD.replace("id: one", "id: 'faq:a/b'"))
    result = pytester.runpytest("-p", "no:cacheprovider", "s.yaml::faq:a/b[answer]")
    result.assert_outcomes(passed=1)
