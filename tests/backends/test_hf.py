"""The hf: backend on a tiny model built here: batched greedy equals one-by-one; identity tracks the weights."""

from __future__ import annotations

import pytest

from llmeval.backends import GenerationConfig, Request, resolve
from llmeval.errors import BackendError

PROMPTS = [
    "Q: How long do I have to return an item?\nA:",
    "Q: Do you ship abroad?\nA:",
    "Q: Hi\nA:",
    "Document: The city council approved a new park on Tuesday after a long debate about costs.\nSummary:",
    "Q: Can I change my delivery address after ordering?\nA:",
]


def _run(backend, requests):
    out = {}
    backend.generate(requests, lambda i, gen: out.__setitem__(i, gen))
    return [out[i] for i in range(len(requests))]


@pytest.fixture(scope="module")
def greedy():
    return GenerationConfig(max_new_tokens=12)


def test_batched_greedy_equals_one_by_one(tiny_model, greedy):
    requests = [Request(p, None, greedy) for p in PROMPTS]
    batched = _run(resolve(f"hf:{tiny_model}", root=tiny_model.parent, batch_size=8), requests)
    single = resolve(f"hf:{tiny_model}", root=tiny_model.parent, batch_size=1)
    one_by_one = [_run(single, [r])[0] for r in requests]
    assert [g.text for g in batched] == [g.text for g in one_by_one]
    assert all(g.error is None and 0 < g.completion_tokens <= 12 for g in batched)
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in one_by_one]


def test_chat_messages_use_the_chat_template(tiny_model, greedy):
    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent)
    backend.load()
    messages = (("system", "Be brief."), ("user", "Hello"))
    ids = backend._encode(Request(None, messages, greedy))
    expected = backend._tokenizer.apply_chat_template(
        [{"role": r, "content": c} for r, c in messages], add_generation_prompt=True, tokenize=False
    )
    assert backend._tokenizer.decode(ids) == expected
    (gen,) = _run(backend, [Request(None, messages, greedy)])
    assert gen.error is None


def test_stop_strings_cut_the_output(tiny_model):
    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent)
    (free,) = _run(backend, [Request(PROMPTS[0], None, GenerationConfig(max_new_tokens=12))])
    assert len(free.text) > 3
    stop = free.text[2:4]
    (cut,) = _run(backend, [Request(PROMPTS[0], None, GenerationConfig(max_new_tokens=12, stop=(stop,)))])
    assert cut.text == free.text[: free.text.find(stop)]


def test_sampling_is_seeded(tiny_model):
    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent)
    config = GenerationConfig(max_new_tokens=10, temperature=1.0, seed=3)
    first = _run(backend, [Request(PROMPTS[1], None, config, sample=0), Request(PROMPTS[1], None, config, sample=1)])
    again = _run(backend, [Request(PROMPTS[1], None, config, sample=0), Request(PROMPTS[1], None, config, sample=1)])
    assert [g.text for g in first] == [g.text for g in again]


def test_identity_changes_with_the_weights_at_the_same_path(tmp_path, build_models):
    path = tmp_path / "model"
    build_models.build_random_model(path, seed=1)
    first = resolve(f"hf:{path}", root=tmp_path).identity()
    assert resolve(f"hf:{path}", root=tmp_path).identity() == first
    build_models.build_random_model(path, seed=2, vocab_from=path)
    assert resolve(f"hf:{path}", root=tmp_path).identity() != first


def test_loading_does_not_import_torch_until_generation(tiny_model):
    import subprocess
    import sys

    code = (
        f"import sys; from llmeval.backends import resolve; from pathlib import Path; "
        f"b = resolve('hf:{tiny_model}', root=Path('.')); b.identity(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("target", "message"),
    [("does/not/exist", "tried the local path"), (".", "has no config.json")],
)
def test_bad_model_paths_are_explained(tmp_path, target, message):
    with pytest.raises(BackendError, match=message):
        resolve(f"hf:{target}", root=tmp_path)


def test_threads_option_sets_torch_cpu_threads(tiny_model):
    import torch

    before = torch.get_num_threads()
    try:
        resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1).load()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_batch_past_its_timeout_is_an_error_on_its_requests(tiny_model):
    from llmeval.backends import Limits

    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1, batch_size=2)
    long = GenerationConfig(max_new_tokens=512)
    out: dict = {}
    backend.generate([Request(p, None, long) for p in PROMPTS[:2]], out.__setitem__, Limits(timeout=0.001))
    assert [g.error for g in (out[0], out[1])] == ["generation timed out after 0.001 s (a batch of 2 requests)"] * 2
    out.clear()
    backend.generate([Request(PROMPTS[0], None, GenerationConfig(max_new_tokens=4))], out.__setitem__, Limits(timeout=60))
    fine = out[0]
    assert fine.error is None and fine.text


def test_the_deadline_is_checked_between_batches(tiny_model):
    from llmeval.backends import Deadline, Limits

    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1, batch_size=1)
    backend.load()
    out: dict = {}
    deadline = Deadline.start(0.0)
    requests = [Request(p, None, GenerationConfig(max_new_tokens=4)) for p in PROMPTS[:3]]
    backend.generate(requests, out.__setitem__, Limits(deadline=deadline))
    assert {g.error for g in out.values()} == {"not generated: run deadline of 0 s reached"}
