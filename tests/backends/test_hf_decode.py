"""The hf: decoding strategies on the demo model (trained: its answers end at EOS after varied lengths):
every path gives static batching's greedy output (texts and token counts) for mixed prompt lengths,
output lengths and stop strings, and the early stops really skip decoding steps (counted with a
forward hook on the real model)."""

from __future__ import annotations

import pytest

from llmeval.backends import GenerationConfig, Limits, Request, resolve
from llmeval.backends.hf import _static_order
from llmeval.errors import BackendError

PROMPTS = [
    "Q: How long do I have to return an item?\nA:",
    "Q: Hi\nA:",
    "Document: The city council approved a new park on Tuesday after a long debate about costs.\nSummary:",
    "Q: Can I change my delivery address after ordering?\nA:",
    "Q: Do you ship abroad?\nA:",
    "Hello",
]
# mixed output lengths and stop strings ("e", "a", "o" end the demo answers after a few tokens)
CONFIGS = [
    GenerationConfig(max_new_tokens=12),
    GenerationConfig(max_new_tokens=5),
    GenerationConfig(max_new_tokens=20, stop=("e",)),
    GenerationConfig(max_new_tokens=16, stop=("a", "o")),
]


def _requests() -> list[Request]:
    return [Request(p, None, c) for c in CONFIGS for p in PROMPTS]


def _run(backend, requests, limits=None):
    out: dict = {}
    backend.generate(requests, out.__setitem__, limits)
    return [out[i] for i in range(len(requests))]


def _backend(model, batching, **options):
    return resolve(f"hf:{model}", root=model.parent, batching=batching, threads=1, **options)


@pytest.fixture(scope="module")
def static(demo_model):
    return _run(_backend(demo_model, "static"), _requests())


@pytest.mark.parametrize("batching", ["pruned", "continuous"])
def test_greedy_output_equals_static_batching(demo_model, static, batching):
    got = _run(_backend(demo_model, batching), _requests())
    assert [(g.text, g.completion_tokens, g.prompt_tokens) for g in got] == [
        (g.text, g.completion_tokens, g.prompt_tokens) for g in static
    ]
    assert all(g.error is None for g in got)


def test_static_output_equals_one_request_at_a_time(demo_model, static):
    single = _backend(demo_model, "static", batch_size=1)
    assert [_run(single, [r])[0].text for r in _requests()] == [g.text for g in static]


def test_stop_strings_still_cut_the_text(demo_model, static):
    for request, gen in zip(_requests(), static, strict=True):
        assert not any(s in gen.text for s in request.config.stop)
    assert any(g.completion_tokens < r.config.max_new_tokens for r, g in zip(_requests(), static, strict=True) if r.config.stop)


def _forward_batch_sizes(backend) -> list[int]:
    """Record the batch size of each forward of the loaded model (a hook on the real module)."""
    sizes: list[int] = []
    backend.load()
    backend._model.register_forward_hook(lambda module, args, kwargs, out: sizes.append(out.logits.shape[0]), with_kwargs=True)
    return sizes


@pytest.mark.parametrize("batching", ["static", "pruned"])
def test_a_batch_whose_rows_all_hit_a_stop_string_stops_decoding(demo_model, batching):
    backend = _backend(demo_model, batching, batch_size=4)
    sizes = _forward_batch_sizes(backend)
    requests = [Request(p, None, GenerationConfig(max_new_tokens=40, stop=("e", "a", "o", "i"))) for p in PROMPTS[:4]]
    gens = _run(backend, requests)
    assert max(g.completion_tokens for g in gens) < 40
    assert len(sizes) == max(g.completion_tokens for g in gens)  # one forward per token of the longest row


def test_pruning_drops_finished_rows_from_the_batch(demo_model):
    backend = _backend(demo_model, "pruned", batch_size=len(PROMPTS))
    sizes = _forward_batch_sizes(backend)
    gens = _run(backend, [Request(p, None, GenerationConfig(max_new_tokens=30, stop=("e",))) for p in PROMPTS])
    lengths = sorted(g.completion_tokens for g in gens)
    assert lengths[0] < lengths[-1]  # rows finish at different steps
    assert sizes[0] == len(PROMPTS) and sizes[-1] < len(PROMPTS)
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) < len(PROMPTS) * len(sizes)


class _BanToken:
    """A real logits processor: the token may never be generated."""

    def __init__(self, token: int) -> None:
        self.token = token

    def __call__(self, input_ids, scores):
        scores[:, self.token] = float("-inf")
        return scores


@pytest.mark.parametrize("batching", ["static", "pruned", "continuous"])
def test_extra_generate_kwargs_reach_every_batch(demo_model, static, batching):
    from transformers import LogitsProcessorList

    from llmeval.backends.hf import HFBackend
    from llmeval.backends.hf_decode import Job

    request = _requests()[0]
    backend = _backend(demo_model, "static")
    backend.load()
    (row,) = backend._decoder.generate(Job([backend._encode(request)], request.config)).rows
    banned = row[0]  # the first token greedy decoding picks

    class Constrained(HFBackend):
        def generate_kwargs(self, request, rows=1):
            return {"logits_processor": LogitsProcessorList([_BanToken(banned)])}

    constrained = Constrained(str(demo_model), root=demo_model.parent, batching=batching, threads=1)
    sizes = _forward_batch_sizes(constrained)
    (gen,) = _run(constrained, [request])
    job = Job([backend._encode(request)], request.config, extra=constrained.generate_kwargs(request))
    (again,) = constrained._decoder.generate(job).rows
    assert sizes and gen.text == constrained._decoder.text(again) != backend._decoder.text(row)
    assert banned not in again


def test_extra_stopping_criteria_join_the_stop_strings(demo_model, static):
    from transformers import MaxTimeCriteria, StoppingCriteriaList

    from llmeval.backends.hf import HFBackend

    class Bounded(HFBackend):
        def generate_kwargs(self, request, rows=1):
            return {"stopping_criteria": StoppingCriteriaList([MaxTimeCriteria(600)])}

    got = _run(Bounded(str(demo_model), root=demo_model.parent, batching="static", threads=1), _requests())
    assert [g.text for g in got] == [g.text for g in static] and all(g.error is None for g in got)


def test_requests_are_batched_by_config_then_length(tiny_model):
    backend = _backend(tiny_model, "static")
    backend.load()
    requests = [Request(PROMPTS[0], None, CONFIGS[i % 2]) for i in range(8)]  # configs interleaved
    encoded = [backend._encode(r) for r in requests]
    batches = list(backend._batches(_static_order(list(range(8)), encoded, requests), encoded, requests))
    assert sorted(map(sorted, batches)) == [[0, 2, 4, 6], [1, 3, 5, 7]]


def test_on_cpu_a_much_shorter_prompt_starts_a_new_batch(tiny_model):
    backend = _backend(tiny_model, "static")
    backend.load()
    requests = [Request(p, None, CONFIGS[0]) for p in (PROMPTS[2], PROMPTS[0], "Hello")]
    encoded = [backend._encode(r) for r in requests]
    assert len(encoded[2]) * 2 < len(encoded[0])
    batches = list(backend._batches(_static_order([0, 1, 2], encoded, requests), encoded, requests))
    assert [sorted(b) for b in batches] in ([[0, 1], [2]], [[0], [1], [2]])


@pytest.mark.parametrize("batching", ["pruned", "continuous"])
def test_the_batch_timeout_still_bounds_generation(demo_model, batching):
    backend = _backend(demo_model, batching, batch_size=2)
    out = _run(backend, [Request(p, None, GenerationConfig(max_new_tokens=512)) for p in PROMPTS[:2]], Limits(timeout=0.001))
    assert [g.error for g in out] == ["generation timed out after 0.001 s (a batch of 2 requests)"] * 2


def test_sampling_goes_through_generate_and_stays_seeded(demo_model):
    config = GenerationConfig(max_new_tokens=10, temperature=1.0, seed=3)
    requests = [Request(PROMPTS[1], None, config, sample=s) for s in (0, 1)]
    assert [g.text for g in _run(_backend(demo_model, "continuous"), requests)] == [
        g.text for g in _run(_backend(demo_model, "static"), requests)
    ]


def test_static_batches_after_continuous_batching_in_one_run_are_unchanged(demo_model):
    sampled = GenerationConfig(max_new_tokens=10, temperature=1.0, seed=3)
    requests = [Request(p, None, CONFIGS[0]) for p in PROMPTS[:3]] + [Request(PROMPTS[1], None, sampled, sample=1)]
    mixed = _run(_backend(demo_model, "continuous"), requests)  # greedy ones continuous, then the sampled one static
    assert [g.text for g in mixed] == [g.text for g in _run(_backend(demo_model, "static"), requests)]


def test_an_unknown_batching_is_refused(tiny_model):
    with pytest.raises(BackendError, match="batching must be one of auto, static, pruned, continuous"):
        _backend(tiny_model, "dynamic")


def test_the_batching_setting_reaches_the_backend(demo_model):
    from llmeval.config import Settings, apply
    from llmeval.core.evaluation import Evaluation

    settings = Settings()
    apply(settings, {"batching": "continuous"}, source="--llmeval-batching")
    assert Evaluation(settings, demo_model.parent).backend(f"hf:{demo_model}").batching == "continuous"


def test_llmeval_run_checks_its_batching_flag(in_project, capsys):
    from llmeval.cli import main

    in_project("app", "def good(prompt, vars):\n    return 'ok'\n").makefile(
        ".yaml", one="suite: one\nmodel: python:app:good\nprompt: q\ncases:\n  - {id: a}\n"
    )
    with pytest.raises(SystemExit) as exit_:  # argparse checks the choices `llmeval run --help` lists; usage errors exit 4
        main(["run", ".", "-q", "--batching", "dynamic"])
    assert exit_.value.code == 4
    err = capsys.readouterr().err
    assert "--batching: invalid choice: 'dynamic' (choose from 'auto', 'static', 'pruned', 'continuous')" in err


@pytest.mark.parametrize(
    ("decoded", "reported"),
    [(" You have 30 days.", "You have 30 days."), (" Yes. \n", "Yes."), ("Yes \n", "Yes \n"), ("  two", "two"), ("", "")],
)
def test_completion_text_is_cleaned_as_before(decoded, reported):
    from llmeval.backends.hf_decode import clean

    assert clean(decoded) == reported
