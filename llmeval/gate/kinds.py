"""Gate kinds beyond a statistic of a metric: each is a row here, decided by a function named lazily.

A kind's key in a suite's gate entry holds its condition (``{metric: decision, consistency: ">= 0.9"}``); `keys` are
the further keys it reads from the entry (parsed into ``GateSpec``). Adding a kind: a module with its
``decide(spec, rows, scale) -> Decision`` and one row below (CONTRIBUTING.md, "Adding a gate kind").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmeval.gate.spec import GateSpec
    from llmeval.gate.statgate import Decision
    from llmeval.scorers.base import Scale


@dataclass(frozen=True)
class GateKind:
    decide: str  # "module:function", function(spec, rows, scale) -> Decision
    keys: frozenset[str]  # the entry's further keys this kind reads
    summary: str
    default_ci: float | None = None  # the confidence level when the entry gives no `ci` (None: no interval)


KINDS: dict[str, GateKind] = {
    "consistency": GateKind(
        "llmeval.gate.consistency:decide",
        frozenset({"tolerance", "sets", "max_unparsed_rate"}),
        "share of counterfactual sets whose outcome does not flip (llmeval.gate.consistency)",
    ),
    "preference": GateKind(
        "llmeval.gate.preference:decide",
        frozenset({"max_unparsed_rate"}),
        "share of pairwise judgements preferring the model under test (llmeval.gate.preference)",
    ),
    "worst_group": GateKind(
        "llmeval.gate.worst_group:decide",
        frozenset({"by"}),
        "pass rate of the worst-served group of `by` (llmeval.gate.worst_group)",
        default_ci=0.95,
    ),
}


def decider(kind: str) -> Callable[[GateSpec, Sequence[Any], Scale], Decision]:
    module, _, name = KINDS[kind].decide.partition(":")
    function: Callable[[GateSpec, Sequence[Any], Scale], Decision] = getattr(import_module(module), name)
    return function
