"""Bootstrap intervals of group disparities, resampling whole clusters (counterfactual sets or cases).

The point values come from fairlearn (llmeval.gate.fairness); refitting a MetricFrame 2,000 times would
take seconds per gate, so the resampled disparities are computed here in one vectorised pass: per
cluster and group the sum and count of outcomes, weighted by how often each cluster was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _disparity(stat: str, sums: Any, counts: Any) -> Any:
    """Disparity along the last axis (groups) of per-group means; groups with no rows are left out."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
        high, low = np.nanmax(means, axis=-1), np.nanmin(means, axis=-1)
        if stat.endswith("ratio"):
            return np.where(high > 0, low / np.where(high > 0, high, 1), np.nan)
        return high - low


def disparity_of(stat: str, tables: Sequence[tuple[Any, Any]]) -> Any:
    """The gate's disparity from (sums, counts) tables: one table for parity and means, two (TPR, FPR) for odds."""
    import numpy as np

    values = [_disparity(stat, s, c) for s, c in tables]
    if len(values) == 1:
        return values[0]
    stacked = np.stack(values)
    return np.nanmin(stacked, axis=0) if stat.endswith("ratio") else np.nanmax(stacked, axis=0)


def cluster_tables(
    clusters: Sequence[int], groups: Sequence[int], values: Sequence[float], mask: Sequence[bool], shape: tuple[int, int]
) -> tuple[Any, Any]:
    """Per (cluster, group) sum and count of the values where ``mask`` holds."""
    import numpy as np

    sums, counts = np.zeros(shape), np.zeros(shape)
    c, g, m = np.asarray(clusters), np.asarray(groups), np.asarray(mask, dtype=bool)
    np.add.at(sums, (c[m], g[m]), np.asarray(values, dtype=float)[m])
    np.add.at(counts, (c[m], g[m]), 1.0)
    return sums, counts


def bootstrap_disparity(
    stat: str, tables: Sequence[tuple[Any, Any]], *, confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile interval of the disparity over ``resamples`` draws of whole clusters (rows of the tables)."""
    import numpy as np

    n_clusters = tables[0][0].shape[0]
    if n_clusters == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_clusters, size=(resamples, n_clusters))
    weights = np.zeros((resamples, n_clusters))
    np.add.at(weights, (np.arange(resamples)[:, None], picks), 1.0)
    drawn = disparity_of(stat, [(weights @ s, weights @ c) for s, c in tables])
    alpha = (1 - confidence) / 2
    lo, hi = np.nanquantile(drawn, [alpha, 1 - alpha])
    return (float(lo), float(hi))
