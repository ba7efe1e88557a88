"""Robustness: prompt perturbations (hypothesis strategies), metamorphic relations, batched shrinking, probes."""

from __future__ import annotations

from llmeval.robustness.perturb import KINDS, TYPO_KINDS, Edit, Perturbed, applicable, apply, draw_edits

__all__ = ["KINDS", "TYPO_KINDS", "Edit", "Perturbed", "applicable", "apply", "draw_edits"]
