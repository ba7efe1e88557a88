"""`hallucination`: the share of the output's claims its source does not support (grounding, nli or judge).

The source is the case's `context` (else its reference) or a named var (`source: document`). The output
is split into claims (sentences, and clauses that state a fact of their own); each claim gets a score in
0..1 (1 = unsupported) from the chosen method, and is unsupported above `claim_threshold`. The value is
the share of unsupported claims; metadata holds the highest claim score; the explanation names each
unsupported claim with the closest source sentence. Outputs and sources longer than `MAX_WORDS` words are
cut there (cost stays bounded: a 10 MB output is scored on its first `MAX_WORDS` words) and the score says so.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llmeval.hallucination import claims as T
from llmeval.hallucination.grounding import CLAIM_THRESHOLD, ClaimCheck
from llmeval.scorers.base import Sample, Score, Threshold
from llmeval.scorers.context import ScoringContext, shared_context
from llmeval.scorers.similarity import default_model_path

Method = Literal["grounding", "nli", "judge"]
METHODS: tuple[str, ...] = get_args(Method)
VOTE_THRESHOLD = 0.5  # nli and judge: a claim is unsupported when its entailment (or its share of votes) is below half
MAX_WORDS = 10_000  # of the output and of the source; beyond, the text is cut and the score reports `truncated`
CLAIM_PROMPT = """You check a text's claims against a source. For each numbered claim, decide whether the source supports it.
Source:
{source}

Claims:
{claims}

Answer with JSON only: {{"verdicts": [{{"claim": 1, "supported": true, "reason": "..."}}, ...]}}"""


def source_of(sample: Sample, source: str) -> str:
    """The text the output must be grounded in; ValueError when the case has none."""
    if source == "auto":
        found = "\n".join(sample.context) or "\n".join(sample.references)
    elif source == "context":
        found = "\n".join(sample.context)
    elif source == "reference":
        found = "\n".join(sample.references)
    else:
        value = sample.vars.get(source, "")
        found = "\n".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    if not found.strip():
        raise ValueError(
            f"no source text to check the output against (source: {source}); give the case a context, "
            "a reference, or name a var with `source: <var>`"
        )
    return found


@dataclass(frozen=True)
class HallucinationScorer:
    name: str
    threshold: Threshold
    method: str
    source: str
    model: str | None
    claim_threshold: float
    votes: int
    retries: int
    chunk_words: int
    constrain: bool = True  # judge method: hold the judge to the verdict format where its backend can

    @property
    def batch_key(self) -> Hashable:
        return (
            "hallucination",
            self.threshold,
            self.method,
            self.source,
            self.model,
            self.claim_threshold,
            self.votes,
            self.retries,
            self.chunk_words,
            self.constrain,
        )

    @property
    def signature(self) -> str:
        return f"hallucination|{self.method}|{self.model or 'all-MiniLM-L6-v2'}|claim>{self.claim_threshold:g}"

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        cut = [(truncate(s.output), truncate(source_of(s, self.source))) for s in samples]
        pairs = [(T.claims(output), source) for (output, _), (source, _) in cut]
        notes = [[name for name, (_, was_cut) in zip(("output", "source"), pair, strict=True) if was_cut] for pair in cut]
        return [self._score(checks, note) for checks, note in zip(self._check(pairs, ctx), notes, strict=True)]

    def prepare(self, ctx: ScoringContext) -> None:
        """Load the encoder (grounding) or the classifier (nli) before the run times scoring."""
        if self.method == "grounding":
            ctx.pool.token_embed(self.model or default_model_path(), ["warm-up"])
        elif self.method == "nli" and self.model:
            ctx.pool.labels(self.model)

    def __call__(self, sample: Sample) -> Score:
        return self.score([sample], shared_context())[0]

    def _check(self, pairs: list[tuple[list[str], str]], ctx: ScoringContext) -> list[list[ClaimCheck]]:
        if self.method == "grounding":
            from llmeval.hallucination import grounding

            return grounding.check(pairs, ctx.pool, self.model or default_model_path())
        assert self.model is not None
        if self.method == "nli":
            from llmeval.hallucination import nli

            return nli.check(pairs, ctx.pool, self.model, self.chunk_words)
        return self._judge(pairs, ctx)

    def _judge(self, pairs: list[tuple[list[str], str]], ctx: ScoringContext) -> list[list[ClaimCheck]]:
        """One prompt per output listing its claims; a claim's score is the share of votes calling it unsupported."""
        from llmeval.judge.ask import Question, ask
        from llmeval.judge.parse import verdicts, verdicts_format

        assert self.model is not None
        questions = [
            Question(
                CLAIM_PROMPT.format(source=src, claims="\n".join(f"{i}. {c}" for i, c in enumerate(cl, 1))),
                verdicts_format(len(cl)) if self.constrain else None,
                verdict_budget(len(cl)),
            )
            for cl, src in pairs
        ]
        sizes = [len(claims) for claims, _ in pairs]
        parse = lambda p, text: verdicts(text, sizes[p])
        answers = ask(ctx, self.model, questions, parse, votes=self.votes, retries=self.retries)
        out = []
        for (claims, _), answer in zip(pairs, answers, strict=True):
            votes = answer.get()
            out.append([_vote(c, [v[i] for v in votes]) for i, c in enumerate(claims)])
        return out

    def _score(self, checks: list[ClaimCheck], truncated: list[str]) -> Score:
        bad = [c for c in checks if c.score > self.claim_threshold]
        value = len(bad) / len(checks) if checks else 0.0
        worst = max((c.score for c in checks), default=0.0)
        lines = [f"{len(bad)} of {len(checks)} claim(s) unsupported (claim score > {self.claim_threshold:g})"]
        if truncated:
            lines[0] += f"; {' and '.join(truncated)} truncated to the first {MAX_WORDS} words"
        lines += [f"- {c.claim[:300]!r} (score {c.score:.2f}{_missing(c)}); closest source: {c.nearest[:300]!r}" for c in bad]
        meta: dict[str, Any] = {
            "max_claim_score": worst,
            "mean_claim_score": mean_claim_score(checks),
            "claims": len(checks),
            "unsupported": [c.claim for c in bad],
            "truncated": truncated,
        }
        return Score(self.name, value, self.threshold, self.threshold.check(value), "\n".join(lines), self.signature, meta)


def truncate(text: str, max_words: int = MAX_WORDS) -> tuple[str, bool]:
    """The text's first `max_words` words (whitespace kept inside, 20 characters a word at most), and whether it was cut."""
    head = text[: 20 * max_words]
    words = head.split(maxsplit=max_words)
    if len(words) <= max_words:
        return head, len(head) < len(text)
    end = len(head) - len(words[max_words])  # the remainder after the limit is a suffix of the text
    return head[:end].rstrip(), True


def mean_claim_score(checks: Sequence[ClaimCheck]) -> float:
    """The output's hallucination risk: claim scores averaged, weighted by claim length (0 without claims)."""
    weights = [len(c.claim.split()) or 1 for c in checks]
    return sum(w * c.score for w, c in zip(weights, checks, strict=True)) / sum(weights) if checks else 0.0


def verdict_budget(claims: int) -> int:
    """Tokens for a verdict list: room for every claim's short reason (one budget per claim count, as the format)."""
    return 128 + 96 * claims


def _missing(check: ClaimCheck) -> str:
    return f"; not in source: {', '.join(check.missing[:6])}" if check.missing else ""


def _vote(claim: str, votes: list[tuple[bool, str]]) -> ClaimCheck:
    against = [reason for supported, reason in votes if not supported]
    return ClaimCheck(claim, len(against) / len(votes), "; ".join(r for r in against if r)[:300] or "(judge)")


def hallucination(
    method: Method = "grounding",
    source: str = "auto",
    model: str | None = None,
    max: float | None = 0.0,
    min: float | None = None,
    claim_threshold: float | None = None,
    votes: int = 1,
    retries: int = 2,
    chunk_words: int = 300,
    constrain: bool = True,
) -> HallucinationScorer:
    """Share of the output's claims not supported by its source (context, reference or a var); 0 = grounded."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method in ("nli", "judge") and not model:
        raise ValueError(f"method '{method}' needs `model:` (an NLI model path or hub id, or a judge model spec)")
    if votes < 1 or retries < 0 or chunk_words < 8:
        raise ValueError("votes must be >= 1, retries >= 0 and chunk_words >= 8")
    cut = (CLAIM_THRESHOLD if method == "grounding" else VOTE_THRESHOLD) if claim_threshold is None else claim_threshold
    return HallucinationScorer(
        "hallucination", Threshold(min, max), method, source, model, cut, votes, retries, chunk_words, bool(constrain)
    )
