"""PII detection for llmeval: presidio with offline model resolution, tuned structured recognizers, masking.

Importing this package is cheap; presidio and spaCy load on the first `analyze()` and are reused per process.
"""

from __future__ import annotations

from llmeval.pii.engine import (
    DEFAULT_ENTITIES,
    NER_ENTITIES,
    PATTERN_ONLY,
    STRUCTURED_ENTITIES,
    Entity,
    PiiModelWarning,
    analyze,
    get_engine,
    redact,
    redact_all,
    reset_engines,
    resolve_spacy_model,
)
from llmeval.pii.mentions import mask, normalise

__all__ = [
    "DEFAULT_ENTITIES",
    "NER_ENTITIES",
    "PATTERN_ONLY",
    "STRUCTURED_ENTITIES",
    "Entity",
    "PiiModelWarning",
    "analyze",
    "get_engine",
    "mask",
    "normalise",
    "redact",
    "redact_all",
    "reset_engines",
    "resolve_spacy_model",
]
