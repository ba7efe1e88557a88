"""Hallucination detectors, measured: balanced accuracy (threshold chosen on the tune split only) and AUROC.

Data: FaithBench dev (../shared/data/hallucination, batches b1-b4 tune, b5-b8 report; CC BY-NC-SA 4.0, read
in place) and our own seeded set (fixtures/hallucination/labeled.jsonl, even-numbered sources tune, odd report).
`--calibrate` refits the grounding weights (sign-constrained logistic regression on claims of both tune
splits) and prints them for llmeval/hallucination/grounding.py.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/hallucination_bench.py [--calibrate] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import _halluc_data as D  # noqa: E402

from llmeval.engine.pool import ModelPool  # noqa: E402
from llmeval.hallucination import grounding as G  # noqa: E402
from llmeval.hallucination import text as T  # noqa: E402
from llmeval.scorers.similarity import default_model_path  # noqa: E402

COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python bench/hallucination_bench.py"
RESULTS = HERE / "RESULTS.md"
# Sign constraints of the combination: support lowers the hallucination score, new words and negation flips raise it.
BOUNDS = [(None, None), (None, 0), (0, None), (None, 0), (None, 0), (None, 0), (0, None), (None, 0)]


def checks_for(items: list[D.Item], pool: ModelPool) -> tuple[list[list[G.ClaimCheck]], float]:
    started = time.perf_counter()
    found = G.check([(T.claims(i.output), i.source) for i in items], pool, default_model_path())
    return found, time.perf_counter() - started


def own_split(items: list[D.Item]) -> tuple[list[D.Item], list[D.Item]]:
    tune = [i for i in items if int(i.id.split("-")[1]) % 2 == 0]
    return tune, [i for i in items if int(i.id.split("-")[1]) % 2 == 1]


def calibrate(pool: ModelPool) -> list[float]:
    """Sign-constrained logistic regression (L2, C=1) over claim features of both tune splits."""
    from scipy.optimize import minimize

    rows, labels = [], []
    sets = [own_split(D.own())[0]] + ([fb[0]] if (fb := D.faithbench()) else [])
    for items in sets:
        found, _ = checks_for(items, pool)
        for item, checks in zip(items, found, strict=True):
            claim_y = D.claim_labels(item, [c.claim for c in checks]) if item.kind == "faithbench" else [item.label] * len(checks)
            rows += [c.features for c in checks]
            labels += claim_y
    X = np.hstack([np.ones((len(rows), 1)), np.array(rows)])
    y = np.array(labels, dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-(X @ w)))
        eps = 1e-9
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + 0.5 * np.sum(w[1:] ** 2) / len(y)
        grad = X.T @ (p - y) / len(y) + np.concatenate([[0], w[1:]]) / len(y)
        return float(value), grad

    fit = minimize(loss, np.zeros(X.shape[1]), jac=True, bounds=BOUNDS, method="L-BFGS-B")
    return [round(float(w), 3) for w in fit.x]


def item_scores(found: list[list[G.ClaimCheck]]) -> np.ndarray:
    """The detector's score per item: the highest claim score (0 for an output without claims)."""
    return np.array([max((c.score for c in checks), default=0.0) for checks in found])


def threshold_on(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut (score >= cut = hallucinated) that maximises balanced accuracy on the given (tune) data."""
    cuts = np.unique(np.concatenate([scores, [0.0, 1.0]]))
    return float(max(cuts, key=lambda c: balanced_accuracy(labels, scores >= c)))


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(labels, predicted))


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def evaluate(name: str, tune: list[D.Item], report: list[D.Item], pool: ModelPool) -> dict:
    (tune_found, _), (report_found, seconds) = checks_for(tune, pool), checks_for(report, pool)
    y_tune, y_report = np.array([i.label for i in tune]), np.array([i.label for i in report])
    cut = threshold_on(item_scores(tune_found), y_tune)
    s_report = item_scores(report_found)
    y_score = s_report >= cut
    return {
        "data": name, "tune": len(tune), "report": len(report), "cut": cut, "ba": balanced_accuracy(y_report, y_score),
        "auroc": auroc(y_report, s_report), "items_s": len(report) / seconds, "per_kind": per_kind(report, y_score),
    }  # fmt: skip


def per_kind(items: list[D.Item], flagged: np.ndarray) -> dict[str, float]:
    kinds: dict[str, list[bool]] = {}
    for item, flag in zip(items, flagged, strict=True):
        kinds.setdefault(item.kind, []).append(bool(flag) == bool(item.label))
    return {k: sum(v) / len(v) for k, v in sorted(kinds.items())}


def published(report: list[D.Item]) -> dict[str, float]:
    """FaithBench's published detectors on the same report split (score >= 0.5 = consistent)."""
    y = np.array([i.label for i in report])
    names = sorted({k for i in report for k, _ in i.published})
    out = {}
    for name in names:
        preds = np.array([next((v for k, v in i.published if k == name), 1.0) < 0.5 for i in report])
        out[name] = balanced_accuracy(y, preds)
    return out


def table(results: list[dict], baselines: dict[str, float]) -> str:
    lines = ["| data (report split) | items | BA | AUROC | cut (from tune) | items/s |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['data']} | {r['report']} | {r['ba']:.1%} | {r['auroc']:.3f} | {r['cut']:.3f} | {r['items_s']:.1f} |")
    for name, ba in baselines.items():
        lines.append(f"| FaithBench b5-b8, published `{name}` | | {ba:.1%} | | | |")
    kinds = next((r["per_kind"] for r in results if r["data"].startswith("own")), {})
    if kinds:
        lines.append("\nOwn set, accuracy per kind (report split): " + ", ".join(f"{k} {v:.0%}" for k, v in kinds.items()))
    return "\n".join(lines)


DEMO_SUITES = ("suites/grounded.yaml", "suites/rag.yaml", "suites/judge.yaml")


def demo_share() -> str:
    """Generation vs scoring time of the demo's hallucination and judge suites, cache off, one torch thread."""
    command = [sys.executable, "-m", "llmeval", "run", *DEMO_SUITES, "--cache", "off", "--threads", "1", "--results", os.devnull]
    run = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=False)
    out = run.stdout + run.stderr
    generated = sum(float(s) for s in re.findall(r"generated\) in ([\d.]+) s", out))
    scored = re.search(r"scored (\d+) outputs in ([\d.]+) s \(scorer models load ([\d.]+) s", out)
    if scored is None:
        return "demo suites: no timing found in the run's output"
    n, score_s, load_s = int(scored.group(1)), float(scored.group(2)), float(scored.group(3))
    return (f"Demo suites ({', '.join(DEMO_SUITES)}; `llmeval run ... --cache off --threads 1`): {n} outputs generated in "
            f"{generated:.2f} s, scored in {score_s:.2f} s ({score_s / max(generated, 1e-9):.0%} of generation; scorer models "
            f"load {load_s:.2f} s apart), {n / score_s:.0f} outputs/s scored.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    pool = ModelPool(threads=1)
    if args.calibrate:
        print("WEIGHTS =", tuple(calibrate(pool)))
        return
    results = [evaluate("own set (fixtures/hallucination)", *own_split(D.own()), pool)]
    fb = D.faithbench()
    baselines: dict[str, float] = {}
    if fb is None:
        print(f"FaithBench data absent ({D.FAITHBENCH}): measuring our own set only")
    else:
        results.append(evaluate("FaithBench dev b5-b8", *fb, pool))
        baselines = published(fb[1])
    text = table(results, baselines) + "\n\n" + demo_share()
    print(text)
    if not args.no_write:
        write_section(text)


CAVEATS = """Caveats. The own set is synthetic (five templates, one error per item; tune and report come from the same
generator), so it checks the detector's mechanics (numbers, dates, entities, negation), not its accuracy on real
summaries; unsupported additions without a new name, number or date are its weak spot. FaithBench keeps only
summaries its detectors disagreed on, so everything scores near chance there; the published detectors' rows are
their predictions on the same b5-b8 items (FaithBench's `detectors` field, >= 0.5 = consistent). Public anchors on
other data, not measured here: HHEM-2.1-Open 76.6% and GPT-4 as judge 73.8% balanced accuracy on AggreFact-SOTA.
Claim scores above 0.5 count as unsupported in the scorer; the bench's cut is on the highest claim score per item.
Data folder: ../shared/data/hallucination, or LLMEVAL_HALLUCINATION_DATA; absent, only the own set is measured."""


def write_section(text: str) -> None:
    start, end = "<!-- hallucination:start -->", "<!-- hallucination:end -->"
    body = (f"{start}\n## Hallucination (grounding, offline)\n\nCommand: `{COMMAND}` (one torch thread, 2-core CPU shared)\n\n"
            f"Tuned (weights, threshold) on FaithBench b1-b4 and our even-numbered sources; reported on the rest. "
            f"FaithBench: vectara/FaithBench (NAACL 2025), CC BY-NC-SA 4.0, read in place.\n\n"
            f"{text}\n\n{CAVEATS}\n{end}")  # fmt: skip
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if start in current:
        head, rest = current.split(start, 1)
        current = head + body + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + body + "\n"
    RESULTS.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
