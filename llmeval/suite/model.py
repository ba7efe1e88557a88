"""Expanded suites: the cases pytest runs, each knowing its file and line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmeval.backends.base import GenerationConfig, Request
from llmeval.gate.spec import GateSpec
from llmeval.scorers.base import Sample, Scale, Scorer


@dataclass(frozen=True)
class Case:
    suite: str
    id: str
    path: str
    line: int
    vars: Mapping[str, Any]
    prompt: str | None
    messages: tuple[tuple[str, str], ...] | None
    references: tuple[str, ...]
    context: tuple[str, ...]
    tags: tuple[str, ...]
    scorers: tuple[Scorer, ...]
    min_pass_rate: float

    def request(self, config: GenerationConfig, sample: int) -> Request:
        return Request(self.prompt, self.messages, config, sample, json.dumps(self.vars, sort_keys=True, default=str))

    def sample_for(self, output: str, prompt_text: str, model: str = "", request: Request | None = None) -> Sample:
        return Sample(output, self.references, prompt_text, self.vars, self.context, model, request)


@dataclass(frozen=True)
class Gate:
    spec: GateSpec
    name: str
    line: int


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    version: str | None
    path: str
    model: str | None
    model_line: int
    generation: GenerationConfig
    repeat: int
    cases: tuple[Case, ...]
    gates: tuple[Gate, ...] = ()
    regression: tuple[Mapping[str, Any], ...] = ()
    max_error_rate: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    backend: Mapping[str, Any] = field(default_factory=dict)  # the suite's own timeout/retries (only those it sets)
    cache_key_files: tuple[str, ...] = ()  # absolute paths matched by the suite's cache_key_files globs, sorted
    cache_version: str | None = None
    robustness: Mapping[str, Any] | None = None  # the suite's `robustness:` block (llmeval.robustness)
    scales: Mapping[str, Scale] = field(default_factory=dict)  # metric -> the scale its scorer declares
