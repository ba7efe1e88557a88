"""The terminal summary: one table per suite and model, then the release verdict."""

from __future__ import annotations

from typing import Any


def summary_lines(case_rows: list[dict[str, Any]], gate_rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, bool]]]:
    from llmeval.reporting.session import group_means

    out: list[tuple[str, dict[str, bool]]] = []
    for (suite, label), g in group_means(case_rows).items():
        failed = g["rows"] - g["passed"] - g["errors"]
        head = f"{suite} on {label}: {g['rows']} outputs, {g['passed']} passed, {failed} failed, {g['errors']} errors"
        out.append((head, {"bold": True}))
        means = "  ".join(f"{name} {value:.3g}" for name, value in g["means"].items())
        if means:
            out.append((f"  mean  {means}", {}))
    if gate_rows:
        ok = all(g["passed"] for g in gate_rows)
        out.append(("", {}))
        out.append((f"release verdict: {'PASS' if ok else 'FAIL'}", {"bold": True, "green": ok, "red": not ok}))
        for g in gate_rows:
            mark = "PASS" if g["passed"] else "FAIL"
            out.append(
                (
                    f"  {mark}  {g['suite']}::{g['gate']}[{g['model_label']}]  {g['message']}",
                    {"green": g["passed"], "red": not g["passed"]},
                )
            )
        regressions = [g for g in gate_rows if (g.get("baseline") or {}).get("regressed")]
        for g in regressions:
            out.append((f"  REGRESSION  {g['suite']}::{g['gate']}: {g['baseline'].get('message', '')}", {"red": True}))
    return out
