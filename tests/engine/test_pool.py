"""ModelPool: load once, dedupe, budgeted batches equal one-by-one, OOM back-off, classify and loglikelihood."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmeval.engine.pool import ModelPool, PoolError
from llmeval.scorers.similarity import default_model_path

TEXTS = ["short", "a somewhat longer sentence about returns", "short", "x " * 40, "Free shipping over 50 dollars."]
LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}
PAIRS = [
    ("The parcel arrives in three days.", "It arrives soon."),
    ("Cats sleep.", "Dogs bark loudly at night."),
    ("The parcel arrives in three days.", "It arrives soon."),
    ("A premise " * 60, "short"),
    ("solo", None),
]


@pytest.fixture(scope="module")
def minilm() -> str:
    return default_model_path()


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory, minilm) -> Path:
    """A random 2-layer BERT sequence classifier with 3 named labels and MiniLM's tokenizer (no download)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(minilm)
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    config = BertConfig(
        vocab_size=tok.vocab_size, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **sizes
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("nli") / "tiny-nli"
    BertForSequenceClassification(config).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def one_by_one(fn, items):
    return np.concatenate([fn([x]) for x in items])


def test_embed_dedupes_keeps_order_and_loads_once(minilm):
    pool = ModelPool(threads=1)
    vectors = pool.embed(minilm, TEXTS)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    assert np.array_equal(vectors[0], vectors[2])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    assert pool.load("embed", minilm) is pool.load("embed", minilm)
    (stats,) = pool.stats().values()
    assert (stats.calls, stats.requested, stats.unique, stats.batches) == (1, 5, 4, 1)


def test_small_token_budget_splits_batches_and_changes_no_value(minilm):
    pool = ModelPool(threads=1, token_budget=48)
    budgeted = pool.embed(minilm, TEXTS)
    assert pool.stats()[f"embed:{minilm}"].batches > 1
    assert np.allclose(budgeted, one_by_one(lambda t: pool.embed(minilm, t), TEXTS), atol=1e-5)


def test_cuda_out_of_memory_halves_the_batch_and_retries(minilm):
    import torch

    from llmeval.engine import pool as pool_module

    pool = ModelPool(threads=1)
    loaded = pool.load("embed", minilm)

    def tight_memory(loaded, items):  # what a GPU does when a batch is too large for it
        if len(items) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return pool_module._embed_forward(loaded, items)

    rows = pool._run(loaded, TEXTS, lambda t: pool_module._token_ids(loaded.tokenizer, t, 256), tight_memory)
    assert np.allclose(np.stack(rows), pool.embed(minilm, TEXTS, normalize=False), atol=1e-5)
    assert loaded.stats.oom_halvings == 3  # 4 distinct texts: 4 -> 2+2 -> 1+1+1+1
    with pytest.raises(PoolError, match="out of memory on a single input"):
        pool._run(loaded, ["a", "b"], lambda t: pool_module._token_ids(loaded.tokenizer, t, 256), _always_oom)


def _always_oom(loaded, items):
    import torch

    raise torch.cuda.OutOfMemoryError("CUDA out of memory")


def test_classify_reads_labels_from_config_and_equals_a_manual_forward(tiny_nli):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    pool = ModelPool(threads=1)
    probs = pool.classify(str(tiny_nli), PAIRS, max_length=64)
    assert pool.labels(str(tiny_nli)) == ("entailment", "neutral", "contradiction")
    tok, model = AutoTokenizer.from_pretrained(tiny_nli), AutoModelForSequenceClassification.from_pretrained(tiny_nli).eval()
    with torch.inference_mode():
        for row, (premise, hypothesis) in zip(probs, PAIRS, strict=True):
            enc = tok(premise, hypothesis, truncation="only_first" if hypothesis else True, max_length=64, return_tensors="pt")
            assert np.allclose(row, model(**enc).logits.softmax(-1)[0].numpy(), atol=1e-5)
    assert np.allclose(probs, one_by_one(lambda p: pool.classify(str(tiny_nli), p, max_length=64), PAIRS), atol=1e-5)


def test_loglikelihood_equals_a_manual_forward_and_batching_changes_nothing(tiny_model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pairs = [
        ("Q: How long do I have?\nA:", " 30 days."),
        ("Hello", " world"),
        ("Q: Where is my parcel?\nA:", " On its way, tracked."),
    ]
    pool = ModelPool(threads=1)
    got = pool.loglikelihood(str(tiny_model), pairs)
    tok, model = AutoTokenizer.from_pretrained(tiny_model), AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    for result, (context, continuation) in zip(got, pairs, strict=True):
        ctx_ids, cont_ids = (
            tok(context, add_special_tokens=False)["input_ids"],
            tok(continuation, add_special_tokens=False)["input_ids"],
        )
        with torch.inference_mode():
            logprobs = model(torch.tensor([ctx_ids + cont_ids])).logits.log_softmax(-1)[0]
        expected = [float(logprobs[len(ctx_ids) - 1 + i, t]) for i, t in enumerate(cont_ids)]
        assert result.tokens == pytest.approx(expected, abs=1e-4)
        assert result.total == pytest.approx(sum(expected), abs=1e-3)
    alone = [pool.loglikelihood(str(tiny_model), [p])[0].total for p in pairs]
    assert [r.total for r in got] == pytest.approx(alone, abs=1e-4)


def test_threads_setting_is_applied_on_cpu_load(minilm):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ModelPool(threads=1).load("embed", minilm)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_model_that_cannot_load_is_a_pool_error_naming_it(tmp_path):
    with pytest.raises(PoolError, match="cannot load embed model"):
        ModelPool(threads=1).embed(str(tmp_path / "missing"), ["x"])


def test_threads_sharing_one_pool_get_the_same_vectors(minilm):
    from concurrent.futures import ThreadPoolExecutor

    pool = ModelPool(threads=1)
    alone = pool.embed(minilm, TEXTS)
    with ThreadPoolExecutor(4) as executor:
        together = list(executor.map(lambda i: pool.embed(minilm, TEXTS[i:] + TEXTS[:i]), range(4)))
    for i, vectors in enumerate(together):
        assert np.allclose(vectors, np.roll(alone, -i, axis=0), atol=1e-5)
