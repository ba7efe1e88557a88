"""How often the `judge` trust rule refuses a pairwise judge, by its true order-flip rate and the number of outputs.

Exact, not simulated: for each n, the real rule (`JudgeScorer.audit`) is asked about every count k = 0..n of
outputs whose two orders disagree (one vote each), and P(refused) sums the binomial probabilities of the
refused counts. A good judge refused is a false alarm (its suite's judge cases error); a bad judge kept is
false trust (its disagreeing outputs count as ties, so a bot it cannot judge gains up to half its flip rate).

Run: .venv/bin/python bench/judge_trust.py [--limit 0.2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = (1, 3, 10, 50, 200)
FLIP_RATES = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


def refused_counts(n: int, limit: float) -> list[int]:
    """The counts of disagreeing outputs (of n) for which the real rule refuses the judge."""
    from llmeval.scorers.base import Score, Threshold, build

    judge = build("judge", {"model": "python:unused:judge", "mode": "pairwise", "max_order_disagreement": limit})
    scores = [Score("judge", 0.5, Threshold(), True, metadata={"order_disagreement": 1.0}) for _ in range(n)]
    agree = Score("judge", 0.0, Threshold(), True, metadata={"order_disagreement": 0.0})
    return [k for k in range(n + 1) if judge.audit(scores[:k] + [agree] * (n - k)) is not None]  # type: ignore[attr-defined]


def p_refused(n: int, flip_rate: float, limit: float) -> float:
    from scipy.stats import binom

    return float(sum(binom.pmf(k, n, flip_rate) for k in refused_counts(n, limit)))


def table(limit: float) -> str:
    head = "| true flip rate | " + " | ".join(f"n = {n}" for n in SIZES) + " |"
    rows = [head, "|---" * (len(SIZES) + 1) + "|"]
    for rate in FLIP_RATES:
        cells = " | ".join(f"{p_refused(n, rate, limit):.3f}" for n in SIZES)
        rows.append(f"| {rate:.0%} | {cells} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=0.2, help="max_order_disagreement (default 0.2)")
    args = parser.parse_args()
    print(f"P(judge refused) by the judge's true order-flip rate and the outputs it scored; limit {args.limit:.0%}")
    print(table(args.limit))


if __name__ == "__main__":
    main()
