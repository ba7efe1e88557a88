"""`hallucination`: grounding on a hand-written table, numbers and claims, nli on a tiny classifier built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmeval.engine.pool import ModelPool
from llmeval.hallucination import alignment as A
from llmeval.hallucination import claims as T
from llmeval.hallucination import nli
from llmeval.scorers.base import Sample, build
from llmeval.scorers.context import ScoringContext, default_context
from llmeval.scorers.similarity import default_model_path

PARAPHRASES = Path(__file__).resolve().parents[2] / "fixtures" / "hallucination" / "paraphrases.jsonl"
SOURCE = (
    "The city council of Westhaven approved a plan on Tuesday to repair the old harbour bridge. "
    "Engineers found cracks in two of the steel supports. The repairs will cost 1,500,000 dollars and take "
    "eighteen months. Mayor Anna Kovacs said the bridge will stay open to buses. The work starts in March 2025."
)
# (output, hallucinated?) — numbers, dates, entity swaps, negation, additions, paraphrases.
TABLE = [
    ("Westhaven approved a plan to repair its harbour bridge.", False),
    ("The repairs will cost 1.5 million dollars.", False),
    ("The repairs will cost 2.5 million dollars.", True),
    ("Repairs will take eighteen months and start in March 2025.", False),
    ("Repairs will take twelve months.", True),
    ("The work starts in June 2025.", True),
    ("The work starts in March 2026.", True),
    ("Mayor Anna Kovacs said the bridge will stay open to buses.", False),
    ("Mayor John Peters said the bridge will stay open to buses.", True),
    ("The council of Eastport approved a plan to repair the bridge.", True),
    ("Engineers found cracks in two steel supports.", False),
    ("Engineers did not find cracks in the steel supports.", True),
    ("Mayor Anna Kovacs said the bridge will not stay open to buses.", True),
    ("The bridge collapsed last year, killing three people, and the governor resigned.", True),
    # faithful, with number / date / name formats varied
    ("The repairs will cost $1.5m and take 18 months.", False),
    ("Work on the bridge begins in March 2025.", False),
    ("Kovacs said buses can still use the bridge.", False),
    ("Cracks were found in two steel supports, engineers said.", False),
    # unsupported additions carrying a name, a number or a date
    ("The council hired Baxter Construction to repair the bridge.", True),
    ("The repairs will cost 1,500,000 dollars, paid by a 12% tax.", True),
    ("Mayor Anna Kovacs said the bridge will reopen on Friday.", True),
]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> ScoringContext:
    return default_context(root=tmp_path_factory.mktemp("ctx"), threads=1)


@pytest.mark.parametrize(("output", "hallucinated"), TABLE)
def test_grounding_table(ctx, output, hallucinated):
    scorer = build("hallucination", {"source": "document"})
    (score,) = scorer.score([Sample(output, vars={"document": SOURCE})], ctx)
    assert (score.value > 0) == hallucinated, score.explanation
    assert score.passed == (not hallucinated)
    if hallucinated:
        assert "closest source:" in score.explanation
    assert 0 <= score.metadata["max_claim_score"] <= 1


def test_a_10_mb_output_and_source_are_scored_on_their_first_words_and_say_so(ctx):
    scorer = build("hallucination", {"source": "document"})
    huge = (SOURCE + " ") * (10_000_000 // len(SOURCE))
    spaceless = "x" * 10_000_000
    scores = scorer.score(
        [
            Sample(huge, vars={"document": SOURCE}),
            Sample(TABLE[0][0], vars={"document": huge}),
            Sample(spaceless, vars={"document": SOURCE}),
        ],
        ctx,
    )
    assert [s.metadata["truncated"] for s in scores] == [["output"], ["source"], ["output"]]
    assert all("truncated to the first 10000 words" in s.explanation for s in scores)
    assert scores[0].passed and scores[1].passed  # the source's own sentences, and a paraphrase of them
    assert scores[0].metadata["claims"] <= 10_000


def test_false_alarms_on_the_faithful_paraphrase_set_stay_within_the_operating_point(ctx):
    """The default claim threshold was chosen for <= 5% false alarms on these 120 faithful paraphrases."""
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 100 and not any(r["label"] for r in rows)
    scores = build("hallucination", {}).score([Sample(r["output"], context=(r["source"],)) for r in rows], ctx)
    flagged = [r["output"] for r, s in zip(rows, scores, strict=True) if not s.passed]
    assert len(flagged) <= 0.05 * len(rows), flagged


@pytest.mark.parametrize(
    ("claim", "stated"),
    [
        ("Here is a concise summary of the passage:", ""),
        ("Key points include:", ""),
        ("2. Bob won the cup.", "Bob won the cup."),
        ("The passage describes how Bob won the cup.", "Bob won the cup."),
        ("Based on the article, Bob won.", "Bob won."),
        ("However, the text does not mention the cost.", "the cost."),
        ("Bob described the passage.", "Bob described the passage."),
    ],
)
def test_lead_ins_about_the_text_itself_are_not_claims(claim, stated):
    assert T.factual(claim) == stated


def test_windows_cover_the_text_in_bounded_pieces_at_their_offsets():
    text = "One two three. " * 40 + "word " * 400
    pieces = A.windows(text, max_words=50)
    assert all(text[start : start + len(piece)] == piece and len(piece.split()) <= 50 for start, piece in pieces)
    assert sum(len(piece.split()) for _, piece in pieces) == len(text.split())


def test_token_embeddings_are_unit_vectors_at_their_words():
    pool = ModelPool(threads=1)
    (found,) = pool.token_embed(default_model_path(), ["Engineers found cracks."])
    words = ["Engineers found cracks.".__getitem__(slice(a, b)) for a, b in found.spans]
    assert "".join(words).replace("#", "") == "Engineersfoundcracks." and len(words) == len(found.vectors)
    assert np.allclose(np.linalg.norm(found.vectors, axis=1), 1.0, atol=1e-5)


def test_explanation_names_the_unsupported_claim_and_what_is_missing(ctx):
    scorer = build("hallucination", {})
    out = "Engineers found cracks in two steel supports. The repairs will cost 9 million dollars."
    (score,) = scorer.score([Sample(out, context=(SOURCE,))], ctx)
    assert score.value == pytest.approx(0.5)
    assert "9 million dollars" in score.explanation and "9e+06" in score.explanation
    assert "1,500,000 dollars" in score.explanation  # the nearest source sentence
    assert score.metadata["unsupported"] == ["The repairs will cost 9 million dollars."]


def test_batch_equals_one_by_one_and_missing_source_raises(ctx):
    scorer = build("hallucination", {"source": "reference"})
    samples = [Sample(o, references=(SOURCE,)) for o, _ in TABLE[:6]]
    together = [s.value for s in scorer.score(samples, ctx)]
    assert together == [scorer.score([s], ctx)[0].value for s in samples]
    with pytest.raises(ValueError, match="no source text"):
        scorer.score([Sample("anything")], ctx)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5 million", [1.5e6]),
        ("1,500,000", [1.5e6]),
        ("$2bn", [2e9]),
        ("twelve thousand", [12000.0]),
        ("ninety-five", [95.0]),
        ("one of them", []),
        ("3.5% in 2020", [3.5, 2020.0]),
    ],
)
def test_numbers_normalised(text, expected):
    assert T.numbers(text) == expected


@pytest.mark.parametrize(
    ("claimed", "source", "ok"),
    [(180e6, 181_674_817, True), (1.5e6, 1_520_000, True), (15, 14, False), (2020, 2021, False), (200e6, 181_674_817, False)],
)
def test_rounded_numbers_are_supported_only_at_their_precision(claimed, source, ok):
    assert T.number_supported(claimed, [source]) is ok


def test_claims_split_sentences_and_fact_packed_clauses():
    text = "Dr. Smith of the U.S. Army approved the plan, and engineers found two cracks. It costs $5; it opens in May."
    assert T.claims(text) == [
        "Dr. Smith of the U.S. Army approved the plan",
        "engineers found two cracks.",
        "It costs $5; it opens in May.",
    ]


# -- nli on a tiny classifier ------------------------------------------------------------------
def _tiny_classifier(path: Path, labels: dict[int, str]) -> str:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(default_model_path())
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    config = BertConfig(
        vocab_size=tok.vocab_size, num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()}, **sizes
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory) -> str:
    return _tiny_classifier(tmp_path_factory.mktemp("nli") / "m", {0: "CONTRADICTION", 1: "neutral", 2: "Entailment"})


@pytest.mark.parametrize(
    ("labels", "column"),
    [
        (["entailment", "neutral", "contradiction"], 0),
        (["CONTRADICTION", "neutral", "ENTAILMENT"], 2),
        (["hallucinated", "consistent"], 1),
        (["LABEL_0", "LABEL_1"], 1),
        (["inconsistent", "consistent"], 1),
    ],
)
def test_support_label_read_from_config_names(labels, column):
    assert nli.support_column(labels) == column


def test_support_label_unknown_three_labels_is_an_error():
    with pytest.raises(ValueError, match="cannot tell"):
        nli.support_column(["a", "b", "c"])


def test_nli_uses_the_entailment_column_batches_like_one_by_one(tiny_nli):
    ctx = ScoringContext(ModelPool(threads=1), default_context().generate)
    scorer = build("hallucination", {"method": "nli", "model": tiny_nli, "source": "context"})
    samples = [Sample(o, context=(SOURCE,)) for o, _ in TABLE[:5]]
    batch = scorer.score(samples, ctx)
    alone = [scorer.score([s], ctx)[0] for s in samples]
    assert [s.metadata["max_claim_score"] for s in batch] == pytest.approx(
        [s.metadata["max_claim_score"] for s in alone], abs=1e-5
    )
    direct = ctx.pool.classify(tiny_nli, [(SOURCE, TABLE[0][0])])[0]
    assert batch[0].metadata["max_claim_score"] == pytest.approx(1 - direct[2], abs=1e-5)


def test_nli_chunks_long_sources_and_takes_the_best_chunk(tiny_nli):
    pool = ModelPool(threads=1)
    long_source = " ".join(f"Sentence number {i} says something about topic {i}." for i in range(60))
    chunks = nli.chunks(long_source, max_words=50)
    assert len(chunks) > 5 and all(len(c.split()) <= 50 for c in chunks)
    (checks,) = nli.check([(["A claim."], long_source)], pool, tiny_nli, chunk_words=50)
    support = pool.classify(tiny_nli, [(c, "A claim.") for c in chunks])[:, 2]
    assert checks[0].score == pytest.approx(1 - float(np.max(support)), abs=1e-6)
    assert checks[0].nearest == chunks[int(np.argmax(support))]


def test_method_needs_a_model():
    from llmeval.errors import ScorerError

    with pytest.raises(ScorerError, match="needs `model:`"):
        build("hallucination", {"method": "nli"})
