"""Build the frozen CaseRecords of a case from its generation and scores."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.backends import Generation
from llmeval.core.results import CaseOutcome
from llmeval.records import CaseRecord, Status
from llmeval.suite import Case, Suite


@dataclass(frozen=True)
class RecordContext:
    """What a record takes from its run: the model's label, paths relative to the run's root, the run's id."""

    label: Callable[[str], str]
    rel: Callable[[str], str]
    run_id: str


def build_case_records(
    run: RecordContext,
    suite: Suite,
    case: Case,
    spec: str,
    sample: int,
    prompt: str,
    gen: Generation,
    scores: Mapping[str, Mapping[str, Any]],
    error: str | None,
) -> CaseRecord:
    """One sample's record (``prompt``: the request's text); status is error when generation or a scorer failed."""
    status: Status = "error" if error else ("passed" if all(s["passed"] for s in scores.values()) else "failed")
    return CaseRecord(
        suite=suite.name,
        case=case.id,
        model=spec,
        sample=sample,
        prompt=prompt,
        output=gen.text,
        status=status,
        scores=dict(scores),
        error=error,
        reference=case.references[0] if case.references else None,
        references=tuple(case.references),
        context=tuple(case.context),
        model_label=run.label(spec),
        suite_path=run.rel(suite.path),  # rel() interns: one string per path, not one per record
        suite_version=suite.version,
        path=run.rel(case.path),
        line=case.line,
        latency_s=round(gen.latency_s, 6),
        tokens={"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
        token_source=str(gen.meta.get("token_source", "backend")),
        served_by=str(gen.meta.get("base_url", "")),
        tags=tuple(case.tags),
        vars=case.vars,  # shared with the case (frozen): a 100,000-case run holds one copy
        cached=gen.cached,
        run_id=run.run_id,
    )


def outcome_of(records: Sequence[CaseRecord], min_pass_rate: float) -> CaseOutcome:
    """A case's outcome over its samples: error if any sample errored, else passed at min_pass_rate."""
    errors = [r.error for r in records if r.status == "error"]
    ok = [r for r in records if r.status != "error"]
    rate = sum(r.passed for r in ok) / len(ok) if ok else 0.0
    status: Status = "error" if errors else ("passed" if rate >= min_pass_rate else "failed")
    return CaseOutcome(tuple(records), status, rate, errors[0] if errors else None)
