"""What the report shows first: the failing gates with their reasons, the regressions, the gates failing first.

The first screen of the page (1400 x 900) answers "can we ship?": the verdict, one line per failing gate and
one line per regression against the baseline. Everything longer sits below in collapsed sections.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.records import GateRecord, Verdict
from llmeval.reporting import charts

FIRST_SCREEN_GATES = 20  # failing gates listed on the first screen; the rest are a click away
FIRST_SCREEN_REGRESSIONS = 6
_ORDER = {"error": 0, "failed": 0, "skipped": 1, "passed": 2}
_CONDITION = re.compile(r"(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_RANGE = re.compile(r"\[\s*([-+]?(?:\d+\.?\d*|inf))\s*,\s*([-+]?(?:\d+\.?\d*|inf))\s*\]")


@dataclass(frozen=True)
class ReportSection:
    """A section added at the end of the report (a model card, say): a title and a body of markup.

    ``body`` must be a `markupsafe.Markup` the caller built with every untrusted value escaped (for example
    rendered by `llmeval.reporting.html.environment`); a plain string is refused, so text cannot slip in
    unescaped. ``id`` is the section's anchor; ``open`` shows it expanded.
    """

    title: str
    body: Any
    id: str = ""
    open: bool = False

    def __post_init__(self) -> None:
        from markupsafe import Markup

        if not isinstance(self.body, Markup):
            raise TypeError(
                f"ReportSection {self.title!r}: body is a {type(self.body).__name__}, not markupsafe.Markup; "
                "escape untrusted text and wrap the result: Markup(...) or markupsafe.escape(text)"
            )


def parse_threshold(text: str) -> charts.Threshold | None:
    """The first comparison in a gate's threshold text: ``">= 0.6"`` and ``"drop <= 0.02 (alpha 0.05)"`` alike."""
    match = _CONDITION.search(text or "")
    return (match[1], float(match[2])) if match else None


def parse_scale(text: str) -> tuple[float, float] | None:
    """A gate's scale as a finite range: ``"0/1"`` and ``"[0, 1], higher is better"``; None when unbounded."""
    if (text or "").startswith("0/1"):
        return 0.0, 1.0
    match = _RANGE.search(text or "")
    if not match:
        return None
    lo, hi = float(match[1]), float(match[2])
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and hi > lo else None


def badge(g: GateRecord) -> str:
    return {"passed": "PASS", "skipped": "SKIP"}.get(g.status, "FAIL")


def where(g: GateRecord) -> str:
    return f"{g.suite}::{g.gate} [{g.label}]"


def gate_views(gates: Sequence[GateRecord]) -> list[dict[str, Any]]:
    """Every gate with its anchor, badge and chart: failing (and errored) first, then skipped, then passed."""
    from markupsafe import Markup

    ordered = sorted(enumerate(gates), key=lambda item: (_ORDER.get(item[1].status, 0), item[0]))
    views = []
    for index, g in ordered:
        scale = None if g.stat == "regression" else parse_scale(g.scale)  # a drop lives on its own scale, not the metric's
        chart = charts.gate_chart(
            g.value, g.interval, g.bound, parse_threshold(g.threshold), scale=scale, title=f"{where(g)}: {g.stat}"
        )
        views.append(
            {
                "g": g,
                "id": f"gate-{index}",
                "badge": badge(g),
                "failing": badge(g) == "FAIL",
                "where": where(g),
                "reason": g.reason or g.message,
                "chart": Markup(chart),
                "group_chart": group_chart(g) if g.groups else "",
            }
        )
    return views


def group_chart(g: GateRecord) -> Any:
    """A bar per group (its outcome) with the group's simultaneous interval as a whisker and its units as n."""
    from markupsafe import Markup

    groups = (g.groups or {}).items()
    items = [(str(name), float(e.value), e.interval) for name, e in groups if e.value is not None]
    counts = [e.units or e.n for _, e in groups if e.value is not None]
    return Markup(charts.model_bars(items, title=f"{g.metric} by group", counts=counts, unit=f"{g.metric} per group"))


def _line(text: str, href: str) -> dict[str, str]:
    return {"text": text, "href": href}


def regressions(verdict: Verdict, diff: Mapping[str, Any] | None) -> dict[str, Any]:
    """One line per regression against the baseline: significant metric drops, gates that passed there and fail now,
    and the cases that went from pass to fail; with a one-line summary when there is none."""
    lines = [_line(f"{r.suite} [{r.model}] {r.message}", "#baseline-section") for r in verdict.regressions]
    for change in (diff or {}).get("gates", []):
        if change.get("baseline_passed") and not change.get("current_passed"):
            was, now = charts.fmt_or_dash(change.get("baseline_value")), charts.fmt_or_dash(change.get("current_value"))
            where_ = f"{change.get('suite')}::{change.get('gate')} [{change.get('model')}]"
            lines.append(_line(f"{where_}: passed in the baseline, fails now (value {was} → {now})", "#gates-heading"))
    cases = [c for c in (diff or {}).get("cases", []) if c.get("change") == "regressed"]
    flips = [c for c in cases if c.get("flip") == "pass->fail"]
    if flips:
        names = ", ".join(f"{c['suite']}::{c['case']}" for c in flips[:3]) + (", …" if len(flips) > 3 else "")
        lines.append(_line(f"{len(flips)} case results went from pass to fail: {names}", "#diff-regressed"))
    metrics = len((diff or {}).get("metrics", []))
    if diff is None:
        summary = "No baseline was given, so nothing was compared (pytest --llmeval-baseline FILE)."
    elif not lines:
        lowered = f"; {len(cases)} case scores are lower but none went from pass to fail" if cases else ""
        summary = f"None: {metrics} metrics compared with the baseline, no significant drop{lowered}."
    else:
        summary = f"{metrics} metrics compared with the baseline"
    return {"lines": lines, "summary": summary, "shown": FIRST_SCREEN_REGRESSIONS}
