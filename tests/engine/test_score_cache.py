"""The score cache: any change to a scorer's signature or inputs misses; a threshold change re-decides from the
cached value exactly as a fresh score would; modes on/off/refresh; secrets never reach the file."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from llmeval.backends import GenerationConfig, Request, resolve
from llmeval.engine import score_cache
from llmeval.engine.cache import Cache
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress
from llmeval.engine.score_cache import POLICIES, ScoreStore, masker, signature
from llmeval.scorers import Sample, Score, Threshold, build, register
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import ScoringContext, default_context

SAMPLE = Sample(
    "Refunds take 30 days. Contact ann@example.com.",
    ("Refunds are paid within 30 days.",),
    "How long do refunds take?",
    {"region": "north", "answer": "yes"},
    ("Our policy: refunds are paid within 30 days of the request.",),
)
# Per cached built-in: parameters to build it, and changed parameters that must each miss (min/max aside).
SCORERS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "exact": ({"value": "30 days"}, [{"value": "31 days"}, {"case_sensitive": False}, {"strip": False}]),
    "contains": ({"value": "30 days"}, [{"value": "days"}, {"mode": "any"}, {"case_sensitive": False}]),
    "excludes": ({"value": "sorry"}, [{"value": "refund"}]),
    "regex": ({"pattern": r"\d+ days"}, [{"pattern": r"\d+"}]),
    "json": ({}, [{"schema": {"type": "object"}}]),
    "length": ({"max": 50}, [{"unit": "chars"}]),
    "no_leak": ({"secrets": ["ann@example.com"]}, [{"secrets": ["bob@example.com"]}]),
    "refusal": ({}, [{"patterns": ["no way"]}, {"name": "refused"}]),
    "decision": ({"choices": {"yes": ["yes"], "no": ["no"]}}, [{"positive": "no"}, {"pattern": "(yes|no)"}]),
    "bleu": ({"min": 10}, []),
    "chrf": ({"min": 10}, []),
    "ter": ({"max": 80}, []),
    "rouge1": ({"min": 0.2}, [{"stemmer": False}]),
    "rouge2": ({"min": 0.2}, [{"stemmer": False}]),
    "rougeL": ({"min": 0.2}, [{"stemmer": False}]),
    "rougeLsum": ({"min": 0.2}, [{"stemmer": False}]),
    "sentiment": ({}, [{"name": "tone"}]),
    "similarity": ({"min": 0.5}, [{"model": "sentence-transformers/all-mpnet-base-v2"}]),
    "hallucination": ({}, [{"source": "reference"}, {"claim_threshold": 0.3}, {"method": "nli", "model": "nli-x"}]),
    "stereotype": ({"model": "gpt2"}, [{"model": "distilgpt2"}]),
    "pii": (
        {},
        [
            {"forbid": "from_context"},
            {"entities": ["EMAIL_ADDRESS"]},
            {"min_score": 0.7},
            {"allow_values": ["ann@example.com"]},
            {"spacy_model": "none"},
        ],
    ),
}
INPUT_CHANGES = {
    "output": {"output": "Refunds take 31 days."},
    "references": {"references": ("Refunds are paid within 31 days.",)},
    "prompt": {"prompt": "How long?"},
    "vars": {"vars": {"region": "south", "answer": "yes"}},
    "context": {"context": ("Refunds within 60 days.",)},
}


def key(scorer: Any, sample: Sample = SAMPLE, store: ScoreStore | None = None) -> str | None:
    store = store or ScoreStore(Cache(Path("unused"), "on"))
    return store.keys([(scorer, sample)])[0]


def test_every_cached_builtin_is_covered_here():
    assert set(SCORERS) == set(POLICIES)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_any_change_to_a_scorers_parameters_or_inputs_misses(name):
    params, changes = SCORERS[name]
    base = key(build(name, params))
    assert base is not None, f"{name} is not cached"
    assert key(build(name, params)) == base  # built again from the same entry: a hit
    for change in changes:
        assert key(build(name, {**params, **change})) != base, f"{name}: {change} hits the old entry"
    for field, change in INPUT_CHANGES.items():
        assert key(build(name, params), dataclasses.replace(SAMPLE, **change)) != base, f"{name}: {field} change hits"


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_a_library_or_llmeval_source_change_misses(name, monkeypatch):
    params, _ = SCORERS[name]
    base = key(build(name, params))
    monkeypatch.setattr(score_cache, "source_digest", lambda: "another llmeval")
    assert key(build(name, params)) != base
    monkeypatch.undo()
    for library in POLICIES[name].libraries:
        monkeypatch.setattr(score_cache, "library_version", lambda lib, changed=library: "9.9" if lib == changed else "1")
        first = key(build(name, params))
        monkeypatch.setattr(score_cache, "library_version", lambda lib: "1")
        assert key(build(name, params)) != first, f"{name}: a new {library} hits the old entry"


@pytest.mark.parametrize("name", ["similarity", "stereotype", "hallucination", "stereotype-hf"])
def test_a_changed_model_folder_misses(name, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 8}')
    params = {
        "similarity": {"model": str(model)},
        "stereotype": {"model": str(model)},
        "stereotype-hf": {"model": f"hf:{model}"},
        "hallucination": {"method": "nli", "model": str(model)},
    }[name]
    scorer = build(name.removesuffix("-hf"), params)
    before = key(scorer)
    (model / "config.json").write_text('{"hidden_size": 16}')
    score_cache.model_identity.cache_clear()  # fingerprinted once per process: a new run sees the new files
    assert key(scorer) != before


def test_a_new_hub_snapshot_misses(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    keys = []
    for revision in ("a" * 40, "b" * 40):
        snapshot = hub / "models--org--nli" / "snapshots" / revision
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text("{}")
        (hub / "models--org--nli" / "refs").mkdir(exist_ok=True)
        (hub / "models--org--nli" / "refs" / "main").write_text(revision)
        score_cache.model_identity.cache_clear()
        keys.append(key(build("hallucination", {"method": "nli", "model": "org/nli"})))
    assert keys[0] != keys[1]


def test_another_installed_spacy_pipeline_misses(monkeypatch):
    base = key(build("pii", {}))
    assert score_cache.spacy_pipelines()  # the installed one, read from its dist-info folder
    monkeypatch.setattr(score_cache, "spacy_pipelines", lambda: ("en_core_web_lg==3.8.0",))
    assert key(build("pii", {})) != base


def test_a_threshold_change_keeps_the_key_where_pass_fail_is_the_threshold_alone():
    for name in ("similarity", "rougeL", "bleu", "length", "pii", "hallucination", "sentiment"):
        assert key(build(name, {"max": 1})) == key(build(name, {"max": 3})), name
    assert key(build("decision", {})) != key(build("decision", {"name": "other"}))


def test_live_model_scorers_and_plugins_are_not_cached():
    assert signature(build("judge", {"model": "python:x:y", "rubric": "polite"})) is None
    assert signature(build("self_consistency", {})) is None
    assert signature(build("hallucination", {"method": "judge", "model": "python:x:y"})) is None

    @dataclasses.dataclass(frozen=True)
    class Plugin:
        name: str = "plugin_metric"
        threshold: Threshold = Threshold()

        def __call__(self, sample: Sample) -> Score:
            return Score(self.name, 1.0, self.threshold, True)

    @dataclasses.dataclass(frozen=True)
    class Declared(Plugin):
        cache_version: str = "1"

    register("plugin_metric")(lambda: Plugin())
    register("plugin_declared")(lambda version="1": Declared(cache_version=version))
    assert signature(build("plugin_metric", {})) is None  # may call a live service: scored every run
    assert signature(build("plugin_declared", {})) is not None
    assert key(build("plugin_declared", {})) != key(build("plugin_declared", {"version": "2"}))
    assert signature(Plugin()) is None  # not built from a suite entry


@pytest.fixture
def ctx(tmp_path) -> ScoringContext:
    return default_context(threads=1, cache_dir=tmp_path / "cache")


def fresh(name: str, params: dict[str, Any], samples: list[Sample]) -> list[dict[str, Any]]:
    scorer = build(name, params)
    return [s.as_dict() for s in score_all([(scorer, s) for s in samples], default_context(threads=1))]


SAMPLES = [SAMPLE, dataclasses.replace(SAMPLE, output="Refunds are paid within 30 days."), Sample("ok", ("no",))]


@pytest.mark.parametrize("name", ["rougeL", "bleu", "length", "contains"])
def test_a_warm_rerun_scores_nothing_and_a_new_threshold_redecides_like_a_fresh_score(name, ctx):
    params = {"value": "30 days"} if name == "contains" else {"min": 0.3} if name != "length" else {"max": 5}
    jobs = [(build(name, params), s) for s in SAMPLES]
    cold = [s.as_dict() for s in score_all(jobs, ctx)]
    assert (ctx.stats.cached, ctx.stats.scored) == (0, 3)
    warm = [s.as_dict() for s in score_all([(build(name, params), s) for s in SAMPLES], ctx)]
    assert warm == cold and (ctx.stats.cached, ctx.stats.scored) == (3, 3)
    if name == "contains":
        return
    changed = {"min": 0.6} if name != "length" else {"max": 6}
    redecided = [s.as_dict() for s in score_all([(build(name, changed), s) for s in SAMPLES], ctx)]
    assert ctx.stats.scored == 3  # from the cache
    assert redecided == fresh(name, changed, SAMPLES)


def test_modes_off_and_refresh(tmp_path):
    jobs = [(build("rougeL", {"min": 0.3}), s) for s in SAMPLES]
    off = default_context(threads=1)  # its cache is off
    score_all(jobs, off)
    score_all(jobs, off)
    assert off.stats.cached == 0 and not (tmp_path / "cache").exists()
    on = default_context(threads=1, cache_dir=tmp_path / "cache")
    score_all(jobs, on)
    refresh = default_context(threads=1)
    refresh.scores = ScoreStore(Cache(tmp_path / "cache", "refresh"))
    score_all(jobs, refresh)
    assert (refresh.stats.cached, refresh.stats.scored) == (0, 3)  # refresh scores again and overwrites
    assert Cache(tmp_path / "cache").stats()["scores"] == 3
    assert Cache(tmp_path / "cache").clear() == 0 and Cache(tmp_path / "cache").stats()["scores"] == 0


def test_errors_are_not_cached(ctx):
    scorer = build("json", {"schema": {"type": "object", "required": ["a"]}})
    broken = build("regex", {"pattern": "x"})
    object.__setattr__(broken, "check", lambda sample: 1 / 0)  # the scorer raises on every sample
    score_all([(broken, SAMPLE), (scorer, SAMPLE)], ctx)
    score_all([(broken, SAMPLE), (scorer, SAMPLE)], ctx)
    assert (ctx.stats.cached, ctx.stats.scored) == (1, 3)


KEY = "sk-live-SCORECACHE-0123456789abcdef"


def test_a_secret_in_an_explanation_is_masked_in_the_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMEVAL_API_KEY", KEY)
    cache = Cache(tmp_path / "cache", "on")
    plan = GenerationPlan(cache, lambda n: Progress(n, live=False, write_line=lambda _: None))
    backend = resolve("openai:http://127.0.0.1:9/v1#m", root=tmp_path)
    plan.add(backend, Request("q", None, GenerationConfig(), 0))  # the plan learns the backend's key
    ctx = default_context(threads=1)
    ctx.scores = ScoreStore(cache, masker(plan))
    scorer = build("exact", {"value": f"the key is {KEY}"})  # the explanation quotes the expected text
    (score,) = score_all([(scorer, SAMPLE)], ctx)
    assert KEY in score.explanation  # masking records is the redactor's job; the cache file is ours
    cache.close()
    rows = sqlite3.connect(tmp_path / "cache" / "cache.sqlite").execute("SELECT result FROM scores").fetchall()
    assert len(rows) == 1 and KEY not in rows[0][0] and "<SECRET>" in rows[0][0]
    assert KEY[:12].encode() not in b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
