"""The offline `hallucination` scorer measured per dataset, beside a 15-line baseline and the published detectors.

Data (read in place, never copied; see bench/_halluc_data.py): FRANK valid (CNN/DM and XSum/BBC halves), FaithBench
dev, our faithful paraphrases and our synthetic set. Per dataset: AUROC of the scorer's `mean_claim_score`, the
balanced accuracy and false alarms of its default verdict (`hallucination: {}`: no claim above the default
`claim_threshold`), items/s on CPU, and the anchors on the same items. `--calibrate` fits the weights on FRANK
CNN/DM only and picks the claim threshold for <= 5% false alarms on our faithful paraphrases; the transfer table fits the
same two features on each dataset in turn and reports AUROC on the others.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/hallucination_bench.py [--calibrate] [--no-write]
(token embeddings are kept under .bench-cache/hallucination/; the items/s column re-encodes a sample uncached)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import _halluc_data as D  # noqa: E402
import _halluc_report as R  # noqa: E402
from _halluc_cache import CachedPool  # noqa: E402

from llmeval.engine.pool import ModelPool  # noqa: E402
from llmeval.hallucination import alignment as A  # noqa: E402
from llmeval.hallucination import grounding as G  # noqa: E402
from llmeval.scorers.base import Sample, build  # noqa: E402
from llmeval.scorers.context import ScoringContext  # noqa: E402
from llmeval.scorers.similarity import default_model_path  # noqa: E402

TUNE = "FRANK CNN/DM"
DEMO_JUDGE = "fixtures/models/support-tiny"
FALSE_ALARMS = 0.05
SPEED_SAMPLE = 40


def datasets() -> dict[str, list[D.Item]]:
    sets: dict[str, list[D.Item]] = dict(D.frank())
    fb = D.faithbench()
    if fb is not None:
        sets["FaithBench dev"] = fb
    sets["own paraphrases (faithful)"] = D.paraphrases()
    sets["own synthetic set"] = D.own()
    return sets


def scores(items: list[D.Item], pool: ModelPool) -> tuple[np.ndarray, np.ndarray]:
    """The scorer as a user runs it (`hallucination: {}`, context = source): (mean claim score, flagged) per item."""
    scorer = build("hallucination", {"source": "context"})
    found = scorer.score([Sample(i.output, context=(i.source,)) for i in items], ScoringContext(pool, _no_judge))
    return np.array([s.metadata["mean_claim_score"] for s in found]), np.array([not s.passed for s in found])


def _no_judge(spec: str, requests: object) -> list:
    raise RuntimeError("the offline bench asks no judge")


def baseline(items: list[D.Item], pool: ModelPool) -> np.ndarray:
    """The 15-line baseline: 1 - mean over output tokens of the best cosine to a source token (BERTScore-P, MiniLM)."""
    tokens = A.encode([t for i in items for t in (i.output, i.source)], pool, default_model_path())
    return np.array([1 - A.align(tokens[2 * k], tokens[2 * k + 1])[0].mean() for k in range(len(items))])


def item_features(items: list[D.Item], pool: ModelPool) -> np.ndarray:
    """The detector's two features over each whole output (one claim): what `--calibrate` and the transfer fit on."""
    found = G.check([([i.output], i.source) for i in items], pool, default_model_path())
    return np.array([checks[0].features for checks in found])


def items_per_second(items: list[D.Item], device: str = "cpu") -> float:
    """The default scorer on a sample of the dataset, on a fresh pool (nothing cached; on CPU one torch thread)."""
    sample = items[:: max(len(items) // SPEED_SAMPLE, 1)][:SPEED_SAMPLE]
    pool = ModelPool(threads=1, device=device)
    pool.token_embed(default_model_path(), ["warm-up"])
    started = time.perf_counter()
    scores(sample, pool)
    return len(sample) / (time.perf_counter() - started)


def calibrate(sets: dict[str, list[D.Item]], pool: ModelPool) -> None:
    """Weights: logistic regression on FRANK CNN/DM; threshold: <= 5% false alarms on our faithful paraphrases."""
    from sklearn.linear_model import LogisticRegression

    items = sets[TUNE]
    fit = LogisticRegression(C=10).fit(item_features(items, pool), [i.label for i in items])
    print("WEIGHTS =", tuple(round(float(w), 3) for w in [fit.intercept_[0], *fit.coef_[0]]))
    faithful = sets["own paraphrases (faithful)"]
    scorer = build("hallucination", {"source": "context"})
    found = scorer.score([Sample(i.output, context=(i.source,)) for i in faithful], ScoringContext(pool, _no_judge))
    worst = np.array([s.metadata["max_claim_score"] for s in found])
    cut = math.ceil(threshold_for(worst, FALSE_ALARMS) * 1e4) / 1e4  # rounded up: printed = in effect
    print(f"CLAIM_THRESHOLD = {cut:.4f}  (with the weights above in place)")


def threshold_for(worst: np.ndarray, rate: float) -> float:
    """The lowest cut (a claim is unsupported above it) that flags at most `rate` of these faithful items."""
    return float(min(c for c in np.unique(np.concatenate([worst, [1.0]])) if (worst > c).mean() <= rate))


def measure(sets: dict[str, list[D.Item]], pool: ModelPool) -> list[dict]:
    rows = []
    for name, items in sets.items():
        risk, flagged = scores(items, pool)
        y = np.array([i.label for i in items])
        row = {
            "data": name,
            "n": len(items),
            "halluc": y.mean(),
            "flag": flagged,
            "y": y,
            "risk": risk,
            "base": baseline(items, pool),
            "items_s": items_per_second(items),
            "items": items,
            "gpu_items_s": items_per_second(items, "cuda") if _cuda() else None,
        }
        rows.append(row)
        print(f"{name}: measured", flush=True)
    return rows


def judge_plumbing(items: list[D.Item], n: int = 40) -> str:
    """`method: judge` with the demo model as judge (constrained to the verdict format): the plumbing, not accuracy."""
    from llmeval.scorers.context import default_context

    sample = items[::7][:n]
    scorer = build("hallucination", {"method": "judge", "model": f"hf:{DEMO_JUDGE}", "source": "context"})
    started = time.perf_counter()
    found = scorer.score([Sample(i.output, context=(i.source,)) for i in sample], default_context(root=HERE.parent, threads=1))
    seconds = time.perf_counter() - started
    y, flagged = np.array([i.label for i in sample]), np.array([not s.passed for s in found])
    return (
        f"`method: judge` with the demo model (`hf:{DEMO_JUDGE}`, ~1M parameters, guided decoding) on {len(sample)} items "
        f"of our synthetic set: {len(found)} scored, none in error, {len(sample) / seconds:.1f} items/s, balanced accuracy "
        f"{R.balanced(y, flagged):.1%} (a model this small judges at chance: this shows the plumbing only)."
    )


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def transfer(sets: dict[str, list[D.Item]], pool: ModelPool) -> dict[str, dict[str, float]]:
    """The two features fitted (logistic regression) on each labeled dataset in turn, AUROC on every dataset."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    labeled = {k: v for k, v in sets.items() if k.startswith(("FRANK", "FaithBench"))}
    feats = {k: item_features(v, pool) for k, v in labeled.items()}
    out: dict[str, dict[str, float]] = {}
    for tune, items in labeled.items():
        fit = LogisticRegression(C=10).fit(feats[tune], [i.label for i in items])
        out[tune] = {k: float(roc_auc_score([i.label for i in v], fit.decision_function(feats[k]))) for k, v in labeled.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    pool = CachedPool(threads=1)
    sets = datasets()
    if args.calibrate:
        calibrate(sets, pool) if TUNE in sets else print(f"FRANK data absent ({D.FRANK}): cannot calibrate")
        return
    text = R.report(measure(sets, pool), transfer(sets, pool))
    if (HERE.parent / DEMO_JUDGE).exists():
        text += "\n\n" + judge_plumbing(sets["own synthetic set"])
    print(text)
    if not args.no_write:
        R.write_section(text)


if __name__ == "__main__":
    main()
