"""Hostile suite files: each is a SuiteError at file:line, quickly and without large allocations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmeval import SuiteError, load_suite
from llmeval.suite import is_suite_file

ROOT = Path(__file__).resolve().parents[2]
CASES = "cases:\n  - {id: a, scorers: [{exact: y}]}\n"


def billion_laughs() -> str:
    """The classic document: nine levels of ten aliases, 10**9 strings once expanded."""
    lines = ["suite: bomb", "prompt: hi", 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [{','.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n" + CASES


LOAD_IN_CHILD = """
import json, sys, time, tracemalloc
from llmeval import SuiteError, load_suite
tracemalloc.start()
start = time.perf_counter()
try:
    load_suite(sys.argv[1])
    message = None
except SuiteError as exc:
    message = str(exc)
print(json.dumps({"seconds": time.perf_counter() - start, "peak": tracemalloc.get_traced_memory()[1], "message": message}))
"""


def test_billion_laughs_is_a_quick_error_at_the_alias_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    # A child process: the unbounded loader hangs for minutes and takes gigabytes; fail, don't hang.
    run = subprocess.run([sys.executable, "-c", LOAD_IN_CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    result = json.loads(run.stdout)
    assert result["message"] is not None and result["message"].startswith(f"{path}:6: "), result
    assert "aliases expand the document" in result["message"]
    assert result["seconds"] < 5
    assert result["peak"] < 20 * 2**20


def test_aliases_that_repeat_small_parts_still_load(tmp_path):
    path = tmp_path / "s.yaml"
    first = "  - {id: c0, scorers: &s [{exact: y}]}\n"
    path.write_text("suite: ok\nprompt: hi\ncases:\n" + first + "".join(f"  - {{id: c{i}, scorers: *s}}\n" for i in range(1, 50)))
    assert len(load_suite(path).cases) == 50


BROKEN_YAML = [
    # (name, file bytes, line, substrings expected in the message)
    ("latin-1", b'suite: x\nprompt: "caf\xe9"\n' + CASES.encode(), 2, ["not valid UTF-8", "0xe9"]),
    ("cp1252-late", b"suite: x\nprompt: hi\n" + CASES.encode() + b"# \x93quoted\x94\n", 5, ["not valid UTF-8"]),
    ("utf-16", ("suite: x\nprompt: hi\n" + CASES).encode("utf-16"), 1, ["UTF-16", "must be UTF-8"]),
    ("python-name", b"suite: x\nprompt: !!python/name:os.system hi\n" + CASES.encode(), 2, ["'!!python/name:os.system'"]),
    (
        "python-apply",
        b"suite: x\nprompt: hi\nv: !!python/object/apply:os.system [echo]\n" + CASES.encode(),
        3,
        ["!!python/object/apply"],
    ),
    ("python-str", b"suite: x\nprompt: !!python/str hi\n" + CASES.encode(), 2, ["'!!python/str' is not allowed"]),
    ("local-tag", b"suite: x\nprompt: !foo hi\n" + CASES.encode(), 2, ["'!foo' is not allowed"]),
    ("tagged-key", b"suite: x\n!!python/str prompt: hi\n" + CASES.encode(), 2, ["is not allowed"]),
    ("binary", b"suite: x\nprompt: hi\nv: !!binary aGk=\n" + CASES.encode(), 3, ["'!!binary' is not allowed"]),
    ("set", b"suite: x\nprompt: hi\nv: !!set {a}\n" + CASES.encode(), 3, ["'!!set' is not allowed"]),
    ("seq-tag-on-map", b"suite: x\nprompt: hi\nv: !!seq {a: 1}\n" + CASES.encode(), 3, ["'!!seq' is not allowed"]),
    ("recursive-alias", b"suite: x\nprompt: hi\nv: &x [*x]\n" + CASES.encode(), 3, ["recursive"]),
    ("undefined-alias", b"suite: x\nprompt: *nope\n" + CASES.encode(), 2, ["'*nope'"]),
    ("too-deep", b"suite: x\nprompt: hi\nv: " + b"[" * 5000 + b"]" * 5000 + b"\n" + CASES.encode(), 3, ["nested more than"]),
    ("control-char", b'suite: x\nprompt: "hi\x01"\n' + CASES.encode(), 2, ["U+0001"]),
    ("bad-int", b"suite: x\nprompt: hi\nrepeat: !!int many\n" + CASES.encode(), 3, ["'many' is not a valid int"]),
    ("value-key", b"suite: x\nprompt: hi\nv: =\n" + CASES.encode(), 3, ["'=' is not a plain value"]),
    ("two-documents", b"suite: x\nprompt: hi\n" + CASES.encode() + b"---\nsuite: y\n", 5, ["one YAML document"]),
    ("merge-key", b"suite: x\nprompt: hi\nd: &d {a: 1}\ne: {<<: *d}\n" + CASES.encode(), 4, ["merge keys"]),
]


@pytest.mark.parametrize(("name", "content", "line", "expected"), BROKEN_YAML, ids=[b[0] for b in BROKEN_YAML])
def test_hostile_yaml_is_a_suite_error_at_its_line(tmp_path, name, content, line, expected):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    assert is_suite_file(path)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"


def test_oversized_suite_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("suite: big\nprompt: hi\n" + CASES + "# " + "x" * (5 * 2**20) + "\n")
    with pytest.raises(SuiteError, match="larger than 4 MiB"):
        load_suite(path)


def test_suite_that_is_not_a_regular_file_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="not a regular file"):
        load_suite("/dev/zero")
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert not is_suite_file(link)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"suite: x\n", True),
        (b"\xef\xbb\xbfsuite: x\n", True),
        (b"# comment\xff\nsuite: x\n", True),
        ("suite: x\n".encode("utf-16"), True),
        (b"name: x\n  suite: nested\n", False),
        (b"other: 1\n", False),
    ],
)
def test_suite_recognition_reads_raw_bytes(tmp_path, content, expected):
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    assert is_suite_file(path) is expected


def _suite_with_prompt(tmp_path: Path, prompt: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(f"suite: t\nprompt: {json.dumps(prompt)}\ncases:\n  - id: a\n    scorers: [{{exact: y}}]\n")
    return path


TEMPLATES = [
    ("{{ 1/0 }}", "ZeroDivisionError"),
    ("{% include 'x' %}", "no loader"),
    ("{% import 'x' as y %}", "no loader"),
    ("{% extends 'x' %}", "no loader"),
    ("{{ 1 | join }}", "TypeError"),
    ("{{ ''.__class__.__mro__ }}", "SecurityError"),
    ("{{ 'a' * 10**10 }}", "too large"),
    ("{{ 9 ** 999999 }}", "exponent"),
    ("{{ '%0999999999d' % 1 }}", "format width"),
    ("{{ '{:>999999999}'.format(1) }}", "format width"),
    ("{{ 'x' | center(999999999) }}", "larger than"),
    ("{{ [1] | slice(999999999) | list }}", "larger than"),
    ("{{ '%09999999d' | format(1) }}", "format width"),
    ("{{ 'x'.ljust(10**9) }}", "larger than"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "range()"),
    ("{% for i in range(99999) %}{{ 'xxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", "renders more than"),
    ("{{ 1e308 * 10 ** 400 }}", "OverflowError"),
    ("{{ x", "not a valid Jinja2 template"),
]


@pytest.mark.parametrize(("prompt", "expected"), TEMPLATES, ids=[t[0][:40] for t in TEMPLATES])
def test_every_template_error_is_a_suite_error_at_the_case_line(tmp_path, prompt, expected):
    path = _suite_with_prompt(tmp_path, prompt)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}:4: 'prompt': "), message
    assert expected in message, message


def test_ordinary_templates_still_render(tmp_path):
    path = _suite_with_prompt(
        tmp_path, "{{ '=' * 80 }}|{{ 2 ** 10 }}|{{ 'x' | center(5) }}|{{ '%5d' % 3 }}|{% for i in range(3) %}{{ i }}{% endfor %}"
    )
    (case,) = load_suite(path).cases
    assert case.prompt == "=" * 80 + "|1024|  x  |    3|012"


@pytest.mark.parametrize("value", ["has space", "a/b::c", "x[1]", "brackets]", "trailing:"])
def test_ids_from_table_templates_follow_the_inline_rule(tmp_path, value):
    (tmp_path / "t.csv").write_text(f"q\nfine\n{json.dumps(value)}\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        'suite: s\nprompt: "{{ q }}"\ncases:\n  - cases_from: t.csv\n    id: "faq-{{ q }}"\n    scorers: [{exact: y}]\n'
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 't.csv'}:3: 'id': "), message
    assert f"'faq-{value}'" in message and "no spaces, brackets or '::'" in message


@pytest.mark.parametrize(
    ("table", "expected"),
    [("id,q\nok,a\nbad id,b\n", "the row's 'id' column holds 'bad id'"), ("q\na\n", "the table's file name gives 'my table-1'")],
)
def test_ids_from_id_columns_and_file_names_are_checked_too(tmp_path, table, expected):
    (tmp_path / "my table.csv").write_text(table)
    path = tmp_path / "s.yaml"
    path.write_text('suite: s\nprompt: "{{ q }}"\ncases:\n  - cases_from: my table.csv\n    scorers: [{exact: y}]\n')
    with pytest.raises(SuiteError, match="not a valid case id") as info:
        load_suite(path)
    assert expected in str(info.value)


def test_inline_ids_with_double_colon_are_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "suite: s\nprompt: hi\ncases:\n  - {id: 'a::b', scorers: [{exact: y}]}\n  - {id: 'ok:a/b', scorers: [{exact: y}]}\n"
    )
    with pytest.raises(SuiteError, match=r"s.yaml:4: 'id': 'a::b' is not a valid name: .*no spaces, brackets or '::'"):
        load_suite(path)


@pytest.mark.parametrize(
    ("target", "table", "expected"),
    [
        ("/dev/zero", "zero.csv", "is a special file"),
        (None, "folder.csv", "not a regular file"),
        (None, "deep.jsonl", "nested more than 64 deep"),
        (None, "broken.parquet", "cannot parse case table"),
    ],
)
def test_hostile_case_tables_are_suite_errors(tmp_path, target, table, expected):
    table_path = tmp_path / table
    if target:
        table_path.symlink_to(target)
    elif table == "folder.csv":
        table_path.mkdir()
    elif table == "deep.jsonl":
        table_path.write_text('{"q": ' + "[" * 500 + "]" * 500 + "}\n")
    else:
        table_path.write_bytes(b"PAR1 not really")
    path = tmp_path / "s.yaml"
    path.write_text(f'suite: s\nprompt: "hi"\ncases:\n  - cases_from: {table}\n    scorers: [{{exact: y}}]\n')
    with pytest.raises(SuiteError, match=expected):
        load_suite(path)


def test_validate_command_never_prints_a_traceback(tmp_path):
    paths = []
    for folder, prompt in [("div", "{{ 1/0 }}"), ("include", "{% include 'x' %}")]:
        (tmp_path / folder).mkdir()
        paths.append(_suite_with_prompt(tmp_path / folder, prompt))
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b'suite: x\nprompt: "caf\xe9"\n' + CASES.encode())
    args = [str(p) for p in [*paths, bomb, latin]] + [str(ROOT / "suites" / "support.yaml")]
    run = subprocess.run(
        [sys.executable, "-m", "llmeval", "validate", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    for path, line in [(paths[0], 4), (paths[1], 4), (bomb, 6), (latin, 2)]:
        assert f"{path}:{line}: " in run.stderr
    assert "support.yaml: ok" in run.stdout
