"""The Backend contract (a base class with defaults): a batch of requests in, generations (text, tokens, latency) out."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from llmeval.backends.limits import Limits


@dataclass(frozen=True)
class OutputFormat:
    """What the output must look like: a JSON schema (`value` is its canonical JSON) or a regex (`value` is the pattern).

    Backends that can constrain decoding honour it (hf: guided decoding, openai: response_format, python:
    callables that take `output_format`); the others ignore it, and the caller's parser still checks the text.
    """

    kind: str  # "json_schema" | "regex"
    value: str
    name: str = "answer"  # the schema's name where an API wants one (OpenAI's json_schema.name)

    def __post_init__(self) -> None:
        if self.kind not in ("json_schema", "regex"):
            raise ValueError(f"output format kind must be 'json_schema' or 'regex', got {self.kind!r}")

    @classmethod
    def json_schema(cls, schema: dict[str, Any], name: str = "answer") -> OutputFormat:
        # Compact, keys in the order given: property order is the order the model writes the fields in.
        return cls("json_schema", json.dumps(schema, separators=(",", ":"), ensure_ascii=False), name)

    @classmethod
    def regex(cls, pattern: str, name: str = "answer") -> OutputFormat:
        return cls("regex", pattern, name)

    @property
    def schema(self) -> dict[str, Any]:
        if self.kind != "json_schema":
            raise ValueError("a regex output format has no JSON schema")
        return dict(json.loads(self.value))

    def describe(self) -> dict[str, Any]:
        """The plain form `python:` callables get: {"type": "json_schema", "schema": ...} or {"type": "regex", "pattern": ...}."""
        if self.kind == "regex":
            return {"type": "regex", "pattern": self.value, "name": self.name}
        return {"type": "json_schema", "schema": self.schema, "name": self.name}


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding parameters; every field is part of the cache key (`output_format` only when set)."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    output_format: OutputFormat | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class Request:
    """One generation: a rendered prompt (or chat messages), its config and the sample index."""

    prompt: str | None
    messages: tuple[tuple[str, str], ...] | None
    config: GenerationConfig
    sample: int = 0
    vars: str = "{}"  # JSON of the case vars; part of the key only for backends that see vars

    def material(self, *, with_vars: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt": self.prompt,
            "messages": [list(m) for m in self.messages] if self.messages is not None else None,
            "config": _config_material(self.config),
            "sample": self.sample,
        }
        if with_vars:
            data["vars"] = self.vars
        return data

    def text(self) -> str:
        """The prompt as one string (messages joined) for display and length sorting."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(f"{role}: {content}" for role, content in self.messages or ())


def _config_material(config: GenerationConfig) -> dict[str, Any]:
    """The config's key material; an unset output_format is left out, so keys from before it existed still match."""
    data = asdict(config)
    if data["output_format"] is None:
        del data["output_format"]
    return data


@dataclass
class Generation:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None
    cached: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


OnResult = Callable[[int, Generation], None]


class Backend(ABC):
    """The backend contract, with its defaults: a batch of requests in, generations out.

    Subclass it and implement `generate`; override the rest as needed:

    - `identity()` changes whenever the model's outputs could (weights, engine arguments); the spec by default.
    - `load()` loads weights before generating: the plan calls it before the progress clock starts.
    - `secrets()` lists what it sends that must never be shown (API keys): the run masks them everywhere.
    - `close()` frees what it holds at the end of the run.
    - `options` names the run settings (`Settings` fields, e.g. "timeout") its constructor takes, each with
      what it does for this backend: `resolve` passes exactly those, and `llmeval backends` lists them.
    - `takes_limits`: `generate` gets `limits=` (timeout, retries, the run deadline); set False for one that
      cannot honour them, and it is called without.
    - `sees_vars`: the case vars reach the backend (a `python:` app), so they join the cache key.
    - `distributable`: it can be rebuilt from (spec, options) in another process (the Ray engine).
    - `override`: on a class registered under a built-in prefix, says the replacement is meant.
    """

    options: ClassVar[Mapping[str, str]] = {}
    takes_limits: ClassVar[bool] = True
    override: ClassVar[bool] = False
    sees_vars: bool = False
    distributable: bool = False
    spec: str
    label: str

    def identity(self) -> str:
        return self.spec

    def load(self) -> None:
        return None

    def secrets(self) -> list[str]:
        return []

    def close(self) -> None:
        return None

    @abstractmethod
    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        """Generate every request, calling on_result(index, generation) once each as it finishes.

        `limits` bound each request (timeout, retries) and the run (deadline); a request they stop is
        reported with an error. Every backend implements it: a class without it cannot be built.
        """


def cache_key(backend_identity: str, request: Request, *, with_vars: bool, extra: str = "") -> str:
    """The cache key of a request; `extra` (a suite's cache_key_files/cache_version digest) joins it when set."""
    material: dict[str, Any] = {"backend": backend_identity, "request": request.material(with_vars=with_vars)}
    if extra:
        material["extra"] = extra
    blob = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def sample_seed(config: GenerationConfig, sample: int) -> int:
    """The seed of one sample: repeats of a case differ, and each is reproducible from the config's seed."""
    return config.seed * 1_000_003 + sample


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        at = text.find(s)
        if s and at != -1:
            cut = min(cut, at)
    return text[:cut]


def backend_secrets(backend: Backend) -> list[str]:
    """The secrets (API keys) a backend sends, for the run to mask in every output; [] when it has none."""
    return [s for s in backend.secrets() if s]
