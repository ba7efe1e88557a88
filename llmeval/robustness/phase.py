"""The robustness phase of an Evaluation: after scoring, before records are built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from llmeval.robustness.checks import NAME, run_checks
from llmeval.robustness.engine import Prober, ProbeSettings, Subject

if TYPE_CHECKING:
    from llmeval.backends import Backend, Limits
    from llmeval.engine.plan import GenerationPlan
    from llmeval.scorers import ScoringContext
    from llmeval.suite import Suite


class ProbeRun(Protocol):
    """What the robustness phase takes from its run (llmeval.core.Evaluation has it)."""

    plan: GenerationPlan
    write_line: Callable[[str], None]

    @property
    def scoring(self) -> ScoringContext: ...

    def backend(self, spec: str) -> Backend: ...

    def limits(self, suite: Suite) -> Limits: ...


def add_robustness(run: ProbeRun, jobs: Sequence[tuple[Any, Any, int, Any]], scored: list[Any]) -> None:
    """Add a `robustness` score to the first sample of every case whose suite has a `robustness:` block.

    `jobs` are the run's (target, case, sample, generation); `scored` their (scores, error), updated in place.
    A case whose own output errored or already breaks the relation is not perturbed.
    """
    from llmeval.engine.cache import key_extra

    subjects, where = [], []
    for index, (target, case, sample, gen) in enumerate(jobs):
        suite = target.suite
        block = getattr(suite, "robustness", None)
        if block is None or sample != 0 or scored[index][1] is not None:
            continue
        settings = ProbeSettings.parse(dict(block))
        if not settings.selects(case) or not _original_holds(settings, scored[index][0]):
            continue
        original = case.sample_for(gen.text, case.request(suite.generation, 0).text())
        subjects.append(
            Subject(
                case,
                run.backend(target.spec),
                suite.generation,
                run.limits(suite),
                key_extra(suite.cache_key_files, suite.cache_version),
                settings,
                original,
            )
        )
        where.append(index)
    if not subjects:
        return
    prober = Prober(run.plan, run.scoring)
    for index, score in zip(where, run_checks(prober, subjects), strict=True):
        scored[index][0][NAME] = score.as_dict()
    run.write_line(
        f"llmeval: robustness: {len(subjects)} cases, {prober.requests} perturbed requests in {prober.passes} plan passes"
    )


def _original_holds(settings: ProbeSettings, scores: dict[str, Any]) -> bool:
    """For the `scorers` relation, the original output must pass the scorers it names (else nothing to keep)."""
    if settings.relation.kind != "scorers":
        return True
    names = settings.relation.scorers or tuple(scores)
    return all(scores[n]["passed"] for n in names if n in scores)
