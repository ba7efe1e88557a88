"""The llmeval command: schema, validate, scorers, cache, and compare on real runs of two fixture models."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from llmeval.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_schema_is_valid_json_schema_and_accepts_the_example_suites(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_schema_rejects_an_unknown_key():
    from llmeval.suite.schema import json_schema

    bad = {"suite": "x", "promt": "hi", "cases": [{"id": "a", "scorers": [{"exact": "y"}]}]}
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(bad))
    assert any("promt" in e.message for e in errors)


def test_validate_reports_file_line_and_exit_status(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("suite: x\nprompt: hi\ncases:\n  - id: a\n    scorers: [{rouge_l: {}}]\n")
    assert main(["validate", str(ROOT / "suites" / "support.yaml"), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "support.yaml: ok, suite 'support-bot'" in captured.out
    assert f"{bad}:5: 'rouge_l': unknown scorer" in captured.err


def test_scorers_lists_every_builtin(capsys):
    assert main(["scorers"]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {
        "exact",
        "contains",
        "regex",
        "json",
        "length",
        "bleu",
        "chrf",
        "ter",
        "rougeL",
        "similarity",
        "pii",
        "no_leak",
    } <= names


def test_cache_info_and_clear(tmp_path, capsys):
    from llmeval.backends import Generation
    from llmeval.engine.cache import Cache

    cache = Cache(tmp_path, "on")
    cache.put("k", "b", {}, Generation("text"))
    cache.close()
    assert main(["cache", "info", "--dir", str(tmp_path)]) == 0
    assert "1 cached outputs" in capsys.readouterr().out
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert "removed 1" in capsys.readouterr().out


def test_compare_two_fixture_models_end_to_end(pytester, demo_model, tiny_model, capsys):
    """A run of the demo model and an untrained one, then `llmeval compare` on the results file."""
    rows = "\n".join(f'  - {{id: q{i}, vars: {{question: "{q}"}}, reference: "{a}"}}' for i, (q, a) in enumerate(_faq(6)))
    pytester.makefile(
        ".yaml",
        faq=f'suite: faq\nprompt: "Q: {{{{ question }}}}\\nA:"\ngeneration: {{max_new_tokens: 24}}\n'
        f"defaults:\n  scorers: [{{rougeL: {{min: 0.5}}}}]\ncases:\n{rows}\n",
    )
    result = pytester.runpytest_subprocess(
        "--llmeval-model", f"hf:{demo_model}", "--llmeval-model", f"hf:{tiny_model}", "--llmeval-results", "r.jsonl"
    )
    result.assert_outcomes(passed=6, failed=6)
    html = pytester.path / "compare.html"
    assert main(["compare", str(pytester.path / "r.jsonl"), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "support-tiny" in out and re.search(r"(?<![\w-])tiny(?![\w-])", out), out
    assert "rougeL" in out
    assert html.read_text().count("<table") >= 1


def _faq(n: int) -> list[tuple[str, str]]:
    import csv

    with (ROOT / "fixtures" / "data" / "faq.csv").open() as fh:
        return [(r["question"], r["answer"]) for r in list(csv.DictReader(fh))[:n]]


@pytest.mark.parametrize(
    "command",
    [["schema"], ["scorers"], ["probes", "list"], ["--help"], ["validate", "suites/support.yaml"], ["run", "SUITE", "-q"]],
    ids=lambda c: c[0],
)
def test_a_closed_pipe_ends_every_command_quietly(tmp_path, command):
    """`llmeval schema | head`: the reader went away before we wrote; no BrokenPipeError traceback."""
    if "SUITE" in command:
        (tmp_path / "app.py").write_text("def answer(prompt, vars):\n    return 'ok'\n")
        suite = tmp_path / "s.yaml"
        suite.write_text("suite: s\nmodel: python:app:answer\nprompt: hi\ncases:\n  - {id: a, scorers: [{contains: ok}]}\n")
        command = ["run", str(suite), "-q", "--results", str(tmp_path / "r.jsonl"), "--cache-dir", str(tmp_path / "c")]
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    run = subprocess.run(
        [sys.executable, "-m", "llmeval", *command],
        cwd=ROOT,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=env,
    )
    os.close(write)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.returncode == (0 if command == ["--help"] else 141)  # argparse itself ignores a failed write of --help
