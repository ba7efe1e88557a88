"""Scorer throughput against the raw library (issue 22, item 3), then the whole-run figures (item 4, bench/_rerun.py).

Each llmeval scorer runs through `score_all` (the run's path: batch per scorer, score cache off) on the same
inputs as its library called directly, both warm (engines loaded, one warm-up call), one torch thread, best of
--rounds. Also shown: the same llmeval scorer served from a warm score cache.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/scorer_bench.py [--items 400] [--rounds 3] [--skip-runs] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _report  # noqa: E402
import _rerun  # noqa: E402

from llmeval.pii.engine import DEFAULT_ENTITIES  # noqa: E402
from llmeval.scorers import Sample, build  # noqa: E402
from llmeval.scorers.batch import score_all  # noqa: E402
from llmeval.scorers.context import default_context  # noqa: E402

RESULTS = HERE / "RESULTS.md"
ARTICLES = ROOT / "fixtures" / "data" / "articles.jsonl"
PII_TEXTS = ROOT / "fixtures" / "pii" / "labeled.jsonl"
GOAL = 0.9
NOTES = {
    "NER only": "spaCy's NLP step alone, no recognizers: the floor under any analyzer, not a peer",
    "-": "no library does this check: items/s only",
}
CHEAP = 4  # rougeL and bleu take milliseconds a round: this many times the rounds, so the best is not the load's


def pair_samples(n: int) -> list[Sample]:
    """n distinct (summary as output, the article's first two sentences as reference, the article as context):
    each text tagged apart once the 40 articles run out, so no side gains from repeated inputs."""
    rows = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i in range(n):
        row, round_ = rows[i % len(rows)], i // len(rows)
        lead = ". ".join(row["document"].split(". ")[:2]) + "."
        tag = f" (report {round_})" if round_ else ""
        out.append(Sample(row["summary"] + tag, (lead + tag,), "", {}, (row["document"] + tag,)))
    return out


def pii_samples(n: int) -> list[Sample]:
    """n distinct ~40-word texts of labeled PII sentences (names, emails, phones, cards...), as outputs."""
    rows = [json.loads(line)["text"] for line in PII_TEXTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, current, i = [], [], 0
    while len(texts) < n:
        current.append(rows[i % len(rows)])
        i += 1
        if sum(len(t.split()) for t in current) >= 36:
            texts.append(" ".join(current) + (f" Ref {len(texts)}." if i > len(rows) else ""))
            current = []
    return [Sample(t) for t in texts]


def race(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Best seconds of each function, their rounds interleaved (a shared machine's load hits every side alike),
    after one warm-up call each (engines built, caches filled)."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def llmeval_sides(name: str, params: dict[str, Any], samples: list[Sample], tmp: Path) -> dict[str, Callable[[], Any]]:
    """llmeval's scorer with the score cache off, and served from a warm score cache (one pool: loaded once)."""
    jobs = [(build(name, params), s) for s in samples]
    ctx = default_context(threads=1)
    cached = default_context(threads=1, cache_dir=tmp / name)
    cached.pool = ctx.pool
    return {"llmeval": lambda: score_all(jobs, ctx), "cached": lambda: score_all(jobs, cached)}


def raw_pii(samples: list[Sample]) -> dict[str, Callable[[], Any]]:
    """Presidio's BatchAnalyzerEngine (its default recognizers, the same spaCy pipeline by name), and spaCy's
    nlp.pipe alone: the full pipeline, and the NER-only one llmeval runs (the floor for any analyzer)."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from llmeval.pii import get_engine, resolve_spacy_model

    # presidio's email check calls tldextract.extract, whose first use fetches the public suffix list: offline here
    tldextract.extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
    model = resolve_spacy_model()
    assert model is not None, "no spaCy pipeline installed"
    texts = [s.output for s in samples]
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    batch = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"]))
    entities = list(DEFAULT_ENTITIES)
    full, ner_only = spacy.load(model), get_engine(None).analyzer.nlp_engine.nlp["en"]
    return {
        "presidio BatchAnalyzerEngine": lambda: list(
            batch.analyze_iterator(texts, "en", entities=entities, score_threshold=0.5, batch_size=32)
        ),
        f"spaCy nlp.pipe ({model}, full pipeline)": lambda: list(full.pipe(texts, batch_size=32)),
        f"spaCy nlp.pipe ({model}, NER only, as llmeval runs it)": lambda: list(ner_only.pipe(texts, batch_size=32)),
    }


def raw_similarity(samples: list[Sample]) -> dict[str, Callable[[], Any]]:
    """sentence-transformers' encode of every output and reference (its batch API), then the cosine per pair."""
    from sentence_transformers import SentenceTransformer

    from llmeval.scorers.similarity import default_model_path

    model = SentenceTransformer(default_model_path(), device="cpu")
    texts = [t for s in samples for t in (s.output, *s.references)]

    def run() -> list[float]:
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(samples))]

    return {"sentence-transformers encode": run}


def raw_rouge(samples: list[Sample]) -> dict[str, Callable[[], Any]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return {"rouge-score RougeScorer.score": lambda: [scorer.score(s.references[0], s.output) for s in samples]}


def raw_bleu(samples: list[Sample]) -> dict[str, Callable[[], Any]]:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(effective_order=True)
    return {"sacrebleu BLEU.sentence_score": lambda: [bleu.sentence_score(s.output, list(s.references)) for s in samples]}


def measure(items: int, rounds: int) -> list[dict[str, Any]]:
    """One row per (llmeval scorer, raw library): items/s each way."""
    import torch

    torch.set_num_threads(1)
    pairs, pii_texts = pair_samples(items), pii_samples(items)
    rows: list[dict[str, Any]] = []
    plan: list[tuple[str, dict[str, Any], list[Sample], Callable[[list[Sample]], dict[str, Callable[[], Any]]] | None]] = [
        ("pii", {}, pii_texts, raw_pii),
        ("similarity", {"min": 0.5}, pairs, raw_similarity),
        ("hallucination", {}, pairs, None),
        ("rougeL", {"min": 0.3}, pairs, raw_rouge),
        ("bleu", {"min": 10}, pairs, raw_bleu),
    ]
    with tempfile.TemporaryDirectory(prefix="llmeval-scorer-bench-") as tmp:
        for name, params, samples, raw in plan:
            sides = llmeval_sides(name, params, samples, Path(tmp))
            libraries = raw(samples) if raw else {}
            times = race({**sides, **libraries}, rounds * (CHEAP if name in ("rougeL", "bleu") else 1))
            rates = {k: len(samples) / v for k, v in times.items()}
            for library in libraries or ["-"]:
                rows.append(
                    {
                        "scorer": name,
                        "library": library,
                        "llmeval": rates["llmeval"],
                        "raw": rates.get(library, float("nan")),
                        "cached": rates["cached"],
                    }
                )
            print(f"[scorer_bench] {name}: {', '.join(f'{k} {v:,.1f}/s' for k, v in rates.items())}", flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        ratio = r["llmeval"] / r["raw"] if r["raw"] == r["raw"] else None
        verdict = "-" if ratio is None else ("PASS" if ratio >= GOAL else "MISS")
        out.append(
            (
                r["scorer"],
                f"{r['llmeval']:,.1f}",
                r["library"],
                "-" if ratio is None else f"{r['raw']:,.1f}",
                "-" if ratio is None else f"{ratio:.2f}x",
                verdict,
                f"{r['cached']:,.0f}",
                NOTES.get(r["library"], NOTES["NER only"] if "NER only" in r["library"] else ""),
            )
        )
    head = (
        "llmeval scorer",
        "items/s",
        "raw library",
        "items/s",
        "llmeval / raw",
        f">= {GOAL}x",
        "from score cache, items/s",
        "note",
    )
    return _report.table(head, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-runs", action="store_true", help="throughput only, not the cold/warm whole runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/RESULTS.md")
    args = parser.parse_args()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = measure(args.items, args.rounds)
    runs = None if args.skip_runs else _rerun.measure()
    text = _rerun.section(table(rows), runs, args, started, load, " / ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("\n" + text, flush=True)
    if not args.no_write:
        _report.write_section(RESULTS, text, name="scorers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
