"""Baselines: a JSON file in the repo with per-case scores and gate values, and the comparison with it."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError
from llmeval.gate import rows as R
from llmeval.gate.diff import compare_group
from llmeval.records import GateRecord
from llmeval.scorers.base import Scale

FORMAT = "llmeval-baseline/1"


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: its metadata, one entry per (suite, model, case) and its gate rows."""

    path: str
    meta: dict[str, Any]
    suites: dict[str, dict[str, Any]]
    cases: list[dict[str, Any]]
    gates: list[dict[str, Any]] = field(default_factory=list)

    def models_for(self, suite: str) -> list[str]:
        return sorted({c["model"] for c in self.cases if c["suite"] == suite})

    def cases_for(self, suite: str, model: str) -> dict[str, dict[str, Any]]:
        return {c["case"]: c for c in self.cases if c["suite"] == suite and c["model"] == model}


def save_baseline(path: str | Path, rows: Iterable[R.Row], gates: Iterable[GateRecord], *, meta: Mapping[str, Any]) -> Path:
    """Write a baseline (sorted keys, indented: meant to be committed and diffed) and return its path."""
    rows = list(rows)
    versions, hashes = dict(meta.get("suite_versions") or {}), dict(meta.get("suite_hashes") or {})
    suites: dict[str, dict[str, Any]] = {}
    for suite in sorted({str(r.get("suite")) for r in R.case_rows(rows)}):
        suite_rows = R.case_rows(rows, suite=suite)
        suites[suite] = {"models": sorted({r["model"] for r in suite_rows})}
        if suite in versions:
            suites[suite]["version"] = versions[suite]
        if hashes.get(suite):
            suites[suite]["sha256"] = hashes[suite]
    keep = ("suite", "gate", "model", "metric", "stat", "value", "interval", "bound", "threshold", "passed", "n", "units")
    saved = [{k: v for k, v in g.to_json().items() if k in keep} for g in gates]
    full_meta = {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), **dict(meta)}
    full_meta.pop("suite_versions", None)
    full_meta.pop("suite_hashes", None)
    data = {"format": FORMAT, "meta": full_meta, "suites": suites, "cases": R.summarize_cases(rows), "gates": saved}
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, sort_keys=True, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; a missing or foreign file raises an error that says what to do.
    (`history:last-accepted[:N]` baselines come from the run history: ``llmeval.ops.baseline.load_run_baseline``.)"""
    p = Path(path)
    if not p.is_file():
        raise LlmevalError(f"baseline file {p} does not exist; create it with --llmeval-save-baseline {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LlmevalError(f"baseline file {p}:{exc.lineno} is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LlmevalError(f'{p} is not an llmeval baseline (expected "format": "{FORMAT}")')
    return Baseline(str(p), data.get("meta", {}), data.get("suites", {}), data.get("cases", []), data.get("gates", []))


def _pick_baseline_model(baseline: Baseline, suite: str, model: str) -> tuple[str | None, str | None]:
    """The baseline model to compare a run's model with, and a mismatch note when it differs."""
    models = baseline.models_for(suite)
    if model in models:
        return model, None
    if len(models) == 1:
        return models[0], f"suite '{suite}': baseline made by model '{models[0]}', this run used '{model}'"
    if not models:
        return None, f"suite '{suite}' is not in the baseline {baseline.path}"
    return None, f"suite '{suite}': baseline has models {', '.join(models)} but not '{model}'; nothing compared"


def _hash_mismatch(baseline: Baseline, suite: str, hashes: Mapping[str, str]) -> str | None:
    """A note when the suite file's hash differs from the one the baseline recorded (both known)."""
    saved, now = (baseline.suites.get(suite) or {}).get("sha256"), hashes.get(suite)
    if not saved or not now or saved == now:
        return None
    change = f"{saved[:12]} -> {now[:12]}"
    return f"suite '{suite}': suites.{suite}.sha256 differs: the suite file changed since the baseline ({change})"


def _suite_mismatch(baseline: Baseline, suite: str, versions: Mapping[str, str]) -> str | None:
    saved = baseline.suites.get(suite)
    if not saved:
        return None
    if suite in versions and saved.get("version") and saved["version"] != versions[suite]:
        return f"suite '{suite}': baseline is of suite version {saved['version']}, this run {versions[suite]}"
    return None


def compare_with_baseline(
    rows: Iterable[R.Row],
    baseline: Baseline,
    rules: Sequence[Mapping[str, Any]] = (),
    *,
    suite_versions: Mapping[str, str] | None = None,
    suite_hashes: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    scales: Mapping[str, Scale] | None = None,
) -> dict[str, Any]:
    """Compare a run's rows with a baseline: per-metric paired drops and their bounds, rule verdicts.

    ``suite_hashes`` (suite -> sha256 of its file): a suite whose hash differs from the baseline's is listed in
    ``changed_suites``, and its regression gates cannot pass (they error).
    """
    rows = list(rows)
    out: dict[str, Any] = {
        "baseline": baseline.path,
        "baseline_meta": baseline.meta,
        "mismatches": list(baseline.meta.get("comparability") or []),  # runs from the history: llmeval.ops.baseline
        "metrics": [],
        "cases": [],
        "new_cases": [],
        "missing_cases": [],
        "gates": gate_changes([GateRecord.from_json(g) for g in R.gate_rows(rows)], baseline.gates),
    }
    for suite, model in R.suite_models(rows):
        current = R.case_rows(rows, suite=suite, model=model)
        base_model, note = _pick_baseline_model(baseline, suite, model)
        suite_note = _suite_mismatch(baseline, suite, suite_versions or {})
        out["mismatches"] += [n for n in (note, suite_note) if n and n not in out["mismatches"]]
        hash_note = _hash_mismatch(baseline, suite, suite_hashes or {})
        if hash_note is not None:  # regression gates on this suite error: llmeval.gate.gates
            out["mismatches"] += [hash_note] if hash_note not in out["mismatches"] else []
            out.setdefault("changed_suites", []).append(suite)
        if base_model is None:
            continue
        part = compare_group(
            current, baseline.cases_for(suite, base_model), rules, suite=suite, confidence=confidence, seed=seed, scales=scales
        )
        if part["changed_cases"]:
            names = ", ".join(part["changed_cases"][:5]) + (", …" if len(part["changed_cases"]) > 5 else "")
            note = f"suite '{suite}': {len(part['changed_cases'])} cases changed since the baseline ({names})"
            out["mismatches"] += [note] if note not in out["mismatches"] else []
        for key in ("metrics", "cases", "new_cases", "missing_cases"):
            for item in part[key]:
                out[key].append({"suite": suite, "model": model, "baseline_model": base_model, **item})
    out["regressions"] = [m for m in out["metrics"] if m["regressed"]]
    out["passed"] = not out["regressions"]
    return out


def gate_changes(current: Sequence[GateRecord], saved: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each gate of the run that the baseline also has: its value and outcome then and now."""
    before = {(g.get("suite"), g.get("model"), g.get("gate")): g for g in saved}
    changes = []
    for gate in current:
        old = before.get((gate.suite, gate.model, gate.gate))
        if old is not None:
            changes.append(
                {
                    "suite": gate.suite,
                    "model": gate.model,
                    "gate": gate.gate,
                    "baseline_value": old.get("value"),
                    "current_value": gate.value,
                    "baseline_passed": old.get("passed"),
                    "current_passed": gate.passed,
                }
            )
    return changes
