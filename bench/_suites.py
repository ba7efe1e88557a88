"""Benchmark inputs written to a temp dir: distinct FAQ prompts, a suite over them, a trivial app and test."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from llmeval.suite.budget import MAX_CASES

ROOT = Path(__file__).resolve().parents[1]
FAQ = ROOT / "fixtures" / "data" / "faq.csv"
PROMPT = "Q: {{ question }}\nA:"
VARIANTS = ("{q}", "Hi! {q}", "Quick question: {q}", "{q} Thanks.", "Hello, {q}", "Please help. {q}")
ECHO_MODULE = "bench_echo"


def questions(n: int) -> list[str]:
    """n distinct questions: the FAQ questions cycled through greetings, then numbered once those run out."""
    with FAQ.open(newline="", encoding="utf-8") as fh:
        base = [row["question"] for row in csv.DictReader(fh)]
    out = []
    for i in range(n):
        round_, q = divmod(i, len(base))
        text = VARIANTS[round_ % len(VARIANTS)].format(q=base[q])
        out.append(text if round_ < len(VARIANTS) else f"{text} ({round_ // len(VARIANTS)})")
    return out


def prompt_for(question: str) -> str:
    """The prompt exactly as the suite's template renders it."""
    return PROMPT.replace("{{ question }}", question)


def prepare_dir(directory: Path) -> Path:
    """A folder with an empty pytest.ini, so pytest's rootdir (and llmeval's cache and reports) stay inside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return directory


def write_suite(directory: Path, n: int, model: str, *, max_new_tokens: int = 48, name: str = "bench") -> Path:
    """A suite of n cases from a CSV table (columns id, question) with one cheap scorer; returns its path."""
    prepare_dir(directory)
    table = directory / f"{name}-cases.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "question"])
        writer.writerows((f"q{i:05d}", q) for i, q in enumerate(questions(n)))
    lines = [
        f"suite: {name}",
        f"model: {json.dumps(model)}",
        f"generation: {{max_new_tokens: {max_new_tokens}, temperature: 0, seed: 0}}",
        f"prompt: {json.dumps(PROMPT)}",
        "defaults:",
        "  scorers:",
        "    - length: {max: 1000}",
        "cases:",
        f"  - cases_from: {table.name}",
    ]
    if n > MAX_CASES:  # a suite's case cap, raised explicitly for the scale runs
        lines.insert(1, f"limits: {{cases: {n}}}")
    suite = directory / f"{name}.yaml"
    suite.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return suite


def write_echo_app(directory: Path) -> str:
    """A trivial `python:` model (no model loads); returns its spec."""
    prepare_dir(directory)
    (directory / f"{ECHO_MODULE}.py").write_text("def answer(prompt):\n    return prompt\n", encoding="utf-8")
    return f"python:{ECHO_MODULE}:answer"


def write_trivial_test(directory: Path) -> Path:
    """One plain pytest test that does nothing, for measuring the plugin's start-up cost."""
    prepare_dir(directory)
    path = directory / "test_trivial.py"
    path.write_text("def test_trivial():\n    assert True\n", encoding="utf-8")
    return path
