"""Model comparison: means with intervals, paired deltas, win/tie/loss and the cases that differ most."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate import stats
from llmeval.gate.units import scale_for
from llmeval.reporting.safe import display_line

TOP = 10
TIE = 1e-9


def _by_case(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(suite, case) -> the case summary (mean over samples), with the first sample's output."""
    outputs: dict[tuple[str, str], str] = {}
    for row in R.case_rows(rows):
        outputs.setdefault((str(row.get("suite")), str(row.get("case"))), str(row.get("output") or ""))
    summaries = {}
    for entry in R.summarize_cases(rows):
        key = (entry["suite"], entry["case"])
        summaries[key] = {**entry, "output": outputs.get(key, "")}
    return summaries


def _means(label: str, cases: Mapping[tuple[str, str], Mapping[str, Any]], metric: str) -> dict[str, Any] | None:
    scored = [c["scores"][metric] for c in cases.values() if metric in c["scores"]]
    if not scored:
        return None
    values = [[float(s["value"])] for s in scored]
    return {
        "label": label,
        "metric": metric,
        "n": len(scored),
        "mean": sum(v[0] for v in values) / len(values),
        "interval": list(stats.bootstrap_interval(values, "mean")),
        "pass_rate": sum(float(s["passed"]) for s in scored) / len(scored),
    }


def _pair(a: str, b: str, metric: str, ca: Mapping[Any, Any], cb: Mapping[Any, Any]) -> dict[str, Any] | None:
    keys = sorted(k for k in set(ca) & set(cb) if metric in ca[k]["scores"] and metric in cb[k]["scores"])
    if not keys:
        return None
    va = [float(ca[k]["scores"][metric]["value"]) for k in keys]
    vb = [float(cb[k]["scores"][metric]["value"]) for k in keys]
    lower = scale_for(metric, {}, None).better == "lower"  # declared by the scorer (higher when it declares none)
    test = stats.paired_test(va, vb)
    sign = -1 if lower else 1
    b_better = sum(1 for x, y in zip(va, vb, strict=True) if sign * (y - x) > TIE)
    a_better = sum(1 for x, y in zip(va, vb, strict=True) if sign * (x - y) > TIE)
    diffs = sorted(zip(keys, va, vb, strict=True), key=lambda t: -abs(t[2] - t[1]))
    top = [
        {
            "suite": k[0],
            "case": k[1],
            "a_value": x,
            "b_value": y,
            "delta": y - x,
            "a_output": ca[k]["output"],
            "b_output": cb[k]["output"],
        }
        for k, x, y in diffs[:TOP]
        if abs(y - x) > TIE
    ]
    return {
        "a": a,
        "b": b,
        "metric": metric,
        "n": test.n,
        "delta": test.delta,
        "interval": list(test.interval),
        "p_value": test.p_two_sided,
        "lower_is_better": lower,
        "a_wins": a_better,
        "b_wins": b_better,
        "ties": len(keys) - a_better - b_better,
        "only_a": len(set(ca) - set(cb)),
        "only_b": len(set(cb) - set(ca)),
        "top": top,
    }


def compare_runs(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Compare labelled runs (label -> case rows) metric by metric over their shared cases."""
    cases = {label: _by_case(rows) for label, rows in runs.items()}
    labels = list(runs)
    metrics = R.metrics_in(entry for per_label in cases.values() for entry in per_label.values())
    means = [m for label in labels for metric in metrics if (m := _means(label, cases[label], metric))]
    pairs = [
        p for a, b in itertools.combinations(labels, 2) for metric in metrics if (p := _pair(a, b, metric, cases[a], cases[b]))
    ]
    models = {label: sorted({str(r.get("model")) for r in R.case_rows(rows)}) for label, rows in runs.items()}
    return {"labels": labels, "models": models, "metrics": metrics, "means": means, "pairs": pairs}


def split_by_model(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Label -> rows for each model in one results file (label: model_label, else the spec)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in R.case_rows(rows):
        out.setdefault(str(row.get("model_label") or row.get("model")), []).append(row)
    return out


def p_value_note(pairs: Sequence[Mapping[str, Any]]) -> str:
    """What the `p` column is, printed under it: the test, its null, and the least p its smallest n can reach."""
    from llmeval.gate.stats import DEFAULT_RESAMPLES

    note = f'p: two-sided paired sign-flip test of "mean delta = 0" over the n shared cases ({DEFAULT_RESAMPLES} random flips).'
    sizes = sorted({int(p["n"]) for p in pairs if int(p["n"]) > 0})
    if not sizes:
        return note
    least = min(1.0, 2 / 2 ** sizes[0])
    return (
        f"{note} It cannot fall below 2/2^n: at n = {sizes[0]} the least p is {least:.3g}, so a few wins and "
        "no losses are no evidence yet; p < 0.05 needs n >= 6."
    )


def _cell(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "–"
    lo, hi = entry["interval"]
    return f"{entry['mean']:.4g} [{lo:.4g}, {hi:.4g}]"


def format_comparison(comparison: Mapping[str, Any], *, markdown: bool = True) -> str:
    """A markdown (or plain-text) rendering for terminals and pull-request comments."""
    labels = comparison["labels"]
    find = {(m["label"], m["metric"]): m for m in comparison["means"]}
    rows = [["metric", *labels]] + [
        [metric, *(_cell(find.get((lb, metric))) for lb in labels)] for metric in comparison["metrics"]
    ]
    head = "## " if markdown else ""
    out = [f"{head}Means (95% interval)", *_table(rows, markdown), "", f"{head}Pairwise (delta = b - a, paired bootstrap)"]
    pair_rows = [["a", "b", "metric", "n", "delta", "95% interval", "p", "a wins", "ties", "b wins"]]
    for p in comparison["pairs"]:
        lo, hi = p["interval"]
        pair_rows.append(
            [
                p["a"],
                p["b"],
                p["metric"],
                str(p["n"]),
                f"{p['delta']:+.4g}",
                f"{lo:+.4g} .. {hi:+.4g}",
                f"{p['p_value']:.3g}",
                str(p["a_wins"]),
                str(p["ties"]),
                str(p["b_wins"]),
            ]
        )
    out += _table(pair_rows, markdown)
    out += ["", p_value_note(comparison["pairs"]), "", f"{head}Cases that differ most"]
    diff_rows = [["a", "b", "metric", "case", "a", "b", "delta"]]
    for p in comparison["pairs"]:
        for t in p["top"][:3]:
            diff_rows.append(
                [
                    p["a"],
                    p["b"],
                    p["metric"],
                    f"{t['suite']}::{t['case']}",
                    f"{t['a_value']:.3g}",
                    f"{t['b_value']:.3g}",
                    f"{t['delta']:+.3g}",
                ]
            )
    out += _table(diff_rows, markdown)
    return "\n".join(out)


def _table(rows: list[list[str]], markdown: bool) -> list[str]:
    rows = [[display_line(c) for c in r] for r in rows]  # labels and case ids may carry control characters
    if markdown:
        cells = [[c.replace("|", "\\|") for c in r] for r in rows]
        return ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])] + [
            "| " + " | ".join(r) + " |" for r in cells[1:]
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render_compare_html(comparison: Mapping[str, Any], path: str | Path, *, title: str = "llmeval comparison") -> Path:
    """Write the comparison as one self-contained HTML file."""
    from markupsafe import Markup

    from llmeval.reporting import charts
    from llmeval.reporting.html import render_page

    svgs = []
    for metric in comparison["metrics"]:
        items = [(m["label"], m["mean"], tuple(m["interval"])) for m in comparison["means"] if m["metric"] == metric]
        svgs.append(Markup(charts.model_bars(items, title=f"{metric}: mean by model (95% interval)")))
    find = {(m["label"], m["metric"]): m for m in comparison["means"]}
    note = p_value_note(comparison["pairs"])
    return render_page("compare.html.j2", path, title=title, c=comparison, svgs=svgs, find=find, p_note=note)
