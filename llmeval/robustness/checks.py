"""A run's robustness phase: perturb every selected case, shrink the failures, and score each case.

The result is one `robustness` score per case (on its first sample): the share of its K perturbations
under which the relation held, with the minimal breaking perturbation, the original and perturbed
prompt and output side by side, and what shrinking cost, in the score's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.robustness.engine import Edits, Outcome, Prober, Subject
from llmeval.robustness.shrink import ShrinkCost, order_key, shrink_all
from llmeval.scorers import Score, Threshold

NAME = "robustness"


@dataclass
class _Memo:
    """The oracle for shrinking: asks the prober one plan pass per round, remembers every outcome."""

    prober: Prober
    subjects: Sequence[Subject]
    seen: dict[tuple[int, Edits], Outcome]

    def __call__(self, batch: Sequence[tuple[int, Edits]]) -> list[bool | str]:
        outcomes = self.prober.check([(self.subjects[i], e) for i, e in batch])
        self.seen.update(zip(batch, outcomes, strict=True))
        return [o.held for o in outcomes]


def run_checks(prober: Prober, subjects: Sequence[Subject]) -> list[Score]:
    """One robustness score per subject: K perturbations in one plan pass, then batched shrink rounds."""
    probes = [(i, e) for i, s in enumerate(subjects) for e in s.draws()]
    memo = _Memo(prober, subjects, {})
    memo(probes)
    initial = [(p, memo.seen[p]) for p in probes]
    failing: dict[int, Edits] = {}
    for (i, edits), outcome in initial:
        if outcome.held is False and (i not in failing or order_key(edits) < order_key(failing[i])):
            failing[i] = edits
    to_shrink = {i: e for i, e in failing.items() if subjects[i].settings.shrink}
    rounds = max((subjects[i].settings.max_rounds for i in to_shrink), default=0)
    passes, requests = prober.passes, prober.requests
    minimal, cost = shrink_all(to_shrink, memo, rounds)
    cost_info = {"plan_passes": prober.passes - passes, "requests": prober.requests - requests, "candidates": cost.candidates}
    scores = []
    for i, subject in enumerate(subjects):
        mine = [o for (j, _), o in initial if j == i]
        best = memo.seen[(i, minimal.get(i, failing.get(i, ())))] if i in failing else None
        scores.append(_score(subject, mine, best, failing.get(i), cost if i in to_shrink else None, cost_info))
    return scores


def _score(
    subject: Subject,
    outcomes: list[Outcome],
    best: Outcome | None,
    first: Edits | None,
    cost: ShrinkCost | None,
    cost_info: dict[str, int],
) -> Score:
    s = subject.settings
    held = sum(o.held is True for o in outcomes)
    value = held / len(outcomes) if outcomes else float("nan")
    threshold = Threshold(min=s.min_pass_rate)
    meta: dict[str, Any] = {
        "relation": s.relation.describe(),
        "perturbations": len(outcomes),
        "held": held,
        "errors": sum(isinstance(o.held, str) for o in outcomes),
    }
    if not outcomes:
        return Score(NAME, value, threshold, True, "no perturbation applies to this prompt", s.signature(), meta)
    explanation = f"{held}/{len(outcomes)} perturbations kept: {s.relation.describe()}"
    if best is not None and first is not None:
        meta["minimal"] = _side_by_side(subject, best)
        if cost is not None:
            meta["shrink"] = {"from_edits": len(first), "to_edits": len(best.perturbed.edits), **cost_info}
        explanation += f"; minimal break: {best.perturbed.describe()}; the perturbed prompt {best.prompt!r} gave {best.output!r}"
    return Score(NAME, value, threshold, threshold.check(value), explanation, s.signature(), meta)


def _side_by_side(subject: Subject, best: Outcome) -> dict[str, Any]:
    return {
        "change": best.perturbed.describe(),
        "edits": [list(e.__dict__.values()) for e in best.perturbed.edits],
        "original_prompt": subject.original.prompt,
        "perturbed_prompt": best.prompt,
        "original_output": subject.original.output,
        "perturbed_output": best.output,
        "verdict": "error: " + best.held if isinstance(best.held, str) else "relation broken",
    }
