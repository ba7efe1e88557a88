"""score_all: one batch call per batch_key, results in job order, failures isolated to the samples that fail."""

from __future__ import annotations

import sys
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import pytest

from llmeval.backends.base import GenerationConfig, Request
from llmeval.scorers import Sample, Score, Threshold, build
from llmeval.scorers.batch import BatchScorer, PerSample, ScoreError, as_batch, score_all
from llmeval.scorers.context import ScoringContext, default_context


@pytest.fixture(scope="module")
def ctx() -> ScoringContext:
    return default_context(threads=1)


@dataclass(frozen=True, eq=False)
class Counting:
    """A batch scorer that records its batch sizes; raises on outputs listed in `bad` (with `how`)."""

    key: str = "k"
    bad: tuple[str, ...] = ()
    how: type[BaseException] = ValueError
    calls: list[int] = field(default_factory=list)
    name: str = "counting"
    threshold: Threshold = Threshold(min=1)

    @property
    def batch_key(self) -> Hashable:
        return ("counting", self.key)

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        self.calls.append(len(samples))
        if any(s.output in self.bad for s in samples):
            raise self.how("bad output")
        return [Score(self.name, float(len(s.output)), self.threshold, True) for s in samples]


def samples(*outputs: str) -> list[Sample]:
    return [Sample(o) for o in outputs]


def test_one_call_per_batch_key_across_instances_and_results_in_order(ctx):
    first, second, other = Counting("k"), Counting("k"), Counting("other")
    jobs = [(first, Sample("a")), (other, Sample("bbbb")), (second, Sample("cc")), (first, Sample("ddd"))]
    results = score_all(jobs, ctx)
    assert [r.value for r in results if isinstance(r, Score)] == [1.0, 4.0, 2.0, 3.0]
    assert first.calls == [3] and second.calls == [] and other.calls == [1]


def test_a_failing_batch_is_retried_per_sample_and_only_the_bad_sample_errors(ctx):
    scorer = Counting(bad=("boom",))
    results = score_all([(scorer, s) for s in samples("ok", "boom", "fine")], ctx)
    assert isinstance(results[0], Score) and results[0].value == 2.0
    assert results[1] == ScoreError("counting", "ValueError", "bad output")
    assert isinstance(results[2], Score)
    assert scorer.calls == [3, 1, 1, 1]


@pytest.mark.parametrize("how", [SystemExit, GeneratorExit, MemoryError])
def test_base_exceptions_from_a_scorer_are_errors_on_its_samples(ctx, how):
    results = score_all([(Counting(bad=("x",), how=how), s) for s in samples("x", "y")] + [(Counting("z"), Sample("z"))], ctx)
    assert isinstance(results[0], ScoreError) and results[0].type == how.__name__
    assert isinstance(results[1], Score) and isinstance(results[2], Score)


def test_keyboard_interrupt_still_stops_the_run(ctx):
    with pytest.raises(KeyboardInterrupt):
        score_all([(Counting(bad=("x",), how=KeyboardInterrupt), Sample("x"))], ctx)


def test_a_wrong_number_of_scores_is_an_error_not_a_silent_misalignment(ctx):
    @dataclass(frozen=True)
    class Short:
        name: str = "short"
        threshold: Threshold = Threshold()
        batch_key: str = "short"

        def score(self, samples, ctx):
            return [Score(self.name, 1.0, self.threshold, True)][: len(samples) - 1]

    results = score_all([(Short(), s) for s in samples("a", "b")], ctx)
    assert all(isinstance(r, ScoreError) and "must return a list of 1 Score" in r.message for r in results)


@dataclass(frozen=True)
class Exiting:
    """A per-sample scorer (no `score`, no `batch_key`) that calls sys.exit on the output 'exit'."""

    name: str = "exiting"
    threshold: Threshold = Threshold()

    def __call__(self, sample: Sample) -> Score:
        if sample.output == "exit":
            sys.exit(3)
        return Score(self.name, 1.0, self.threshold, True)


def test_per_sample_scorers_are_adapted_and_their_failures_isolated(ctx):
    contains, exiting = build("contains", "30 days"), Exiting()
    jobs = [(contains, Sample("in 30 days")), (exiting, Sample("exit")), (contains, Sample("never")), (exiting, Sample("ok"))]
    results = score_all(jobs, ctx)
    assert [r.passed for r in results if isinstance(r, Score)] == [True, False, True]
    assert results[1] == ScoreError("exiting", "SystemExit", "3")
    assert isinstance(as_batch(exiting), PerSample)


def test_adapter_keys_equal_parameters_together_and_keeps_batch_scorers():
    assert as_batch(build("rougeL", {"min": 0.5})).batch_key == as_batch(build("rougeL", {"min": 0.5})).batch_key
    assert as_batch(build("rougeL", {"min": 0.5})).batch_key != as_batch(build("rougeL", {"min": 0.6})).batch_key
    assert as_batch(build("contains", "a")).batch_key != as_batch(build("contains", "a")).batch_key  # closures differ
    similarity = build("similarity", {"min": 0.5})
    assert isinstance(similarity, BatchScorer) and as_batch(similarity) is similarity


def test_judge_requests_go_through_the_plan_once(tmp_path, monkeypatch):
    (tmp_path / "judge_app.py").write_text(
        "CALLS = []\ndef judge(prompt):\n    CALLS.append(prompt)\n    return 'verdict: ' + prompt[::-1]\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ctx = default_context(root=tmp_path)
    config = GenerationConfig(max_new_tokens=8)
    requests = [Request(p, None, config) for p in ("abc", "xyz", "abc")]
    gens = ctx.generate("python:judge_app:judge", requests)
    assert [g.text for g in gens] == ["verdict: cba", "verdict: zyx", "verdict: cba"]
    ctx.generate("python:judge_app:judge", requests[:1])
    import judge_app

    assert judge_app.CALLS == ["abc", "xyz"]  # deduplicated, and the second call is served by the plan
