"""The `worst_group` gate kind: the pass rate of the worst-served group, e.g.
``{metric: contains, worst_group: ">= 0.7", by: region}``: every region's pass rate must be shown >= 0.7.

Each group's rate gets an exact (Clopper–Pearson) interval; with K groups each is at confidence 1 - (1 - ci)/K
(Bonferroni), so all K hold at once with probability >= ci. A `>=` gate passes when the lowest group's lower bound
clears the threshold (no group is shown below it only by luck of the draw); `<=` reads the highest upper bound.
Without `ci` the point rates decide. Errored outputs count as failures, as for pass_rate.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmeval.gate import bounds
from llmeval.gate import rows as R
from llmeval.gate.spec import GateSpec
from llmeval.gate.statgate import Decision
from llmeval.records import GroupStat
from llmeval.scorers.base import Scale


def decide(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    assert g.condition is not None
    groups: dict[str, list[int]] = {}
    for row in rows:
        variables = row.get("vars") or {}
        if any(k not in variables for k in g.by_keys):
            continue
        score = R.score_of(row, g.metric)
        if score is None and not R.is_error(row):
            continue
        name = "+".join(str(variables[k]) for k in g.by_keys)
        groups.setdefault(name, []).append(int(not R.is_error(row) and bool(score and score.get("passed"))))
    if not groups:
        return Decision(False, f"no output has '{g.by}' and a {g.metric} score", reason="no evidence", n=0)
    level = 1 - (1 - g.ci) / len(groups) if g.ci else None
    stats, judged = {}, {}
    for name, hits in sorted(groups.items()):
        rate = sum(hits) / len(hits)
        interval = None
        if level is not None:
            exact = bounds.exact_rate(sum(hits), len(hits), 2 * level - 1)  # a one-sided level per group
            interval = (exact.low, exact.high)
        stats[name] = GroupStat(value=rate, interval=interval, n=len(hits), units=len(hits))
        judged[name] = rate if interval is None else (interval[0] if g.condition.op.startswith(">") else interval[1])
    pick = min if g.condition.op.startswith(">") else max
    worst = pick(judged, key=lambda name: judged[name])
    passed = g.condition.check(judged[worst])
    shown = "" if level is None else f" ({'lower' if pick is min else 'upper'} bound {judged[worst]:.4g})"
    verb = "meets" if passed else "misses"
    message = f"worst group {worst}: pass rate {stats[worst].value:.4g}{shown} {verb} {g.condition} over {len(groups)} groups"
    n = sum(len(h) for h in groups.values())
    method = "exact binomial, Bonferroni" if level else "point"
    bound = judged[worst] if level else None
    return Decision(passed, message, value=stats[worst].value, bound=bound, method=method, n=n, units=n, extra={"groups": stats})
