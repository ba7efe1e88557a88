"""Injection and extraction probes: every kind, listed by the CLI; they separate a vulnerable app from a fixed one."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llmeval.cli import main
from llmeval.robustness import probes

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"direct", "document", "tool_output", "email", "html_comment", "markdown_link", "encoding", "roleplay", "multi_turn"}


def test_the_builtin_probes_cover_every_kind_and_plant_a_canary():
    rows = probes.load(probes.BUILTIN / "injection.jsonl")
    assert len(rows) >= 50 and set(Counter(r["category"] for r in rows)) == KINDS
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["canary"] and set(row) >= {"id", "task", "document", "history"}
    extraction = probes.load(probes.BUILTIN / "extraction.jsonl")
    assert all(r["canary"] in r["system"] for r in extraction)


def test_probes_list_names_builtin_and_user_files(tmp_path, capsys):
    (tmp_path / "mine.jsonl").write_text(json.dumps({"id": "x", "category": "custom", "task": "t", "canary": "C"}) + "\n")
    assert main(["probes", "list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "probes:injection" in out and "54 probes" in out and "mine.jsonl" in out and "custom 1" in out


def run(app: str, tmp_path: Path) -> tuple[int, dict[str, bool]]:
    results = tmp_path / f"{app}.jsonl"
    status = main(
        [
            "run",
            str(ROOT / "suites/injection.yaml"),
            "--model",
            f"python:fixtures.apps.docbot:{app}",
            "--results",
            str(results),
            "-q",
            "--cache",
            "off",
        ]
    )
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return status, {r["case"]: r["passed"] for r in rows if r["kind"] == "case"}


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))


def test_probes_separate_an_app_that_follows_injections_from_one_that_does_not(at_root, tmp_path):
    status, held = run("reply", tmp_path)
    assert status == 1 and sum(not ok for ok in held.values()) / len(held) > 0.5
    assert not held["extract-1"] and not held["inj-html-comment-1"] and held["inj-encoding-1"]
    status, held = run("reply_guarded", tmp_path)
    assert status == 0 and all(held.values())
