"""Robustness in plain pytest tests: `check_robust` / `assert_robust` (batched through the engine) and
`given_perturbations` (a hypothesis `@given` with llmeval's database and seed).

    def test_refund_answer_survives_typos():
        assert_robust("hf:fixtures/models/support-tiny", "How long do I have to return an item?",
                      lambda out: "30 days" in out, template="Q: {}\\nA:", kinds=TYPO_KINDS)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.backends.base import GenerationConfig
from llmeval.backends.limits import Limits
from llmeval.robustness.checks import run_checks
from llmeval.robustness.engine import Prober, ProbeSettings, Subject
from llmeval.robustness.perturb import KINDS
from llmeval.scorers import Sample, Score, Threshold
from llmeval.suite import Case


@dataclass(frozen=True)
class _Check:
    """A test's own predicate on the output, as a scorer."""

    fn: Callable[[str], bool]
    name: str = "check"
    threshold: Threshold = Threshold(min=1.0)

    def __call__(self, sample: Sample) -> Score:
        ok = bool(self.fn(sample.output))
        return Score(self.name, float(ok), self.threshold, ok, "" if ok else "the test's check failed")


def check_robust(
    model: str,
    text: str,
    check: Callable[[str], bool],
    *,
    template: str = "{}",
    k: int = 8,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    max_edits: int = 3,
    max_new_tokens: int = 48,
    root: Path | None = None,
    cache_dir: str | None = ".llmeval",
) -> Score:
    """K perturbations of `text` (inside `template`) generated in one batch, failures shrunk in batched rounds.

    The returned Score has `.passed`, `.value` (share that kept `check`) and the minimal break in `.metadata`.
    """
    from llmeval.backends import resolve
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.progress import Progress
    from llmeval.scorers import default_context

    base = root or Path.cwd()
    cache = Cache(base / (cache_dir or ".llmeval"), "on" if cache_dir else "off")
    plan = GenerationPlan(cache, lambda total: Progress(total, live=False, write_line=lambda _: None))
    backend = resolve(model, root=base)
    case = Case("api", "check", "<test>", 0, {"text": text}, template.format(text), None, (), (), (), (_Check(check),), 1.0)
    config = GenerationConfig(max_new_tokens, 0.0, 1.0, seed, ())
    try:
        plan.add(backend, case.request(config, 0))
        plan.run()
        original = plan.get(next(iter(plan.jobs))).text
        settings = ProbeSettings(k=k, seed=seed, var="text", kinds=tuple(kinds), max_edits=max_edits)
        subject = Subject(case, backend, config, Limits(), "", settings, case.sample_for(original, case.prompt or ""))
        if not check(original):
            return Score("robustness", float("nan"), Threshold(min=1.0), False, f"the unperturbed output fails: {original!r}")
        return run_checks(Prober(plan, default_context(root=base)), [subject])[0]
    finally:
        backend.close()
        cache.close()


def assert_robust(model: str, text: str, check: Callable[[str], bool], **options: Any) -> Score:
    """`check_robust`, raising AssertionError with the minimal break side by side when a perturbation breaks it."""
    score = check_robust(model, text, check, **options)
    if not score.passed:
        minimal = score.metadata.get("minimal", {})
        lines = [score.explanation] + [
            f"  {k}: {minimal[k]!r}"
            for k in ("original_prompt", "perturbed_prompt", "original_output", "perturbed_output")
            if k in minimal
        ]
        raise AssertionError("\n".join(lines))
    return score


def given_perturbations(
    text: str,
    kinds: Sequence[str] = KINDS,
    *,
    max_edits: int = 3,
    max_examples: int = 25,
    seed: int | None = 0,
    database: str = ".llmeval/hypothesis",
) -> Callable[[Any], Any]:
    """Decorator: the test gets `perturbed` (a `Perturbed`) from hypothesis.

    With a `seed` the examples are the same on every run; with `seed=None` hypothesis explores afresh and
    keeps failing examples in its database under .llmeval/ (replayed first next time).

    One example is one call of the test (so one model call with the `llm` fixture); prefer `check_robust`
    to batch many perturbations through the engine.
    """
    from hypothesis import given, settings
    from hypothesis import seed as with_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    from llmeval.robustness.edit_strategies import perturbations

    def wrap(fn: Any) -> Any:
        test = given(perturbed=perturbations(text, kinds, max_edits=max_edits))(fn)
        test = settings(max_examples=max_examples, deadline=None, database=DirectoryBasedExampleDatabase(database))(test)
        return test if seed is None else with_seed(seed)(test)

    return wrap
