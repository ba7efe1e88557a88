"""Robustness checks through the run's generation plan: K perturbed prompts per case, then batched shrinking.

`Prober.check` is the oracle: every (subject, edits) it is given becomes one request in the plan and the
whole list is resolved in one plan pass (cached, batched per backend); the relation then scores the
batch. The K perturbations of every case of a run go in one pass, and each shrink round in one more.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmeval.backends.base import Backend, GenerationConfig, Request
from llmeval.backends.limits import Limits
from llmeval.engine.plan import GenerationPlan
from llmeval.robustness.perturb import KINDS, Edit, Perturbed, apply, draw_edits
from llmeval.robustness.relations import Pair, Relation, Verdict
from llmeval.scorers import Sample, ScoringContext
from llmeval.suite import Case

Edits = tuple[Edit, ...]


@dataclass(frozen=True)
class ProbeSettings:
    """A suite's `robustness:` block, parsed."""

    k: int = 8
    seed: int = 0
    var: str | None = None
    kinds: tuple[str, ...] = KINDS
    max_edits: int = 3
    min_edits: int = 1
    relation: Relation = field(default_factory=Relation)
    min_pass_rate: float = 1.0
    shrink: bool = True
    max_rounds: int = 10
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> ProbeSettings:
        g = spec.get
        return cls(
            int(g("k", 8)),
            int(g("seed", 0)),
            g("var"),
            tuple(g("kinds") or KINDS),
            int(g("max_edits", 3)),
            int(g("min_edits", 1)),
            Relation.parse(spec),
            float(g("min_pass_rate", 1.0)),
            bool(g("shrink", True)),
            int(g("max_rounds", 10)),
            tuple(g("tags") or ()),
        )

    def selects(self, case: Case) -> bool:
        return not self.tags or bool(set(self.tags) & set(case.tags))

    def signature(self) -> str:
        edits = f"edits={self.min_edits}..{self.max_edits}"
        return f"robustness|k={self.k}|seed={self.seed}|{edits}|kinds={','.join(self.kinds)}|{self.relation.kind}"


@dataclass(frozen=True)
class Subject:
    """One case on one model whose robustness is checked, with its original (passing) output."""

    case: Case
    backend: Backend
    config: GenerationConfig
    limits: Limits
    key_extra: str
    settings: ProbeSettings
    original: Sample

    def text(self) -> str:
        """The text that is perturbed: the chosen var's value, else the prompt (or the last user message)."""
        if self.settings.var is not None:
            return str(self.case.vars.get(self.settings.var, ""))
        if self.case.prompt is not None:
            return self.case.prompt
        return next((c for r, c in reversed(self.case.messages or ()) if r == "user"), "")

    def request(self, edits: Edits) -> tuple[Request, Perturbed]:
        """The case's request with the perturbation applied (to the var's value wherever the prompt holds it)."""
        original = self.text()
        p = apply(original, edits)
        case, new_vars = self.case, dict(self.case.vars)
        if self.settings.var is not None:
            new_vars[self.settings.var] = p.text
        prompt = case.prompt.replace(original, p.text, 1) if case.prompt is not None else None
        messages = _replace_last(case.messages, original, p.text) if case.messages is not None else None
        vars_json = json.dumps(new_vars, sort_keys=True, default=str)
        return Request(prompt, messages, self.config, 0, vars_json), p

    def draws(self) -> list[Edits]:
        """The K seeded perturbations of this case (distinct; a case's draws depend only on seed and case id)."""
        found: dict[Edits, None] = {}
        for i in range(self.settings.k * 3):
            rng = random.Random(f"llmeval:robustness:{self.settings.seed}:{self.case.id}:{i}")
            edits = draw_edits(rng, self.text(), self.settings.kinds, self.settings.max_edits, self.settings.min_edits)
            if edits and apply(self.text(), edits).text != self.text():
                found.setdefault(edits)
            if len(found) == self.settings.k:
                break
        return list(found)


def _replace_last(messages: tuple[tuple[str, str], ...], old: str, new: str) -> tuple[tuple[str, str], ...]:
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i][0] == "user" and old in out[i][1]:
            out[i] = (out[i][0], out[i][1].replace(old, new, 1))
            break
    return tuple(out)


@dataclass(frozen=True)
class Outcome:
    """One perturbed request's result: the perturbation, the prompt and output, and whether the relation held."""

    perturbed: Perturbed
    prompt: str
    output: str
    held: Verdict


@dataclass
class Prober:
    """The oracle over the run's plan: counts plan passes and requests (shrinking's cost is reported)."""

    plan: GenerationPlan
    ctx: ScoringContext
    passes: int = 0
    requests: int = 0

    def check(self, probes: Sequence[tuple[Subject, Edits]]) -> list[Outcome]:
        built = [s.request(e) for s, e in probes]
        keys = [
            self.plan.add(s.backend, r, s.limits, key_extra=s.key_extra) for (s, _), (r, _) in zip(probes, built, strict=True)
        ]
        unique = list(dict.fromkeys(keys))
        self.plan.run(unique)
        self.passes += 1
        self.requests += len(unique)
        gens = [self.plan.get(k) for k in keys]
        pairs = [
            Pair(s.original, s.case.sample_for(g.text, r.text()), s.case.scorers)
            for (s, _), (r, _), g in zip(probes, built, gens, strict=True)
        ]
        verdicts: list[Verdict] = [g.error or True for g in gens]
        by_relation: dict[Relation, list[int]] = {}
        for i, (s, _) in enumerate(probes):
            if gens[i].error is None:
                by_relation.setdefault(s.settings.relation, []).append(i)
        for relation, indices in by_relation.items():
            for i, v in zip(indices, relation.holds([pairs[i] for i in indices], self.ctx), strict=True):
                verdicts[i] = v
        self.plan.forget(unique)
        return [Outcome(p, r.text(), g.text, v) for (r, p), g, v in zip(built, gens, verdicts, strict=True)]
