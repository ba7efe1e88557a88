"""DeepEval's documented pytest pattern for bench/peers_bench.py: a test file with one test per case that calls
the model inside the test, builds an `LLMTestCase` and checks it with `assert_test`, run by `deepeval test run`.

The metric is a custom `BaseMetric` (DeepEval's documented way to add a metric) that needs no LLM judge or API
key: the same word-count check as llmeval's `length` scorer in the bench suite. Nothing may phone home:
DEEPEVAL_TELEMETRY_OPT_OUT=YES turns off its telemetry (Sentry, PostHog, OpenTelemetry), no Confident AI key
is set (results stay local), its update check is opt-in and stays off, and every HTTP(S) proxy variable points
at a closed loopback port so any request that still tried would fail on this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

TEST_FILE = '''"""One test per case calling the model, as DeepEval's docs show (LLMTestCase + assert_test)."""
import json
import os
import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from deepeval import assert_test
from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

CONFIG = json.loads(open(os.environ["PEER_BENCH_CONFIG"], encoding="utf-8").read())
torch.set_num_threads(CONFIG["threads"])
_started = time.perf_counter()
tokenizer = AutoTokenizer.from_pretrained(CONFIG["model"])
model = AutoModelForCausalLM.from_pretrained(CONFIG["model"], dtype=torch.float32).eval()
LOAD_S = time.perf_counter() - _started
OUTPUTS = {}


def llm_app(prompt):
    enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=CONFIG["tokens"], do_sample=False,
                             pad_token_id=tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()


class LengthMetric(BaseMetric):
    """At most `max_words` words: no LLM judge, no API key."""

    def __init__(self, max_words=1000):
        self.threshold = max_words

    def measure(self, test_case, *args, **kwargs):
        self.score = float(len(test_case.actual_output.split()))
        self.success = self.score <= self.threshold
        return self.score

    async def a_measure(self, test_case, *args, **kwargs):
        return self.measure(test_case)

    def is_successful(self):
        return bool(self.success)

    @property
    def __name__(self):
        return "Length"


@pytest.fixture(scope="module", autouse=True)
def phase_clock():
    begun, cpu = time.perf_counter(), time.process_time()
    yield
    figures = {"load_s": LOAD_S, "gen_s": time.perf_counter() - begun, "gen_cpu_s": time.process_time() - cpu,
               "texts": [OUTPUTS.get(i) for i in range(len(CONFIG["prompts"]))]}
    open(CONFIG["out"], "w", encoding="utf-8").write(json.dumps(figures))


@pytest.mark.parametrize("index", range(len(CONFIG["prompts"])))
def test_case(index):
    prompt = CONFIG["prompts"][index]
    output = llm_app(prompt)
    OUTPUTS[index] = output
    assert_test(LLMTestCase(input=prompt, actual_output=output), [LengthMetric()])
'''

CLOSED_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, a request fails at once


def write(work: Path, model: Path, prompts: list[str], tokens: int, threads: int) -> tuple[Path, Path]:
    """The test file and its config in `work`; returns (test file, where the figures will be written)."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "deepeval-figures.json"
    config = {"model": str(model), "prompts": prompts, "tokens": tokens, "threads": threads, "out": str(out)}
    (work / "peer-config.json").write_text(json.dumps(config), encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    test = work / "test_deepeval_pattern.py"
    test.write_text(TEST_FILE, encoding="utf-8")
    return test, out


def env(base: dict[str, str], work: Path) -> dict[str, str]:
    """The subprocess environment: telemetry off, no Confident AI key, proxies to a closed port, offline hub."""
    out = {k: v for k, v in base.items() if not k.startswith(("CONFIDENT_", "DEEPEVAL_")) and k != "PYTHONPATH"}
    out.update(
        PEER_BENCH_CONFIG=str(work / "peer-config.json"),
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        TELEMETRY_OPT_OUT="YES",
        ERROR_REPORTING="NO",
        NO_PROXY="",
        no_proxy="",
    )
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        out[name] = CLOSED_PROXY
    return out


def command(python: Path, test: Path) -> list[str]:
    """`deepeval test run FILE` (DeepEval's documented runner: pytest with its plugin)."""
    return [str(python.parent / "deepeval"), "test", "run", test.name]


def loaded_figures(out: Path) -> dict[str, object] | None:
    return json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
