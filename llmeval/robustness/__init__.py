"""Robustness: prompt perturbations (hypothesis strategies), metamorphic relations, batched shrinking, probes."""

from __future__ import annotations

from llmeval.robustness.perturb import KINDS, Edit, Perturbed, applicable, apply, draw_edits

__all__ = ["KINDS", "Edit", "Perturbed", "applicable", "apply", "draw_edits"]
