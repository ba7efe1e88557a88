"""Paired comparison of one suite × model with its baseline cases, and regression rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate import bounds, stats
from llmeval.gate import rows as R
from llmeval.gate.units import scale_for
from llmeval.scorers.base import Scale

RULE_KEYS = {"metric", "max_drop", "alpha", "stat", "better", "suite", "require"}
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
    if out.get("require", "not_shown_beyond") not in ("shown_within", "not_shown_beyond"):
        raise SuiteError(f"'require' must be shown_within or not_shown_beyond, got {out['require']!r}", key="regression")
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
    scales: Mapping[str, Scale] | None = None,
) -> dict[str, Any]:
    """Compare one suite x model's rows with the baseline's case entries of that suite."""
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
        scale = scale_for(metric, scales or {}, None)
        out["metrics"].append(_metric_diff(metric, pairs, rule, scale, confidence=confidence, seed=seed))
        out["cases"] += _case_diffs(metric, pairs, lower=out["metrics"][-1]["lower_is_better"])
    return out


def _both(old: Mapping[str, Any], new: Mapping[str, Any], metric: str) -> bool:
    return metric in old.get("scores", {}) and metric in new.get("scores", {})


def lower_is_better(scale: Scale, rule: Mapping[str, Any] | None) -> bool:
    """The metric's direction: the rule's ``better`` when given, else the scorer's declared one (higher when none)."""
    if rule and "better" in rule:
        return bool(rule["better"] == "lower")
    return scale.better == "lower"


def _drop_bound(drops: list[float], span: float | None, alpha: float) -> tuple[tuple[float, float], str]:
    """Interval of the mean drop, each side missing with probability at most alpha."""
    confidence = 1 - 2 * alpha
    b = bounds.t_mean(drops, confidence) if span is None else bounds.betting_mean(drops, -span, span, confidence)
    return (b.low, b.high), b.method


def _metric_diff(
    metric: str,
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any], str]],
    rule: dict[str, Any] | None,
    scale: Scale,
    **kw: Any,
) -> dict[str, Any]:
    """Paired drop per case and its bound; with a rule, a regression is a drop shown beyond max_drop."""
    lower = lower_is_better(scale, rule)
    by_rate = bool(rule and rule["stat"] == "pass_rate")
    key = "passed" if by_rate else "value"
    a = [float(old[key]) for old, _, _ in pairs]
    b = [float(new[key]) for _, new, _ in pairs]
    drops = [(y - x) if lower else (x - y) for x, y in zip(a, b, strict=True)]
    span = 1.0 if by_rate else (scale.high - scale.low if scale.bounded else None)  # type: ignore[operator]
    alpha = rule["alpha"] if rule else 0.05
    max_drop = rule["max_drop"] if rule else 0.0
    interval, method = _drop_bound(drops, span, alpha)
    p_worse = _p_beyond(drops, max_drop, span, alpha)
    drop = sum(drops) / len(drops)
    require = (rule or {}).get("require", "not_shown_beyond")
    shown_beyond, shown_within = interval[0] > max_drop, interval[1] <= max_drop
    regressed = rule is not None and (shown_beyond if require == "not_shown_beyond" else not shown_within)
    flips = stats.mcnemar([old["passed"] >= 0.5 for old, _, _ in pairs], [new["passed"] >= 0.5 for _, new, _ in pairs])
    av, bv = [float(o["value"]) for o, _, _ in pairs], [float(n["value"]) for _, n, _ in pairs]
    return {
        "metric": metric,
        "n": len(pairs),
        "baseline_mean": sum(av) / len(av),
        "current_mean": sum(bv) / len(bv),
        "delta": sum(bv) / len(bv) - sum(av) / len(av),
        "interval": list(interval),
        "confidence": 1 - 2 * alpha,
        "method": method,
        "p_worse": p_worse,
        "lower_is_better": lower,
        "drop": drop,
        "flips": flips.as_dict(),
        "rule": rule,
        "significant_drop": shown_beyond and drop > 0,
        "regressed": regressed,
        "message": _message(metric, drop, interval, p_worse, len(pairs), rule, regressed, key),
    }


def _p_beyond(drops: list[float], max_drop: float, span: float | None, alpha: float) -> float:
    """p-value of "the mean drop is at most max_drop" (betting capital; t test when the range is unknown)."""
    if span is None:
        if len(drops) < bounds.T_MIN_UNITS:
            return 1.0
        from scipy.stats import ttest_1samp

        return float(ttest_1samp(drops, max_drop, alternative="greater").pvalue)
    return bounds.betting_p_above(drops, max_drop, -span, span, alpha)


def _message(
    metric: str,
    drop: float,
    interval: tuple[float, float],
    p: float,
    n: int,
    rule: dict[str, Any] | None,
    regressed: bool,
    key: str,
) -> str:
    what = "pass rate" if key == "passed" else metric
    lo, hi = interval
    head = f"{what}: drop {drop:+.4g} (interval {lo:+.4g}..{hi:+.4g}, n = {n})"
    if rule is None:
        return head + " (no regression rule)"
    limit, alpha = rule["max_drop"], rule["alpha"]
    if rule.get("require", "not_shown_beyond") == "shown_within":
        if regressed:
            return f"{head}: the drop is not shown to be within {limit:g} (upper bound {hi:.4g}): REGRESSION"
        return f"{head}: shown within {limit:g} (upper bound {hi:.4g})"
    if regressed:
        return f"{head}: drop {drop:.4g} exceeds {limit:g} and is significant (p = {p:.2g} < alpha {alpha:g}): REGRESSION"
    if drop > limit:
        return f"{head}: drop {drop:.4g} exceeds {limit:g} but is not significant (p = {p:.2g}, n = {n})"
    return f"{head}: within {limit:g}"


def _case_diffs(
    metric: str, pairs: list[tuple[Mapping[str, Any], Mapping[str, Any], str]], *, lower: bool
) -> list[dict[str, Any]]:
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
