"""Gate specs from a suite's ``gates:`` list: parsed once into a typed GateSpec, named for pytest ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate.conditions import Condition, bound_condition, parse_condition
from llmeval.gate.diff import validate_rule
from llmeval.gate.kinds import KINDS
from llmeval.gate.stats import RATE_STATS, STATS

FAIRLEARN = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "difference",
    "ratio",
)
REQUIRE = ("shown_within", "not_shown_beyond")
FAIRNESS_CI = 0.95  # fairness gates are release gates: an interval unless the suite says ci: false
GATE_KEYS = {"name", "metric", "ci", "q", "by", "fairlearn", "of", "y_true", "regression", "method", "require", "range"}
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}  # quantile gates by name: {metric: latency_s, p95: "<= 2"}
GATE_KEYS |= set(STATS) | set(PERCENTILES) | {"cluster"} | set(KINDS) | {key for kind in KINDS.values() for key in kind.keys}
_HINT = 'e.g. {metric: rougeL, mean: ">= 0.6", ci: 0.95} or {metric: pii, pass_rate: "== 1.0"}'


@dataclass(frozen=True)
class GateSpec:
    """One gate: a statistic of a metric against a condition, a fairness bound, or a regression check."""

    name: str
    metric: str
    stat: str  # one of STATS, a FAIRLEARN name, a kind of llmeval.gate.kinds, or "regression"
    condition: Condition | None
    ci: float | None = None
    q: float = 0.5
    by_keys: tuple[str, ...] = ()  # several vars: groups are their intersections
    of: str = "passed"
    y_true: str | None = None
    rules: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    tolerance: float = 0.0  # consistency: numeric outcomes this close count as the same
    sets: str | None = None  # consistency: the var naming each case's counterfactual set
    max_unparsed_rate: float = 0.0  # share of outputs without a readable outcome the gate tolerates
    require: str = "shown_within"
    range: tuple[float, float] | None = None  # the metric's [low, high] when its scorer declares none
    cluster: str | None = None  # the var naming the independent unit

    @property
    def is_fairness(self) -> bool:
        return self.stat in FAIRLEARN

    @property
    def by(self) -> str | None:
        return "+".join(self.by_keys) or None

    @property
    def by_label(self) -> str:
        return "+".join(self.by_keys)

    @property
    def is_rate(self) -> bool:
        return self.stat in RATE_STATS


def _fail(message: str, key: str | None = None, hint: str = _HINT) -> SuiteError:
    return SuiteError(message, key=f"gates.{key}" if key else "gates", hint=hint)


def _ci(value: object, stat: str) -> float | None:
    if value is None:
        return FAIRNESS_CI if stat in FAIRLEARN else (KINDS[stat].default_ci if stat in KINDS else None)
    if value is False:
        return None
    if value is True:
        return 0.95
    if isinstance(value, (int, float)) and 0.5 <= value < 1:
        return float(value)
    raise _fail(f"'ci' must be a confidence level in [0.5, 1), got {value!r}", "ci", "e.g. ci: 0.95")


def _stat_and_condition(spec: Mapping[str, Any]) -> tuple[str, Condition | None]:
    for stat in KINDS:
        if stat in spec:
            return stat, parse_condition(spec[stat], key=f"gates.{stat}")
    if "fairlearn" in spec:
        kind = spec["fairlearn"]
        if kind not in FAIRLEARN:
            raise _fail(f"unknown fairlearn metric {kind!r}", "fairlearn", f"choose one of: {', '.join(FAIRLEARN)}")
        if not spec.get("by"):
            raise _fail("a fairlearn gate needs 'by': the case var holding each case's group", "by")
        bounds = [(k, op) for k, op in (("max", "<="), ("min", ">=")) if k in spec]
        if len(bounds) != 1:
            raise _fail("a fairlearn gate takes exactly one of 'max' or 'min'", "fairlearn", "e.g. max: 0.1")
        key, op = bounds[0]
        return kind, bound_condition(spec[key], op, key=f"gates.{key}")
    stats = [k for k in (*STATS, *PERCENTILES) if k in spec]
    if not stats:
        if "regression" in spec:
            return "regression", None
        raise _fail(f"gate on '{spec.get('metric')}' names no statistic; use one of {', '.join(STATS)}")
    if len(stats) > 1:
        raise _fail(f"a gate takes one statistic, got {', '.join(stats)}; write one gate per statistic")
    stat = "quantile" if stats[0] in PERCENTILES else stats[0]
    return stat, parse_condition(spec[stats[0]], key=f"gates.{stats[0]}")


def _q(spec: Mapping[str, Any], stat: str) -> float:
    if stat != "quantile":
        return 0.5
    named = [PERCENTILES[k] for k in PERCENTILES if k in spec]
    if named:
        if "q" in spec:
            raise _fail("a percentile gate (p50, p95...) takes no 'q'", "q", 'e.g. {metric: latency_s, p95: "<= 2.0"}')
        return named[0]
    q = spec.get("q")
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1:
        raise _fail(f"a quantile gate needs 'q' in [0, 1], got {q!r}", "q", 'e.g. {metric: bleu, quantile: ">= 20", q: 0.1}')
    return float(q)


def _rules(spec: Mapping[str, Any], metric: str) -> tuple[dict[str, Any], ...]:
    rule = spec.get("regression")
    if rule is None or rule is False:
        return ()
    if rule is True:
        rule = {}
    if not isinstance(rule, Mapping):
        raise _fail(f"'regression' must be a mapping, got {rule!r}", "regression", "e.g. regression: {max_drop: 0.02}")
    return (validate_rule({"metric": metric, **dict(rule)}),)


def _by(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _fail(
        f"'by' must be a case var or a list of them (their intersections), got {value!r}",
        "by",
        "e.g. by: [group.gender, group.race]",
    )


def _number(spec: Mapping[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _fail(f"'{key}' must be a number >= 0, got {value!r}", key)
    return float(value)


def _range(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    pair = list(value) if isinstance(value, (list, tuple)) else []
    ok = len(pair) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
    if not ok or not pair[0] < pair[1]:
        raise _fail(f"'range' must be [low, high] with low < high, got {value!r}", "range", "e.g. range: [0, 500]")
    return (float(pair[0]), float(pair[1]))


def _checked_keys(spec: Mapping[str, Any]) -> None:
    unknown = set(spec) - GATE_KEYS - ({"max", "min"} if "fairlearn" in spec else set())
    if unknown:
        raise _fail(
            f"unknown gate key(s): {', '.join(sorted(map(str, unknown)))}", hint=f"allowed: {', '.join(sorted(GATE_KEYS))}"
        )
    if spec.get("method", "exact") != "exact":
        raise _fail(
            f"'method' {spec['method']!r} is not offered: an approximate interval can under-cover at small n",
            "method",
            "remove 'method'; rates use the exact (Clopper-Pearson) interval",
        )
    if spec.get("require", "shown_within") not in REQUIRE:
        raise _fail(f"'require' must be one of {', '.join(REQUIRE)}, got {spec['require']!r}", "require")
    if spec.get("of", "passed") not in ("passed", "value"):
        raise _fail(f"'of' must be passed or value, got {spec['of']!r}", "of")


def parse_gate(spec: Mapping[str, Any] | GateSpec) -> GateSpec:
    """Validate a gate entry of a suite and return its GateSpec; SuiteError names what to fix."""
    if isinstance(spec, GateSpec):
        return spec
    if not isinstance(spec, Mapping):
        raise _fail(f"a gate must be a mapping, got {spec!r}")
    _checked_keys(spec)
    metric = spec.get("metric")
    if not isinstance(metric, str) or not metric:
        raise _fail(f"a gate needs 'metric' (a scorer name), got {metric!r}", "metric")
    stat, condition = _stat_and_condition(spec)
    ci = _ci(spec.get("ci"), stat)
    if ci is not None and stat in ("min", "max"):
        raise _fail(
            f"no interval can bound the {stat} of a metric's values from a sample",
            "ci",
            f'gate a quantile instead, e.g. {{metric: {metric}, quantile: ">= 0.2", q: 0.05, ci: 0.95}}',
        )
    gate = GateSpec(
        name="",
        metric=metric,
        stat=stat,
        condition=condition,
        ci=ci,
        q=_q(spec, stat),
        by_keys=_by(spec.get("by")),
        tolerance=_number(spec, "tolerance", 0.0),
        sets=spec.get("sets"),
        max_unparsed_rate=_number(spec, "max_unparsed_rate", 0.0),
        of=str(spec.get("of", "passed")),
        y_true=spec.get("y_true"),
        rules=_rules(spec, metric),
        require=str(spec.get("require", "shown_within")),
        range=_range(spec.get("range")),
        cluster=spec.get("cluster"),
    )
    percentile = next((f"{metric}-{k}" for k in PERCENTILES if k in spec), "")
    return replace(gate, name=str(spec.get("name") or "") or percentile or _default_name(gate))


def _default_name(g: GateSpec) -> str:
    if g.is_fairness:
        return f"{g.metric}-{g.stat}-by-{g.by}"
    if g.stat in KINDS:
        return f"{g.metric}-{g.stat}"
    if g.stat == "quantile":
        return f"{g.metric}-q{g.q:g}"
    if g.stat == "regression":
        return "regression" if g.metric == "*" else f"{g.metric}-regression"
    return f"{g.metric}-{g.stat}"


def gate_name(spec: Mapping[str, Any] | GateSpec) -> str:
    """The gate's name in pytest ids and reports: its ``name``, else built from metric and statistic."""
    return parse_gate(spec).name


def regression_gate(rule: Mapping[str, Any]) -> GateSpec:
    """The gate a suite-level ``regression:`` rule becomes."""
    rule = validate_rule(rule)
    return parse_gate({"metric": rule["metric"], "regression": {k: v for k, v in rule.items() if k != "metric"}})


def unique_names(gates: Sequence[GateSpec]) -> list[GateSpec]:
    """The gates with a suffix on repeated names (rougeL-mean, rougeL-mean-2)."""
    seen: dict[str, int] = {}
    named = []
    for gate in gates:
        seen[gate.name] = seen.get(gate.name, 0) + 1
        named.append(gate if seen[gate.name] == 1 else replace(gate, name=f"{gate.name}-{seen[gate.name]}"))
    return named


def plan_gates(gates: Sequence[Mapping[str, Any]], regression: Sequence[Mapping[str, Any]] = ()) -> list[GateSpec]:
    """Parsed gate specs with unique names, plus one regression-only gate per regression rule."""
    return unique_names([*(parse_gate(spec) for spec in gates), *(regression_gate(rule) for rule in regression)])
