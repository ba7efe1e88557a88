"""Whether two runs can be compared: their manifests field by field.

A difference is a warning naming the field (a package upgrade, another GPU, another suite generation
setting), or an error where it invalidates the comparison a gate makes: a regression gate compares each
case with its baseline self, so a suite file whose hash changed is an error for that suite's regression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from llmeval.records import Manifest

SETTINGS = ("repeat", "redact_pii", "engine", "batching", "openai_format", "model_ids", "vllm_args", "cache")
ENVIRONMENT = ("python", "platform", "machine", "cpus", "gpus")


@dataclass(frozen=True)
class Difference:
    """One field that differs between a reference run (`before`) and another (`after`)."""

    field: str
    before: Any
    after: Any
    severity: Literal["warning", "error"] = "warning"
    why: str = ""

    def describe(self) -> str:
        text = f"{self.severity}: {self.field} differs: {_short(self.before)} -> {_short(self.after)}"
        return f"{text} ({self.why})" if self.why else text


def diff_manifests(
    before: Manifest | Mapping[str, Any], after: Manifest | Mapping[str, Any], *, regression_suites: Iterable[str] = ()
) -> list[Difference]:
    """The fields that differ; a suite of `regression_suites` whose file hash changed is an error."""
    a, b = _plain(before), _plain(after)
    gated = set(regression_suites)
    out: list[Difference] = []
    for suite in sorted(set(a.get("suites", {})) & set(b.get("suites", {}))):
        old, new = a["suites"][suite], b["suites"][suite]
        for key in ("sha256", "version", "generation", "repeat", "model"):
            if key in old and key in new and old[key] != new[key]:
                error = key == "sha256" and suite in gated
                why = "the cases may differ: a regression against it is not a like-for-like comparison" if error else ""
                out.append(Difference(f"suites.{suite}.{key}", old[key], new[key], "error" if error else "warning", why))
    for suite in sorted(set(a.get("suites", {})) ^ set(b.get("suites", {}))):
        where = "before" if suite in a.get("suites", {}) else "after"
        out.append(
            Difference(
                f"suites.{suite}", "present" if where == "before" else "absent", "present" if where == "after" else "absent"
            )
        )
    out += _mapping("models", a.get("models", {}), b.get("models", {}), "the model's identity (weights, endpoint) changed")
    out += _mapping("backends", a.get("backends", {}), b.get("backends", {}))
    settings_a, settings_b = a.get("settings", {}), b.get("settings", {})
    out += _mapping(
        "settings",
        {k: settings_a.get(k) for k in SETTINGS if k in settings_a},
        {k: settings_b.get(k) for k in SETTINGS if k in settings_b},
    )
    out += _mapping("packages", a.get("packages", {}), b.get("packages", {}))
    env_a, env_b = a.get("environment", {}), b.get("environment", {})
    timing = "latency and tokens/s are not comparable across machines"
    out += _mapping(
        "environment",
        {k: env_a.get(k) for k in ENVIRONMENT if k in env_a},
        {k: env_b.get(k) for k in ENVIRONMENT if k in env_b},
        timing,
    )
    commit_a, commit_b = (env_a.get("git") or {}).get("commit"), (env_b.get("git") or {}).get("commit")
    if commit_a and commit_b and commit_a != commit_b:
        out.append(Difference("environment.git.commit", commit_a[:12], commit_b[:12]))
    return out


def has_errors(differences: Iterable[Difference]) -> bool:
    return any(d.severity == "error" for d in differences)


def _mapping(prefix: str, a: Mapping[str, Any], b: Mapping[str, Any], why: str = "") -> list[Difference]:
    return [Difference(f"{prefix}.{k}", a.get(k), b.get(k), why=why) for k in sorted(set(a) & set(b)) if a[k] != b[k]]


def _plain(manifest: Manifest | Mapping[str, Any]) -> dict[str, Any]:
    return manifest.to_json() if isinstance(manifest, Manifest) else dict(manifest)


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if isinstance(value, str) and len(value) == 64 else (text if len(text) <= 60 else text[:57] + "...")


def results_differences(paths: Iterable[Any]) -> list[str]:
    """For `llmeval compare`: each results file's manifest against the first one's, one line per differing field."""
    from llmeval.records import read_results

    manifests = [(str(p), read_results(p).manifest) for p in paths]
    known = [(name, m) for name, m in manifests if m is not None]
    if len(known) < 2:
        return []
    (first, reference), lines = known[0], []
    for name, manifest in known[1:]:
        lines += [f"{first} vs {name}: {d.describe()}" for d in diff_manifests(reference, manifest)]
    return lines
