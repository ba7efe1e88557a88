"""Round-based shrinking of failing perturbations, batched: one oracle call (one plan pass) per round.

Every round takes, for each perturbation still being shrunk, all its candidates (the perturbation
with one edit removed, and each of its edits alone) and asks the oracle about all of them at once; each perturbation moves to its
simplest candidate that still breaks the relation, in hypothesis's shrink order (fewer edits first,
then earlier kinds, lower positions). A round that removes nothing ends that perturbation's shrink,
so the number of rounds is at most (edits - 1) and never one model call per example.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from llmeval.robustness.perturb import Edit

K = TypeVar("K", bound=Hashable)
Edits = tuple[Edit, ...]
Oracle = Callable[[Sequence[tuple[K, Edits]]], Sequence[bool | str]]
"""Whether the relation still *holds* for each (subject, edits); a str is an error (not a failure)."""


@dataclass
class ShrinkCost:
    """What shrinking cost: oracle rounds (plan passes) and candidate perturbations asked about."""

    rounds: int = 0
    candidates: int = 0


def order_key(edits: Edits) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """Hypothesis's order for lists: shorter is simpler, then element-wise simpler."""
    return (len(edits), tuple(e.rank() for e in edits))


def candidates(edits: Edits) -> list[Edits]:
    """The perturbation with each one of its edits removed, and each edit on its own (none for a single edit).

    The single edits matter when edits cancel out (a word's case toggled three times): dropping any one
    of them restores the word, yet one toggle alone still breaks the relation.
    """
    if len(edits) <= 1:
        return []
    dropped = [edits[:i] + edits[i + 1 :] for i in range(len(edits))]
    return list(dict.fromkeys([*dropped, *((e,) for e in edits)]))


def shrink_all(failing: dict[K, Edits], oracle: Oracle[K], max_rounds: int = 10) -> tuple[dict[K, Edits], ShrinkCost]:
    """Shrink every failing perturbation at once; the minimal ones (no edit can be dropped) and the cost."""
    current = dict(failing)
    active = [k for k in current if candidates(current[k])]
    cost = ShrinkCost()
    while active and cost.rounds < max_rounds:
        batch = [(k, c) for k in active for c in candidates(current[k])]
        verdicts = oracle(batch)
        cost.rounds += 1
        cost.candidates += len(batch)
        broken: dict[K, list[Edits]] = {}
        for (k, cand), held in zip(batch, verdicts, strict=True):
            if held is False:
                broken.setdefault(k, []).append(cand)
        for k in broken:
            current[k] = min(broken[k], key=order_key)
        active = [k for k in active if k in broken and candidates(current[k])]
    return current, cost
