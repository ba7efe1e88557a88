"""The one data model of a run: CaseRecord, GateRecord, Verdict, Manifest and their JSON form.

Every writer and reader (results file, baseline, replay, compare, HTML, JUnit, the pandas loader)
goes through ``to_json`` / ``from_json`` here. Records are frozen: a front end reads them, never
changes them. The JSON form is the results-file contract of DESIGN.md section 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from llmeval.errors import LlmevalError

Status = Literal["passed", "failed", "error"]
GateStatus = Literal["passed", "failed", "error", "skipped"]
FORMAT = "llmeval-results/2"


class _Row:
    """The JSON forms shared by case and gate records: ``to_json`` (a deep, plain copy) and ``row`` (shallow)."""

    KIND: ClassVar[str]
    status: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        return {"kind": self.KIND, **data, "passed": self.passed}

    def row(self) -> dict[str, Any]:
        """The JSON form without copying nested values (tuples stay tuples): for reading and writing, not mutating."""
        return {"kind": self.KIND, **{f.name: getattr(self, f.name) for f in fields(self)}, "passed": self.passed}  # type: ignore[arg-type]


@dataclass(frozen=True)
class CaseRecord(_Row):
    """One sample of one case on one model: what was asked, what came back, how it scored."""

    suite: str
    case: str
    model: str
    sample: int
    prompt: str
    output: str
    status: Status
    scores: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    error: str | None = None
    reference: str | None = None
    references: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    model_label: str = ""
    suite_path: str = ""
    suite_version: str | None = None
    path: str = ""
    line: int = 0
    latency_s: float = 0.0
    tokens: Mapping[str, int] = field(default_factory=dict)
    token_source: str = ""
    served_by: str = ""  # the base URL that answered (openai: fleets); "" for other backends and cached outputs
    tags: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    cached: bool = False
    run_id: str = ""
    KIND: ClassVar[str] = "case"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseRecord:
        values = _known(cls, data)
        if "status" not in data:  # results files written before the status field
            values["status"] = "error" if data.get("error") else ("passed" if data.get("passed") else "failed")
        for name in ("references", "context", "tags"):
            values[name] = tuple(values.get(name) or ())
        values.setdefault("prompt", "")
        values.setdefault("output", "")
        values.setdefault("sample", 0)
        return cls(**values)


@dataclass(frozen=True)
class GroupStat:
    """One group of a fairness or preference gate: its outcome, evidence and interval."""

    value: float | None
    n: int = 0
    units: int = 0  # independent units behind the group's value (base cases, sets or cases)
    interval: tuple[float, float] | None = None
    unparsed: int = 0
    tpr: float | None = None
    fpr: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroupStat:
        values = _known(cls, data)
        values["interval"] = _pair(values.get("interval"))
        values.setdefault("value", None)
        return cls(**values)


@dataclass(frozen=True)
class FlipMember:
    """One member of a flipped counterfactual set: its groups, outcome and (trimmed) output."""

    case: str
    groups: Mapping[str, str]
    outcome: Any
    value: float | None = None
    output: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlipMember:
        return cls(**{"groups": {}, "outcome": None, **_known(cls, data)})


@dataclass(frozen=True)
class Flip:
    """A counterfactual set whose outcome differs across groups."""

    set: str
    members: tuple[FlipMember, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Flip:
        return cls(str(data.get("set", "")), tuple(FlipMember.from_json(m) for m in data.get("members") or ()))


@dataclass(frozen=True)
class WorstCase:
    """A case that pulls the gate's statistic the wrong way, with its value."""

    case: str
    value: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorstCase:
        return cls(str(data.get("case", "")), float(data.get("value") or 0.0))


@dataclass(frozen=True)
class MetricDiff:
    """One metric of one suite x model against the baseline: paired delta, drop, test and rule."""

    metric: str
    n: int
    delta: float
    drop: float
    p_worse: float
    regressed: bool
    message: str
    interval: tuple[float, float] | None = None
    lower_is_better: bool = False
    rule: Mapping[str, Any] | None = None
    baseline_mean: float | None = None
    current_mean: float | None = None
    p_better: float | None = None
    flips: Mapping[str, Any] = field(default_factory=dict)
    suite: str = ""
    model: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricDiff:
        values = _known(cls, data)
        values["interval"] = _pair(values.get("interval"))
        for name, default in (("metric", ""), ("n", 0), ("delta", 0.0), ("drop", 0.0), ("p_worse", 1.0)):
            values.setdefault(name, default)
        values.setdefault("regressed", False)
        values.setdefault("message", "")
        return cls(**values)


@dataclass(frozen=True)
class BaselineCheck:
    """A gate's part of the run's baseline comparison."""

    path: str | None
    metrics: tuple[MetricDiff, ...] = ()
    mismatches: tuple[str, ...] = ()
    new_cases: tuple[str, ...] = ()
    missing_cases: tuple[str, ...] = ()
    regressed: bool = False
    message: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineCheck:
        values = _known(cls, data)
        values.setdefault("path", None)
        values["metrics"] = tuple(MetricDiff.from_json(m) for m in values.get("metrics") or ())
        for name in ("mismatches", "new_cases", "missing_cases"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


@dataclass(frozen=True)
class GateRecord(_Row):
    """One gate of one suite on one model: the statistic, its interval and bound, the evidence and the outcome.

    ``units`` is the effective sample size (independent units: base cases of counterfactual sets or name
    lists, cases across repeats); ``n`` counts the outputs. ``reachable`` is the best bound a perfect model
    could reach with these units, ``reason`` the one line the verdict prints for a gate that did not pass.
    """

    suite: str
    gate: str
    model: str
    metric: str
    stat: str
    status: GateStatus
    message: str = ""
    reason: str = ""
    value: float | None = None
    interval: tuple[float, float] | None = None
    ci: float | None = None
    bound: float | None = None
    threshold: str = ""
    method: str = ""
    require: str = "within"
    scale: str = ""
    n: int = 0
    units: int = 0
    cases: int = 0
    reachable: float | None = None
    errors: int = 0
    error_rate: float = 0.0
    max_error_rate: float = 0.0
    worst: tuple[WorstCase, ...] = ()
    baseline: BaselineCheck | None = None
    groups: Mapping[str, GroupStat] | None = None
    flips: tuple[Flip, ...] = ()  # counterfactual sets whose outcome differs across groups (all of them)
    flipped: int = 0
    model_label: str = ""
    suite_path: str = ""
    line: int = 0
    run_id: str = ""
    KIND: ClassVar[str] = "gate"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateRecord:
        values = _known(cls, data)
        if "status" not in data:
            values["status"] = "passed" if data.get("passed") else "failed"
        values["interval"] = _pair(values.get("interval"))
        values["worst"] = tuple(WorstCase.from_json(w) for w in values.get("worst") or ())
        values["flips"] = tuple(Flip.from_json(f) for f in values.get("flips") or ())
        values.setdefault("flipped", len(values["flips"]))
        groups = values.get("groups")
        values["groups"] = {str(k): GroupStat.from_json(v) for k, v in groups.items()} if groups else None
        baseline = values.get("baseline")
        values["baseline"] = BaselineCheck.from_json(baseline) if baseline else None
        for name in ("suite", "gate", "model", "metric", "stat"):
            values.setdefault(name, "")
        return cls(**values)

    @property
    def label(self) -> str:
        return self.model_label or self.model

    def row(self) -> dict[str, Any]:
        """The JSON form (nested records as plain values): gate records are few, so the deep copy costs nothing."""
        return self.to_json()


@dataclass(frozen=True)
class Verdict:
    """The release verdict: PASS only when every gate was evaluated and passed and nothing regressed."""

    status: Literal["PASS", "FAIL"]
    gates: tuple[GateRecord, ...]
    failed: int
    skipped: int
    total: int
    errors: int
    regressions: tuple[MetricDiff, ...] = ()
    mismatches: tuple[str, ...] = ()
    run_id: str = ""
    cases: int = 0  # case x model results counted (each over its samples)
    cases_failed: int = 0
    cases_errored: int = 0
    reasons: tuple[str, ...] = ()  # why the verdict is FAIL, one line each

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    def to_json(self) -> dict[str, Any]:
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        return {"kind": "verdict", **data, "passed": self.passed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        values = _known(cls, data)
        values["gates"] = tuple(GateRecord.from_json(g) for g in values.get("gates") or ())
        values["regressions"] = tuple(MetricDiff.from_json(r) for r in values.get("regressions") or ())
        for name in ("mismatches", "reasons"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


@dataclass(frozen=True)
class Manifest:
    """What a run was: suite files (hashes, generation settings, seeds), model identities, settings, versions, environment."""

    run_id: str
    suites: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    packages: Mapping[str, str] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)  # python, platform, cpus, gpus, git commit
    backends: Mapping[str, str] = field(default_factory=dict)  # model spec -> backend (hf, openai, python, vllm...)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "manifest", "format": FORMAT, **{f.name: _plain(getattr(self, f.name)) for f in fields(self)}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        return cls(**_known(cls, data))


Record = CaseRecord | GateRecord | Verdict | Manifest
_KINDS: dict[str, Any] = {"case": CaseRecord, "gate": GateRecord, "verdict": Verdict, "manifest": Manifest}


@dataclass(frozen=True)
class Results:
    """A results file read back: its case and gate records, and the verdict and manifest when present."""

    cases: tuple[CaseRecord, ...]
    gates: tuple[GateRecord, ...] = ()
    verdict: Verdict | None = None
    manifest: Manifest | None = None

    def rows(self) -> list[dict[str, Any]]:
        """The JSON form of the case and gate records, for the row-based reports."""
        return [*(r.to_json() for r in self.cases), *(g.to_json() for g in self.gates)]


def from_json(data: Mapping[str, Any]) -> Record:
    """The record for one JSON object of a results file (rows without ``kind`` are case rows)."""
    kind = data.get("kind", "case")
    if kind not in _KINDS:
        raise LlmevalError(f"unknown record kind {kind!r}; expected one of {', '.join(_KINDS)}")
    record: Record = _KINDS[kind].from_json(data)
    return record


def read_results(path: str | Path) -> Results:
    """Read a results file into records; a bad line raises an error naming file:line."""
    from llmeval.reporting.results import read_rows

    cases: list[CaseRecord] = []
    gates: list[GateRecord] = []
    verdict: Verdict | None = None
    manifest: Manifest | None = None
    for number, row in enumerate(read_rows(path), start=1):
        try:
            record = from_json(row)
        except (TypeError, ValueError, LlmevalError) as exc:
            raise LlmevalError(f"{path}: record {number} is not an llmeval record: {exc}") from None
        if isinstance(record, CaseRecord):
            cases.append(record)
        elif isinstance(record, GateRecord):
            gates.append(record)
        elif isinstance(record, Verdict):
            verdict = record
        else:
            manifest = record
    return Results(tuple(cases), tuple(gates), verdict, manifest)


def _known(cls: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _pair(value: Any) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def _plain(value: Any) -> Any:
    """JSON-ready copies of tuples, mappings and nested records (the frozen fields)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
