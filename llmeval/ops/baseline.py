"""``--llmeval-baseline history:last-accepted[:N]``: the baseline built from the last N accepted runs of the history.

Each case's baseline score is its mean over those runs (its pass fraction likewise); the suites' versions and
file hashes are the latest accepted run's, so a suite file changed since then is flagged (an error for a
regression gate: ``llmeval.gate.gates``). A run is accepted explicitly: ``llmeval history accept RUN_ID``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError

PREFIX = "history:"
LAST_ACCEPTED = "last-accepted"


def settings_baseline(settings: Any, root: Path) -> Any:
    """The run's --llmeval-baseline (file or history), read once at the start; None when none was given."""
    if not settings.baseline:
        return None
    return load_run_baseline(root / settings.baseline, history=settings.history_path(root))


def load_run_baseline(path: str | Path, *, history: str | Path | None = None) -> Any:
    """The run's --llmeval-baseline: a baseline file, or one built from the run `history` (`history:last-accepted[:N]`)."""
    from llmeval.gate.baseline import load_baseline

    p = Path(path)
    if not p.name.startswith(PREFIX):
        return load_baseline(p)
    return history_baseline(p.name, history if history is not None else p.parent / ".llmeval" / "history.sqlite", p.parent)


def parse_spec(spec: str) -> int:
    """How many accepted runs `history:last-accepted[:N]` asks for."""
    name, _, count = spec.removeprefix(PREFIX).partition(":")
    if name != LAST_ACCEPTED or (count and not (count.isdigit() and int(count) >= 1)):
        raise LlmevalError(f"baseline {spec!r}: expected history:{LAST_ACCEPTED} or history:{LAST_ACCEPTED}:N (N >= 1)")
    return int(count) if count else 1


def history_baseline(spec: str, path: str | Path, root: Path | None = None) -> Any:
    """The Baseline of the last N accepted runs of the history at `path`; none accepted is an error saying how.

    Its ``meta["comparability"]`` names the packages and environment fields (`root`'s git commit included) that
    differ between the latest accepted run and this process: the comparison lists them with its mismatches.
    """
    from llmeval.gate.baseline import Baseline
    from llmeval.ops.history import History

    count = parse_spec(spec)
    history = History(path)
    accepted = history.accepted(count)
    if not accepted:
        raise LlmevalError(
            f"baseline {spec}: the run history {path} has no accepted run; accept one with "
            f"`llmeval history {path} accept RUN_ID` (`llmeval history {path}` lists the runs)"
        )
    latest = accepted[-1][0]
    suites: dict[str, dict[str, Any]] = {}
    for name, entry in (latest.manifest.get("suites") or {}).items():
        suites[name] = {k: entry[k] for k in ("version", "sha256") if entry.get(k)}
    cases = _pooled([summaries for _, summaries in accepted])
    for case in cases:
        suites.setdefault(case["suite"], {}).setdefault("models", [])
        if case["model"] not in suites[case["suite"]]["models"]:
            suites[case["suite"]]["models"].append(case["model"])
    meta = {"run_id": latest.run_id, "runs": [e.run_id for e, _ in accepted], "history": str(path), "manifest": latest.manifest}
    meta["comparability"] = _comparability(latest.run_id, latest.manifest, root)
    return Baseline(f"{spec} ({path}: {', '.join(meta['runs'])})", meta, suites, cases, [])


def _pooled(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One summary per (suite, model, case): each metric's value and pass fraction averaged over the runs."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for summaries in runs:
        for entry in summaries:
            grouped[(entry["suite"], entry["model"], entry["case"])].append(entry)
    out = []
    for (suite, model, case), entries in sorted(grouped.items()):
        latest = entries[-1]
        scores: dict[str, Any] = {}
        for metric in latest["scores"]:
            found = [e["scores"][metric] for e in entries if metric in e["scores"]]
            scores[metric] = {
                "value": round(sum(s["value"] for s in found) / len(found), 6),
                "passed": round(sum(s["passed"] for s in found) / len(found), 6),
                "threshold": latest["scores"][metric].get("threshold", {}),
            }
        out.append({**latest, "suite": suite, "model": model, "case": case, "scores": scores})
    return out


def _comparability(run_id: str, manifest: dict[str, Any], root: Path | None) -> list[str]:
    """This process's packages and environment against the accepted run's: one warning per differing field."""
    from llmeval.core.manifest import environment, package_versions
    from llmeval.ops.comparability import diff_manifests

    now = {"packages": package_versions(), "environment": environment(root) if root is not None else {}}
    then = {key: manifest.get(key) or {} for key in now}
    return [f"baseline run {run_id}: {d.describe()}" for d in diff_manifests(then, now)]
