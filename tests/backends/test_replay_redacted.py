"""A recording made with PII redaction cannot stand in for the model: its masked values would pass the PII gates."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main

APP = "def leaky(prompt, vars):\n    return 'Customer 7 is reachable at jane.doe@example.com.'\n"
SUITE = """\
suite: leaky
model: python:app_replay_redacted:leaky
prompt: "What is the contact of customer {{ n }}?"
defaults:
  scorers: [{pii: {forbid: any}}]
cases:
  - {id: a, vars: {n: 7}}
gates:
  - {metric: pii, pass_rate: "== 1.0"}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A failing PII gate recorded twice: plainly (plain.jsonl) and with --redact-pii (masked.jsonl).

    Module-scoped and without pytester, whose sys.modules snapshot would drop spaCy and torch after each test
    (C extensions cannot be imported twice in one process).
    """
    path = tmp_path_factory.mktemp("replay")
    (path / "app_replay_redacted.py").write_text(APP)
    (path / "leaky.yaml").write_text(SUITE)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path)
        patch.syspath_prepend(str(path))
        assert main(["run", ".", "--results", "plain.jsonl", "-q"]) == 1
        assert main(["run", ".", "--results", "masked.jsonl", "--redact-pii", "-q"]) == 1
    masked = (path / "masked.jsonl").read_text()
    assert "jane.doe@example.com" not in masked and '"redact_pii": true' in masked
    return path


@pytest.fixture
def recorded(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    capsys.readouterr()
    return folder


def test_replaying_a_redacted_recording_is_refused_naming_the_flag(recorded, capsys):
    assert main(["run", ".", "--model", "replay:masked.jsonl", "--results", "again.jsonl", "-q"]) == 2
    err = capsys.readouterr().err
    assert "masked.jsonl was recorded with PII redaction (its manifest says redact_pii: true)" in err
    assert "record it again without --llmeval-redact-pii" in err and "replay-redacted:masked.jsonl" in err


def test_a_plain_recording_replays_and_still_fails_the_gate(recorded, capsys):
    assert main(["run", ".", "--model", "replay:plain.jsonl", "--results", "again.jsonl", "-q"]) == 1
    assert "redact" not in capsys.readouterr().err


def test_the_explicit_opt_in_replays_the_masked_outputs_and_says_so(recorded, capsys):
    assert main(["run", ".", "--model", "replay-redacted:masked.jsonl", "--results", "again.jsonl", "-q"]) == 0
    rows = [json.loads(line) for line in (recorded / "again.jsonl").read_text().splitlines()]
    case = next(r for r in rows if r["kind"] == "case")
    assert "<EMAIL_ADDRESS>" in case["output"] and case["model"] == "replay-redacted:masked.jsonl"


def test_pytest_refuses_it_too(recorded):
    import subprocess
    import sys
    from pathlib import Path

    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "HF_HUB_OFFLINE": "1", "PATH": ""}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "leaky.yaml", "--llmeval-model", "replay:masked.jsonl"],
        cwd=recorded,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "PASSED" not in run.stdout
    assert "its manifest says redact_pii: true" in run.stdout, run.stdout[-2000:]
