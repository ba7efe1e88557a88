"""What the core takes and gives: the selected targets in, frozen case outcomes and gate records out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmeval.records import CaseRecord, GateRecord, Status
from llmeval.suite import Case, Suite

CaseKey = tuple[str, str, str]  # (suite path, case id, model spec)
GateKey = tuple[str, str, str]  # (suite path, gate name, model spec)
TargetKey = tuple[str, str]  # (suite path, model spec)


@dataclass(frozen=True)
class Target:
    """The selected cases of one suite on one model."""

    suite: Suite
    spec: str
    cases: tuple[Case, ...]

    @property
    def key(self) -> TargetKey:
        return (self.suite.path, self.spec)


@dataclass(frozen=True)
class CaseOutcome:
    """One case on one model over its samples: the records and the case's status."""

    records: tuple[CaseRecord, ...]
    status: Status
    pass_rate: float
    error: str | None = None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.records]


@dataclass
class RunResult:
    """What a run (or, under xdist, one suite file of it) produced.

    ``diffs``: each target's comparison with the baseline (its suite's regression rules applied), without the gate
    changes; ``conclude()`` merges them, in one order, into the run's comparison.
    """

    cases: dict[CaseKey, CaseOutcome] = field(default_factory=dict)
    gates: dict[GateKey, GateRecord] = field(default_factory=dict)
    diffs: dict[TargetKey, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # model spec -> its identity (for the manifest)
    failures: dict[str, str] = field(default_factory=dict)  # suite path -> why it could not be evaluated

    def case_records(self) -> list[CaseRecord]:
        return [r for outcome in self.cases.values() for r in outcome.records]

    def case_status(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Each case ("suite::case [model label]") -> its status over its samples, for the verdict."""
        out: dict[str, str] = {}
        for (_, case, spec), outcome in self.cases.items():
            suite = outcome.records[0].suite if outcome.records else ""
            out[f"{suite}::{case} [{labels.get(spec, spec)}]"] = outcome.status
        return out

    def merge(self, other: RunResult) -> None:
        self.cases.update(other.cases)
        self.gates.update(other.gates)
        self.diffs.update(other.diffs)
        self.models.update(other.models)
        self.failures.update(other.failures)
