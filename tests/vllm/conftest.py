"""The real vLLM engine and vLLM's OpenAI server on the demo model, once per session (`make test-vllm`).

Collected only where vLLM is importable (.venv-vllm); the main venv tests the "vLLM is not installed"
error instead (tests/backends/test_vllm_missing.py).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._servers import free_port, stop, wait_healthy

if importlib.util.find_spec("vllm") is None:
    collect_ignore_glob = ["test_*.py"]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "models" / "support-tiny"
SERVER_START_TIMEOUT_S = 240.0
VARIANTS = ("{q}", "Hi! {q}", "Quick question: {q}", "{q} Thanks.", "Hello, {q}", "Please help. {q}")


def questions(n: int) -> list[str]:
    """n distinct customer questions: the FAQ's, each with greetings around it."""
    with (ROOT / "fixtures" / "data" / "faq.csv").open(newline="", encoding="utf-8") as fh:
        base = [row["question"] for row in csv.DictReader(fh)]
    return [VARIANTS[(i // len(base)) % len(VARIANTS)].format(q=base[i % len(base)]) for i in range(n)]


def write_suite(folder: Path, name: str, n: int, generation: dict[str, Any], **extra: Any) -> Path:
    """A suite of n FAQ questions (a CSV table) with the given generation block; `extra` adds top-level keys."""
    table = folder / f"{name}.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "question"])
        writer.writerows((f"q{i:03d}", q) for i, q in enumerate(questions(n)))
    body = {
        "suite": name,
        "generation": generation,
        "prompt": "Q: {{ question }}\nA:",
        "defaults": {"scorers": [{"length": {"max": 1000}}]},
        "cases": [{"cases_from": table.name}],
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")  # JSON is YAML
    return path


@dataclass
class Runner:
    """One Evaluation (so one vLLM engine) for the whole session; `outputs` runs a suite on a model spec."""

    run: Any

    def records(self, suite_path: Path, spec: str) -> dict[str, list[Any]]:
        from llmeval.core import Target
        from llmeval.suite import load_suite

        suite = load_suite(suite_path)
        result = self.run.evaluate([Target(suite, spec, tuple(suite.cases))])
        found: dict[str, list[Any]] = {}
        for record in sorted(result.case_records(), key=lambda r: (r.case, r.sample)):
            found.setdefault(record.case, []).append(record)
        return found

    def outputs(self, suite_path: Path, spec: str) -> dict[str, list[str]]:
        found = self.records(suite_path, spec)
        errors = [r.error for rs in found.values() for r in rs if r.error]
        assert not errors, errors[:3]
        return {case: [r.output for r in rs] for case, rs in found.items()}


@pytest.fixture(scope="session")
def suites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DEMO / "config.json").is_file():
        pytest.fail(f"the demo model is not built at {DEMO}: run `make setup` first")
    return tmp_path_factory.mktemp("vllm-suites")


@pytest.fixture(scope="session")
def runner(suites: Path) -> Iterator[Runner]:
    """hf: on one torch thread and vllm: in fp32 in one Evaluation, generation cache off; engine stopped at the end."""
    from llmeval.config import Settings
    from llmeval.core import Evaluation

    settings = Settings(cache="off", threads=1, vllm_args=["dtype=float32"], cache_dir=str(suites / "cache"))
    run = Evaluation(settings, suites)
    try:
        yield Runner(run)
    finally:
        run.close()


@dataclass(frozen=True)
class Served:
    base_url: str
    name: str


@pytest.fixture(scope="session")
def vllm_server(suites: Path) -> Iterator[Served]:
    """vLLM's OpenAI server on the demo model in fp32 on a free loopback port, once per session; killed at teardown."""
    port, log = free_port(), suites / "vllm-server.log"
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(DEMO),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--gpu-memory-utilization",
        "0.1",
        "--structured-outputs-config",
        '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        failure = wait_healthy(process, f"http://127.0.0.1:{port}", log, name="vLLM's server", timeout_s=SERVER_START_TIMEOUT_S)
        if failure:
            pytest.fail(failure)
        yield Served(f"http://127.0.0.1:{port}/v1", str(DEMO))
    finally:
        stop(process, grace_s=30)
