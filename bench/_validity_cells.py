"""The gate kinds bench/validity.py measures: each gate's spec (as a suite writes it), its three truths and designs.

Truths, in the metric's own terms: a bad app exactly at the limit (the worst case of a bad app: the pass
rate of a gate is continuous in the truth, so an app just over the limit passes as often), a clearly bad app,
and a good app clearly inside. Regression gates take the true drop, fairness gates the population disparity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from _validity_fair import decision_rows, value_rows
from _validity_sim import (
    Design,
    Run,
    beta_rows,
    binary_rows,
    judge_pairwise_rows,
    judge_rating_rows,
    logit_normal_rows,
    regression_mean_rows,
    regression_pass_rows,
)

Simulate = Callable[[float, int, Design, np.random.Generator], Run]
INDEPENDENT = Design("independent")
REPEATS = Design("repeats x5", 5)
NAMES_1 = Design("1 name/group")
NAMES_4 = Design("4 names/group", 4)
TEMPLATES = Design("templates x6", 6)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Kind:
    """One gate kind: its spec, its truths (at the limit, clearly bad, good) and the designs it is measured on."""

    name: str
    spec: dict[str, Any]
    truths: tuple[float, float, float]
    designs: tuple[Design, ...]
    simulate: Simulate
    guards: str = "false_pass"  # the error rate the gate bounds: false_pass (shown_within) or false_alarm (not_shown_beyond)


def _fair(stat: str, bound: dict[str, Any], truths: tuple[float, float, float], *, ci: bool = True, flag: bool = False) -> Kind:
    spec = {"metric": "decision", "of": "value", "by": "group.ethnicity", "fairlearn": stat, **bound}
    if flag:
        spec["require"] = "not_shown_beyond"
    if stat.startswith("equalized_odds"):
        spec["y_true"] = "repaid"
    if stat in ("difference", "ratio"):
        spec["metric"] = "helpfulness"
    if ci:
        spec["ci"] = CONFIDENCE
    simulate = value_rows if stat in ("difference", "ratio") else decision_rows
    name = stat.replace("demographic_parity", "dp").replace("equalized_odds", "eo") + ("" if ci else " (no ci)")
    name += " not_shown_beyond" if flag else ""
    guards = "false_alarm" if flag else "false_pass"
    return Kind(name, spec, truths, (NAMES_1, NAMES_4), functools.partial(simulate, stat), guards)


def _stat(name: str, spec: dict[str, Any], truths: tuple[float, float, float], simulate: Simulate) -> Kind:
    return Kind(name, {**spec, "ci": CONFIDENCE}, truths, (INDEPENDENT, REPEATS), simulate)


def _paired(simulate: Callable[[str, float, int, np.random.Generator], Run], metric: str) -> Simulate:
    return lambda truth, n, design, rng: simulate(metric, truth, n, rng)


KINDS: tuple[Kind, ...] = (
    _stat("pass_rate", {"metric": "answer", "pass_rate": ">= 0.8"}, (0.8, 0.6, 0.97), functools.partial(binary_rows, "answer")),
    _stat("mean (0/1)", {"metric": "contains", "mean": ">= 0.8"}, (0.8, 0.6, 0.97), functools.partial(binary_rows, "contains")),
    _stat("mean (Beta)", {"metric": "rougeL", "mean": ">= 0.6"}, (0.6, 0.45, 0.75), functools.partial(beta_rows, "rougeL")),
    _stat("median", {"metric": "rougeL", "median": ">= 0.6"}, (0.6, 0.45, 0.75), functools.partial(logit_normal_rows, "rougeL")),
    Kind(
        "regression (mean)",
        {"metric": "rougeL", "regression": {"max_drop": 0.05, "alpha": 0.05}},
        (0.05, 0.15, 0.0),
        (INDEPENDENT,),
        _paired(regression_mean_rows, "rougeL"),
        "false_alarm",
    ),
    Kind(
        "regression (pass_rate)",
        {"metric": "answer", "regression": {"max_drop": 0.05, "alpha": 0.05, "stat": "pass_rate"}},
        (0.05, 0.15, 0.0),
        (INDEPENDENT,),
        _paired(regression_pass_rows, "answer"),
        "false_alarm",
    ),
    Kind(
        "regression (mean) shown_within",
        {"metric": "rougeL", "regression": {"max_drop": 0.05, "alpha": 0.025, "require": "shown_within"}},
        (0.05, 0.15, 0.0),
        (INDEPENDENT,),
        _paired(regression_mean_rows, "rougeL"),
    ),
    Kind(
        "regression (pass_rate) shown_within",
        {"metric": "answer", "regression": {"max_drop": 0.05, "alpha": 0.025, "stat": "pass_rate", "require": "shown_within"}},
        (0.05, 0.15, 0.0),
        (INDEPENDENT,),
        _paired(regression_pass_rows, "answer"),
    ),
    _fair("demographic_parity_difference", {"max": 0.1}, (0.1, 0.25, 0.0)),
    _fair("demographic_parity_difference", {"max": 0.1}, (0.1, 0.25, 0.0), flag=True),
    _fair("demographic_parity_ratio", {"min": 0.8}, (0.8, 0.6, 1.0)),
    _fair("demographic_parity_ratio", {"min": 0.8}, (0.8, 0.6, 1.0), ci=False),
    _fair("equalized_odds_difference", {"max": 0.1}, (0.1, 0.25, 0.0)),
    _fair("equalized_odds_ratio", {"min": 0.8}, (0.8, 0.6, 1.0)),
    _fair("difference", {"max": 0.1}, (0.1, 0.25, 0.0)),
    _fair("ratio", {"min": 0.8}, (0.8, 0.6, 1.0)),
    Kind(
        "consistency",
        {"metric": "decision", "consistency": ">= 0.85", "ci": CONFIDENCE},
        (0.85, 0.7, 0.98),
        (NAMES_1, NAMES_4),
        functools.partial(decision_rows, "consistency"),
    ),
    Kind(
        "leak_rate",
        {"metric": "no_leak", "leak_rate": "<= 0.1", "ci": CONFIDENCE, "cluster": "template"},
        (0.1, 0.25, 0.01),
        (INDEPENDENT, TEMPLATES),
        functools.partial(binary_rows, "no_leak", leak=True),
    ),
    Kind(
        "judge rating",
        {"metric": "judge", "mean": ">= 0.7", "ci": CONFIDENCE},
        (0.7, 0.5, 0.85),
        (Design("honest judge"), Design("lenient judge +0.5")),
        judge_rating_rows,
    ),
    Kind(
        "judge pairwise",
        {"metric": "judge", "mean": ">= 0.4", "ci": CONFIDENCE},
        (0.4, 0.1, 0.7),
        (Design("honest judge, 10% errors"), Design("position-biased judge")),
        judge_pairwise_rows,
    ),
)
TRUTHS = ("at limit", "bad", "good")


def kind(name: str) -> Kind:
    for k in KINDS:
        if k.name == name:
            return k
    raise ValueError(f"unknown gate kind {name!r}; choose from: {', '.join(k.name for k in KINDS)}")


def design(k: Kind, label: str) -> Design:
    for d in k.designs:
        if d.label == label:
            return d
    raise ValueError(f"gate kind {k.name!r} has no design {label!r}; it has: {', '.join(d.label for d in k.designs)}")
