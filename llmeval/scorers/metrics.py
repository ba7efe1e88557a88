"""Reference-based metrics: BLEU, chrF, TER (sacrebleu) and ROUGE (rouge-score), with signatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmeval.scorers.base import Sample, Score, Threshold

MAX_SCORED_CHARS = 20_000  # reference metrics score this many characters of the output and of each reference


def _capped(sample: Sample) -> tuple[str, list[str], dict[str, Any]]:
    """Output and references cut to MAX_SCORED_CHARS (BLEU, ROUGE and TER grow with length, TER worse than
    linearly); the metadata says what was cut, and is empty when nothing was."""
    texts = [sample.output, *sample.references]
    if max(map(len, texts)) <= MAX_SCORED_CHARS:
        return sample.output, list(sample.references), {}
    cut = {
        "scored_chars": MAX_SCORED_CHARS,
        "output_chars": len(sample.output),
        "reference_chars": [len(r) for r in sample.references],
    }
    return sample.output[:MAX_SCORED_CHARS], [r[:MAX_SCORED_CHARS] for r in sample.references], cut


def _cut_note(cut: dict[str, Any]) -> str:
    return f" [scored the first {MAX_SCORED_CHARS:,} characters of each text]" if cut else ""


def _no_reference(name: str, threshold: Threshold) -> Score:
    return Score(name, float("nan"), threshold, False, "no reference to compare with: set 'reference' on the case")


@lru_cache(maxsize=8)
def _sacrebleu_metric(kind: str) -> Any:
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF
    from sacrebleu.metrics.ter import TER

    if kind == "bleu":
        return BLEU(effective_order=True)
    return CHRF() if kind == "chrf" else TER()


@lru_cache(maxsize=64)
def _sacrebleu_signature(kind: str, references: int) -> str:
    """The metric's signature after a sentence scored against `references` references (it names their count):
    built once per count, as it costs about a tenth of a sentence's score."""
    return str(_sacrebleu_metric(kind).get_signature())


@dataclass(frozen=True)
class SacrebleuScorer:
    name: str
    threshold: Threshold

    def prepare(self, ctx: object) -> None:
        """Import sacrebleu and build the metric before the run times scoring."""
        _sacrebleu_metric(self.name)

    def __call__(self, sample: Sample) -> Score:
        if not sample.references:
            return _no_reference(self.name, self.threshold)
        metric = _sacrebleu_metric(self.name)
        output, references, cut = _capped(sample)
        result = metric.sentence_score(output.strip(), references)
        value = float(result.score)
        why = f"{self.name} {value:.1f} (want {self.threshold.describe()}) over {len(references)} reference(s)"
        signature = _sacrebleu_signature(self.name, len(references))
        return Score(self.name, value, self.threshold, self.threshold.check(value), why + _cut_note(cut), signature, cut)


def bleu(min: float | None = None, max: float | None = None) -> SacrebleuScorer:
    """Sentence BLEU (sacrebleu, 0-100, effective order) against the references."""
    return SacrebleuScorer("bleu", Threshold(min, max))


def chrf(min: float | None = None, max: float | None = None) -> SacrebleuScorer:
    """Sentence chrF (sacrebleu, 0-100) against the references."""
    return SacrebleuScorer("chrf", Threshold(min, max))


def ter(min: float | None = None, max: float | None = None) -> SacrebleuScorer:
    """Translation edit rate (sacrebleu, lower is better): use max."""
    return SacrebleuScorer("ter", Threshold(min, max))


@lru_cache(maxsize=8)
def _rouge(kind: str, stemmer: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([kind], use_stemmer=stemmer)


@dataclass(frozen=True)
class RougeScorer:
    name: str
    threshold: Threshold
    stemmer: bool = True
    signature: str = field(default="")

    def prepare(self, ctx: object) -> None:
        """Build rouge-score's scorer (it imports nltk's stemmer: seconds) before the run times scoring."""
        _rouge(self.name, self.stemmer)

    def __call__(self, sample: Sample) -> Score:
        if not sample.references:
            return _no_reference(self.name, self.threshold)
        scorer = _rouge(self.name, self.stemmer)
        target, references, cut = _capped(sample)
        if self.name == "rougeLsum":
            target = target.replace(". ", ".\n")
        best = scorer.score_multi(references, target)[self.name]
        value = float(best.fmeasure)
        why = f"{self.name} F1 {value:.3f} (P {best.precision:.2f}, R {best.recall:.2f}; want {self.threshold.describe()})"
        return Score(self.name, value, self.threshold, self.threshold.check(value), why + _cut_note(cut), self.signature, cut)


def _rouge_factory(kind: str) -> Any:
    def factory(min: float | None = None, max: float | None = None, stemmer: bool = True) -> RougeScorer:
        from importlib.metadata import version

        sig = f"rouge-score:{version('rouge-score')}|{kind}|stemmer:{stemmer}|fmeasure|max-over-refs"
        return RougeScorer(kind, Threshold(min, max), stemmer, sig)

    factory.__doc__ = f"{kind} F1 (rouge-score, 0-1), best over the references."
    return factory


rouge1, rouge2, rougeL, rougeLsum = (_rouge_factory(kind) for kind in ("rouge1", "rouge2", "rougeL", "rougeLsum"))
