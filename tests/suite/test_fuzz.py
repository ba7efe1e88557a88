"""Fuzz: generated suite files (YAML shapes, templates, tables) give a clean error or a run, never a traceback.

Each example is loaded; one that loads is run with `llmeval run` on an echo `python:` app (no model).
A clean error names the suite file (or its table) with a line; an error that calls itself a bug in
llmeval, an exception that escapes, a case read from outside the project, a load over 15 s or the
process growing by 512 MB in one example fails the test.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from llmeval import SuiteError, load_suite
from llmeval.cli import main

EXAMPLES = 80
APP = "def echo(prompt, vars):\n    return prompt if isinstance(prompt, str) else ' '.join(c for _, c in prompt)\n"
VARS = ["q", "a", "s", "items", "n"]
CHEAP_SCORERS = ["contains", "exact", "length", "regex", "rougeL", "bleu", "not_contains", "rouge_l"]


def mostly(good: Any, bad: Any) -> Any:
    """Usually `good` (so generated suites get past validation into templates, tables and runs), sometimes `bad`."""
    return st.sampled_from([True] * 7 + [False]).flatmap(lambda ok: good if ok else bad)


names = st.sampled_from(VARS)
literals = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(["[1, 2]", "'x' * 3", "none", "[]"]),
)
expressions = st.recursive(
    st.one_of(literals, names),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "~", "*", "%", "**", "//", "-", "==", "in", "and"]), inner).map(" ".join),
        st.tuples(
            inner,
            st.sampled_from(
                [
                    "upper",
                    "length",
                    "join(',')",
                    "replace('a', 'bb')",
                    "center(9)",
                    "default('d')",
                    "list",
                    "first",
                    "int",
                    "string",
                    "truncate(5)",
                    "wordwrap(3)",
                    "indent(2)",
                    "batch(2)",
                    "format(1)",
                    "round",
                    "sum",
                    "reverse",
                    "sort",
                    "unique",
                    "tojson",
                    "map('upper')",
                    "selectattr('x')",
                    "e",
                    "title",
                ]
            ),
        ).map("|".join),
        st.tuples(inner, st.sampled_from([".upper()", ".split()", ".replace('x', 'yy')", ".format(1)", "[0]", "[1:]", ".x"])).map(
            "".join
        ),
        inner.map(lambda e: f"range({e})"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=6,
)
blocks = mostly(
    st.one_of(
        st.text(max_size=12),
        expressions.map(lambda e: "{{ " + e + " }}"),
        st.tuples(names, expressions, expressions).map(lambda t: f"{{% for {t[0]} in {t[1]} %}}{{{{ {t[2]} }}}}{{% endfor %}}"),
        st.tuples(expressions, expressions).map(lambda t: f"{{% if {t[0]} %}}{{{{ {t[1]} }}}}{{% else %}}no{{% endif %}}"),
        st.tuples(names, expressions).map(lambda t: f"{{% set {t[0]} = {t[1]} %}}"),
        expressions.map(lambda e: "{% macro m(v) %}{{ v ~ " + e + " }}{% endmacro %}{{ m(1) }}"),
    ),
    st.sampled_from(["{{", "{%", "}}", "{% endfor %}", "{# x", "{{ q", "{% for %}", "{{ ''.__class__ }}"]),
)
templates = st.lists(blocks, max_size=5).map("".join)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**9), 10**9), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=8,
)


case_vars = mostly(
    st.fixed_dictionaries({"q": st.text(max_size=12), "n": st.integers(-3, 9)}),
    st.dictionaries(st.one_of(names, st.text(max_size=5)), values, max_size=4),
)
base_vars = st.fixed_dictionaries(
    {
        "q": st.text(max_size=12),
        "a": st.text(max_size=12),
        "s": st.text(max_size=30),
        "items": st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=5),
        "n": st.integers(-3, 9),
    }
)
good_scorer = st.one_of(
    mostly(st.sampled_from(["o", "{{ q }}", "a"]), templates).map(lambda t: {"contains": t}),
    st.integers(0, 50).map(lambda n: {"length": {"max": n}}),
    templates.map(lambda t: {"exact": t}),
    st.floats(0, 1).map(lambda x: {"rougeL": {"min": x}}),
)
scorers = st.lists(
    mostly(
        good_scorer,
        st.one_of(
            st.tuples(
                st.sampled_from(CHEAP_SCORERS), st.one_of(values, st.dictionaries(st.text(max_size=6), values, max_size=3))
            ),
            st.tuples(st.text(max_size=8), values),
        ).map(lambda t: {t[0]: t[1]}),
    ),
    max_size=3,
)
inline_cases = st.fixed_dictionaries(
    {"id": mostly(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True), st.text(max_size=6)), "vars": case_vars},
    optional={"scorers": scorers, "reference": templates, "prompt": templates, "tags": st.lists(st.text(max_size=5), max_size=2)},
)
table_cases = st.fixed_dictionaries(
    {
        "cases_from": mostly(
            st.sampled_from(["t.csv", "t.jsonl"]),
            st.sampled_from(["missing.csv", "../../outside.csv", "/etc/passwd", "t.txt", "/proc/self/environ"]),
        )
    },
    optional={
        "id": mostly(st.just("r-{{ row }}"), templates),
        "limit": st.integers(-2, 5),
        "reference": templates,
        "scorers": scorers,
    },
)
generated_cases = st.fixed_dictionaries(
    {
        "generate": mostly(
            st.just({"q": "email"}), st.dictionaries(names, st.sampled_from(["email", "name", "nonsense"]), max_size=2)
        ),
        "n": mostly(st.integers(1, 5), st.integers(-1, 10**7)),
    },
    optional={"seed": st.integers(0, 5), "id": mostly(st.just("p"), st.just("bad id"))},
)
counterfactuals = mostly(
    st.just({"attributes": {"a": {"g1": "x", "g2": ["y", "z"]}}}),
    st.fixed_dictionaries(
        {
            "attributes": st.dictionaries(
                names, st.dictionaries(st.sampled_from(["g1", "g2", "g 3"]), values, max_size=3), max_size=3
            )
        }
    ),
)
limits = st.fixed_dictionaries(
    {},
    optional={
        "cases": st.integers(-1, 50),
        "template_steps": st.integers(0, 5000),
        "template_output": st.integers(1, 400),
        "template_chars": st.integers(1, 2000),
    },
)
known_keys = st.fixed_dictionaries(
    {
        "suite": mostly(st.just("fuzz"), st.text(max_size=6)),
        "prompt": templates,
        "defaults": st.fixed_dictionaries({"vars": base_vars, "scorers": st.lists(good_scorer, min_size=1, max_size=2)}),
        "cases": mostly(
            st.lists(st.one_of(inline_cases, inline_cases, table_cases, generated_cases), min_size=1, max_size=4),
            st.lists(st.one_of(inline_cases, table_cases, generated_cases, values), max_size=3),
        ),
    },
    optional={
        "messages": st.lists(
            st.fixed_dictionaries({"role": mostly(st.just("user"), st.just("robot")), "content": templates}), max_size=2
        ),
        "counterfactual": counterfactuals,
        "limits": limits,
        "repeat": mostly(st.just(1), st.integers(-1, 3)),
        "gates": st.lists(
            st.fixed_dictionaries(
                {"metric": st.sampled_from(["contains", "length", "nope"]), "mean": st.sampled_from([">= 0.5", "< x", 0.1])}
            ),
            max_size=2,
        ),
    },
)
suites = st.builds(
    lambda known, extra: {**known, **extra},
    known_keys,
    mostly(st.just({}), st.dictionaries(st.text(max_size=6), values, max_size=1)),
)
tables = st.lists(
    st.dictionaries(mostly(st.sampled_from(["q", "a", "s"]), st.just("id")), st.text(max_size=10), min_size=1), max_size=6
)


def TABLE_SUITE(table: str) -> dict[str, Any]:  # noqa: N802  (reads as the constant it builds)
    return {
        "suite": "fuzz",
        "prompt": "{{ q }}",
        "defaults": {"scorers": [{"length": {"max": 50}}]},
        "cases": [{"cases_from": table}],
    }


mutations = mostly(st.none(), st.tuples(st.integers(0, 400), st.binary(max_size=6)))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Any:
    """A folder with the echo app on sys.path; each example gets a fresh subfolder."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "fuzz_echo.py").write_text(APP)
    (root / "outside.csv").write_text("q\nsecret\n")
    sys.path.insert(0, str(root))
    yield root, itertools.count()
    sys.path.remove(str(root))
    sys.modules.pop("fuzz_echo", None)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(suite=suites, table=tables, mutation=mutations)
@example(suite=TABLE_SUITE("../../outside.csv"), table=[{"q": "x"}], mutation=None)
@example(suite=TABLE_SUITE("/proc/self/environ"), table=[{"q": "x"}], mutation=None)
def test_generated_suites_give_a_clean_error_or_a_run(workspace, suite, table, mutation):
    root, counter = workspace
    folder = root / f"p{next(counter)}"
    (folder / "inner").mkdir(parents=True)
    path = _write(folder / "inner", suite, table, mutation)
    start, rss = time.perf_counter(), _rss_mb()
    try:
        loaded = load_suite(path, root=folder)
    except SuiteError as exc:
        message = str(exc)
        assert "bug in llmeval" not in message, message
        assert message.startswith((str(path), str(folder / "inner" / "t."))), message
        loaded = None
        event(message.split(": ", 2)[-1][:50])
    assert time.perf_counter() - start < 15
    if loaded is not None:
        event("loaded")
        assert all(Path(c.path).resolve().is_relative_to(folder.resolve()) for c in loaded.cases), "read outside the project"
        assert len(loaded.cases) >= len(suite["cases"]), "a case block gave no cases"
        _run(path, folder)
    assert _rss_mb() - rss < 512, "one example grew the process by more than 512 MB"


def _rss_mb() -> float:
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")) / 1024


def _write(folder: Path, suite: dict[str, Any], table: list[dict[str, str]], mutation: Any) -> Path:
    if True:
        columns = sorted({k for row in table for k in row}) or ["q"]
        with (folder / "t.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerows([columns, *([row.get(c, "") for c in columns] for row in table)])
        (folder / "t.jsonl").write_text("".join(json.dumps(row) + "\n" for row in table))
    text = yaml.safe_dump(suite, allow_unicode=True, sort_keys=False).encode()
    if mutation is not None:
        at, junk = mutation
        text = text[:at] + junk + text[at:]
    path = folder / "s.yaml"
    path.write_bytes(text)
    return path


def _run(path: Path, folder: Path) -> None:
    """`llmeval run` on the echo app: a verdict (0/1) or a clean error (2), never an exception."""
    args = ["run", str(path), "-q", "--model", "python:fuzz_echo:echo", "--cache", "off", "--results", str(folder / "r.jsonl")]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    assert status in (0, 1, 2), (status, out.getvalue()[-2000:], err.getvalue()[-2000:])
    assert "Traceback" not in out.getvalue() + err.getvalue()
