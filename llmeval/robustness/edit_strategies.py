"""Perturbations as hypothesis strategies: composable, shrinking towards fewer and simpler edits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.robustness.perturb import KINDS, TYPO_KINDS, Edit, applicable, apply


def edits(text: str, kinds: Sequence[str] = KINDS, *, min_edits: int = 1, max_edits: int = 3) -> Any:
    """Strategy: tuples of `Edit`s that change `text` (hypothesis shrinks to fewer edits, earlier kinds)."""
    from hypothesis import strategies as st

    usable = applicable(text, kinds)
    if not usable:
        raise ValueError(f"none of the kinds {list(kinds)} can change {text!r}")
    one = st.builds(Edit, st.sampled_from(usable), st.integers(0, 255), st.integers(0, 255))
    return st.lists(one, min_size=min_edits, max_size=max_edits).map(tuple)


def perturbations(text: str, kinds: Sequence[str] = KINDS, *, min_edits: int = 1, max_edits: int = 3) -> Any:
    """Strategy: `Perturbed` versions of `text`; `.text` is the new prompt, `.describe()` says what changed."""
    return edits(text, kinds, min_edits=min_edits, max_edits=max_edits).map(lambda e: apply(text, e))


def typos(text: str, *, max_edits: int = 2) -> Any:
    """Strategy: keyboard-neighbour swaps, deleted and doubled letters."""
    return perturbations(text, TYPO_KINDS, max_edits=max_edits)


def casing(text: str, *, max_edits: int = 2) -> Any:
    return perturbations(text, ("case",), max_edits=max_edits)


def noise(text: str, *, max_edits: int = 2) -> Any:
    """Strategy: whitespace and punctuation noise."""
    return perturbations(text, ("whitespace", "punctuation"), max_edits=max_edits)


def synonyms(text: str, *, max_edits: int = 2) -> Any:
    return perturbations(text, ("synonym",), max_edits=max_edits)


def distractors(text: str) -> Any:
    return perturbations(text, ("distractor",), max_edits=1)


def reordered_options(text: str) -> Any:
    return perturbations(text, ("reorder",), max_edits=1)


def lookalikes(text: str, *, max_edits: int = 2) -> Any:
    """Strategy: Unicode look-alike letters and zero-width characters."""
    return perturbations(text, ("homoglyph", "zero_width"), max_edits=max_edits)
