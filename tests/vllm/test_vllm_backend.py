"""`vllm:` through llmeval's plan against the real engine: equal to `hf:` in fp32 greedy, seeded sampling, stops, chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmeval.backends import GenerationConfig, Limits, Request
from llmeval.backends.limits import Deadline
from tests.vllm.conftest import DEMO, Runner, Served, write_suite

pytestmark = pytest.mark.vllm
HF, VLLM = f"hf:{DEMO}", f"vllm:{DEMO}"
GREEDY = {"max_new_tokens": 48, "temperature": 0, "seed": 0}
Records = dict[str, list[Any]]


@pytest.fixture(scope="session")
def greedy_suite(suites: Path) -> Path:
    return write_suite(suites, "greedy", 200, GREEDY)


@pytest.fixture(scope="session")
def hf_greedy(runner: Runner, greedy_suite: Path) -> Records:
    return runner.records(greedy_suite, HF)


@pytest.fixture(scope="session")
def vllm_greedy(runner: Runner, greedy_suite: Path) -> Records:
    return runner.records(greedy_suite, VLLM)


def _texts(records: Records) -> dict[str, str]:
    assert not [r.error for rs in records.values() for r in rs if r.error]
    return {case: rs[0].output for case, rs in records.items()}


def test_vllm_fp32_greedy_equals_hf_on_200_prompts(hf_greedy: Records, vllm_greedy: Records) -> None:
    hf, vllm = _texts(hf_greedy), _texts(vllm_greedy)
    assert len(hf) == 200 and set(vllm) == set(hf)
    assert len(set(hf.values())) > 20  # the prompts lead to different answers: the comparison can fail
    assert [case for case in hf if vllm[case] != hf[case]] == []


def test_token_counts_come_from_the_engine_and_match_hf(hf_greedy: Records, vllm_greedy: Records) -> None:
    for case, records in vllm_greedy.items():
        assert records[0].tokens == hf_greedy[case][0].tokens, case
        assert records[0].token_source == "backend"
    assert {r[0].tokens["completion"] for r in vllm_greedy.values()} != {48}  # some answers end at EOS before the cap


def test_openai_against_vllms_server_equals_hf(
    runner: Runner, greedy_suite: Path, hf_greedy: Records, vllm_server: Served
) -> None:
    served = runner.outputs(greedy_suite, f"openai:{vllm_server.base_url}#{vllm_server.name}")
    hf = _texts(hf_greedy)
    assert [case for case in hf if served[case] != [hf[case]]] == []


def test_stop_strings_cut_as_hf_and_end_generation_early(runner: Runner, suites: Path, vllm_greedy: Records) -> None:
    path = write_suite(suites, "stops", 40, {**GREEDY, "stop": ["."]})  # the first 40 prompts of the greedy suite
    hf, vllm = runner.records(path, HF), runner.records(path, VLLM)
    assert {c: r[0].output for c, r in vllm.items()} == {c: r[0].output for c, r in hf.items()}
    assert all("." not in r[0].output for r in vllm.values())
    # Both engines stop decoding at the stop string (hf: since its rows end there too), so they count alike,
    # and fewer tokens than the same prompts without a stop string.
    assert {c: r[0].tokens["completion"] for c, r in vllm.items()} == {c: r[0].tokens["completion"] for c, r in hf.items()}
    assert [c for c in vllm if vllm[c][0].tokens["completion"] < vllm_greedy[c][0].tokens["completion"]]


def test_chat_messages_go_through_the_chat_template_as_hf(runner: Runner, suites: Path) -> None:
    path = write_suite(
        suites,
        "chat",
        30,
        GREEDY,
        messages=[{"role": "system", "content": "You answer shop questions."}, {"role": "user", "content": "{{ question }}"}],
    )
    hf, vllm = runner.outputs(path, HF), runner.outputs(path, VLLM)
    assert vllm == hf
    prompt_tokens = {r[0].tokens["prompt"] for r in runner.records(path, VLLM).values()}
    assert min(prompt_tokens) > 10  # the template's system turn is in the prompt


def test_seeded_sampling_is_reproducible_and_samples_differ(runner: Runner, suites: Path) -> None:
    sampled = {"max_new_tokens": 24, "temperature": 1.0, "top_p": 0.95, "seed": 3}
    path = write_suite(suites, "sampled", 20, sampled, repeat=3)
    first, again = runner.outputs(path, VLLM), runner.outputs(path, VLLM)
    assert first == again
    assert sum(len(set(samples)) > 1 for samples in first.values()) >= 5  # the sample index changes the seed
    other = runner.outputs(write_suite(suites, "sampled-4", 20, {**sampled, "seed": 4}, repeat=3), VLLM)
    assert other != first


def test_loglikelihood_from_prompt_logprobs_equals_the_model_pool(runner: Runner) -> None:
    from llmeval.engine.pool import ModelPool

    pairs = [
        ("", "Refunds take five business days."),
        ("Q: How long is shipping?\nA:", " Three to five days."),
        ("", "Gift cards never expire."),
    ]
    found = runner.run.backend(VLLM).loglikelihood(pairs)
    expected = ModelPool(threads=1).loglikelihood(str(DEMO), pairs)
    for got, want in zip(found, expected, strict=True):
        assert got.tokens == pytest.approx(want.tokens, rel=1e-4, abs=1e-4)
        assert got.total == pytest.approx(want.total, rel=1e-4) and got.greedy == want.greedy


def _generate(backend: Any, requests: list[Request], limits: Limits) -> dict[int, Any]:
    got: dict[int, Any] = {}
    backend.generate(requests, lambda i, gen: got.setdefault(i, gen), limits)
    return got


def test_timeout_aborts_the_group_and_the_engine_stays_usable(runner: Runner) -> None:
    backend = runner.run.backend(VLLM)
    config = GenerationConfig(max_new_tokens=48)
    requests = [Request(f"Q: question {k}?\nA:", None, config) for k in range(30)]
    cut = _generate(backend, requests, Limits(timeout=0.001))
    assert sorted(cut) == list(range(30)) and all("timed out after 0.001 s" in (g.error or "") for g in cut.values())
    after = _generate(backend, requests[:3], Limits())
    assert all(g.error is None and g.text for g in after.values())


def test_a_passed_deadline_starts_nothing(runner: Runner) -> None:
    backend = runner.run.backend(VLLM)
    deadline = Deadline(1.0, at=0.0)
    got = _generate(backend, [Request("Q: hi\nA:", None, GenerationConfig())], Limits(deadline=deadline))
    assert got[0].error == deadline.not_started


def test_a_prompt_longer_than_the_engine_takes_is_an_error_on_that_request(runner: Runner) -> None:
    backend = runner.run.backend(VLLM)
    long = Request("Q: " + "refund " * 2000 + "\nA:", None, GenerationConfig(max_new_tokens=4))
    got = _generate(backend, [long, Request("Q: hi\nA:", None, GenerationConfig(max_new_tokens=4))], Limits())
    assert "max_model_len" in (got[0].error or "") and got[1].error is None
