"""Paired comparison of one suite × model with its baseline cases, and regression rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate import rows as R
from llmeval.gate import stats

RULE_KEYS = {"metric", "max_drop", "alpha", "stat", "better", "suite"}
_RULE_HINT = "e.g. regression: {metric: rougeL, max_drop: 0.02, alpha: 0.05}"


def validate_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Check a regression rule and fill its defaults (max_drop 0, alpha 0.05, stat mean)."""
    if not isinstance(rule, Mapping) or "metric" not in rule:
        raise SuiteError(f"a regression rule needs a 'metric', got {rule!r}", key="regression", hint=_RULE_HINT)
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise SuiteError(
            f"unknown key(s) {', '.join(sorted(unknown))} in regression rule",
            key="regression",
            hint=f"allowed: {', '.join(sorted(RULE_KEYS))}; {_RULE_HINT}",
        )
    out = {"max_drop": 0.0, "alpha": 0.05, "stat": "mean", **dict(rule)}
    for key in ("max_drop", "alpha"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SuiteError(f"'{key}' must be a number >= 0, got {value!r}", key="regression", hint=_RULE_HINT)
    if not 0 < out["alpha"] < 1:
        raise SuiteError(f"'alpha' must lie in (0, 1), got {out['alpha']!r}", key="regression", hint=_RULE_HINT)
    if out["stat"] not in ("mean", "pass_rate"):
        raise SuiteError(f"'stat' must be mean or pass_rate, got {out['stat']!r}", key="regression")
    if out.get("better", "higher") not in ("higher", "lower"):
        raise SuiteError(f"'better' must be higher or lower, got {out['better']!r}", key="regression")
    return out


def match_rule(rules: Sequence[Mapping[str, Any]], metric: str, suite: str | None) -> dict[str, Any] | None:
    """The first rule for this metric (a rule with metric '*' matches any) and suite, validated."""
    for rule in rules:
        if rule.get("metric") in (metric, "*") and rule.get("suite") in (None, suite):
            return validate_rule(rule)
    return None


def compare_group(
    current: Sequence[R.Row],
    base: Mapping[str, Mapping[str, Any]],
    rules: Sequence[Mapping[str, Any]] = (),
    *,
    suite: str | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare one suite × model's rows with the baseline's case entries of that suite."""
    now = {c["case"]: c for c in R.summarize_cases(current)}
    shared = sorted(set(now) & set(base))
    out: dict[str, Any] = {
        "new_cases": [{"case": c} for c in sorted(set(now) - set(base))],
        "missing_cases": [{"case": c} for c in sorted(set(base) - set(now))],
        "metrics": [],
        "cases": [],
        "changed_cases": [c for c in shared if base[c].get("fingerprint", now[c]["fingerprint"]) != now[c]["fingerprint"]],
    }
    metrics = R.metrics_in([now[c] for c in shared])
    for metric in metrics:
        pairs = [(base[c]["scores"][metric], now[c]["scores"][metric], c) for c in shared if _both(base[c], now[c], metric)]
        if not pairs:
            continue
        rule = match_rule(rules, metric, suite)
        out["metrics"].append(_metric_diff(metric, pairs, rule, confidence=confidence, seed=seed))
        out["cases"] += _case_diffs(metric, pairs, lower=out["metrics"][-1]["lower_is_better"])
    return out


def _both(old: Mapping[str, Any], new: Mapping[str, Any], metric: str) -> bool:
    return metric in old.get("scores", {}) and metric in new.get("scores", {})


def _lower_is_better(pairs: list[tuple[Mapping[str, Any], Mapping[str, Any], str]], rule: Mapping | None) -> bool:
    if rule and "better" in rule:
        return rule["better"] == "lower"
    threshold = pairs[0][1].get("threshold") or pairs[0][0].get("threshold") or {}
    return "max" in threshold and "min" not in threshold


def _metric_diff(
    metric: str, pairs: list[tuple[Mapping[str, Any], Mapping[str, Any], str]], rule: dict | None, **kw: Any
) -> dict[str, Any]:
    """Paired delta (bootstrap interval, sign-flip p) and McNemar flips for one metric."""
    lower = _lower_is_better(pairs, rule)
    a = [float(old["value"]) for old, _, _ in pairs]
    b = [float(new["value"]) for _, new, _ in pairs]
    test = stats.paired_test(a, b, confidence=kw["confidence"], seed=kw["seed"])
    flips = stats.mcnemar([old["passed"] >= 0.5 for old, _, _ in pairs], [new["passed"] >= 0.5 for _, new, _ in pairs])
    p_worse, p_better = (test.p_greater, test.p_less) if lower else (test.p_less, test.p_greater)
    drop = test.delta if lower else -test.delta
    if rule and rule["stat"] == "pass_rate":
        drop = (flips.pass_to_fail - flips.fail_to_pass) / len(pairs)
        p_worse = flips.p_worse
    alpha = rule["alpha"] if rule else 0.05
    regressed = rule is not None and drop > rule["max_drop"] and p_worse < alpha
    return {
        "metric": metric,
        "n": len(pairs),
        "baseline_mean": sum(a) / len(a),
        "current_mean": sum(b) / len(b),
        "delta": test.delta,
        "interval": list(test.interval),
        "confidence": kw["confidence"],
        "p_worse": p_worse,
        "p_better": p_better,
        "lower_is_better": lower,
        "drop": drop,
        "flips": flips.as_dict(),
        "rule": rule,
        "significant_drop": p_worse < alpha and drop > 0,
        "significant_gain": p_better < alpha and drop < 0,
        "regressed": regressed,
        "message": _message(metric, drop, test, p_worse, rule, regressed),
    }


def _message(metric: str, drop: float, test: stats.PairedTest, p: float, rule: dict | None, regressed: bool) -> str:
    lo, hi = test.interval
    text = f"{metric}: delta {test.delta:+.4f} (CI {lo:+.4f}..{hi:+.4f}, n={test.n}), drop p={p:.4f}"
    if rule is None:
        return text + " (no regression rule)"
    verdict = "REGRESSION" if regressed else "ok"
    return text + f"; rule max_drop {rule['max_drop']:g} at alpha {rule['alpha']:g}: {verdict}"


def _case_diffs(metric: str, pairs: list[tuple[Mapping, Mapping, str]], *, lower: bool) -> list[dict[str, Any]]:
    """The cases whose value or pass/fail changed, the largest changes first."""
    diffs = []
    for old, new, case in pairs:
        delta = float(new["value"]) - float(old["value"])
        was, now = old["passed"] >= 0.5, new["passed"] >= 0.5
        if abs(delta) < 1e-9 and was == now:
            continue
        better = (delta < 0) if lower else (delta > 0)
        if abs(delta) < 1e-9:
            better = now
        flip = None if was == now else ("pass->fail" if was else "fail->pass")
        diffs.append(
            {
                "case": case,
                "metric": metric,
                "baseline": float(old["value"]),
                "current": float(new["value"]),
                "delta": delta,
                "change": "improved" if better else "regressed",
                "flip": flip,
            }
        )
    return sorted(diffs, key=lambda d: -abs(d["delta"]))
