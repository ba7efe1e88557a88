"""The round shrinker: one oracle call per round for all perturbations together, minimal results, bounded rounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmeval.robustness import Edit, apply
from llmeval.robustness.shrink import shrink_all

Q = "Can I return this item today?"


def weak(text: str) -> bool:
    """The planted weakness: the relation holds only while the exact word 'return' is there."""
    return "return" in text.split()


class Oracle:
    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, batch):
        self.calls.append(len(batch))
        return [weak(apply(Q, edits).text) for _, edits in batch]


KINDS = ["typo_delete", "case", "whitespace", "typo_double"]
EDIT = st.builds(Edit, st.sampled_from(KINDS), st.integers(0, 9), st.integers(0, 9))


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.lists(EDIT, min_size=1, max_size=6), min_size=1, max_size=5))
def test_shrinks_every_failure_to_one_edit_in_at_most_edits_minus_one_rounds(drawn):
    failing = {i: tuple(e) for i, e in enumerate(drawn) if not weak(apply(Q, e).text)}
    oracle = Oracle()
    minimal, cost = shrink_all(failing, oracle, max_rounds=50)
    assert set(minimal) == set(failing)
    for edits in minimal.values():
        assert len(edits) == 1 and not weak(apply(Q, edits).text)
    longest = max((len(e) for e in failing.values()), default=1)
    assert cost.rounds == len(oracle.calls) <= longest - 1
    assert cost.candidates == sum(oracle.calls)


class NeedsTwo(Oracle):
    """The relation breaks only under two or more edits: each round can drop just one edit (a long shrink)."""

    def __call__(self, batch):
        self.calls.append(len(batch))
        return [len(edits) < 2 for _, edits in batch]


def test_the_round_cap_bounds_the_oracle_calls():
    failing = {0: tuple(Edit("typo_delete", i, 0) for i in range(8))}
    oracle = NeedsTwo()
    _, cost = shrink_all(failing, oracle, max_rounds=2)
    assert len(oracle.calls) == cost.rounds == 2


def test_edits_that_cancel_out_still_shrink_to_the_one_that_breaks():
    """Case toggled three times on 'return': dropping any one toggle restores the word, one toggle alone breaks it."""
    failing = {0: tuple(Edit("case", 2, 0) for _ in range(3))}
    assert not weak(apply(Q, failing[0]).text) and weak(apply(Q, failing[0][:2]).text)
    minimal, cost = shrink_all(failing, Oracle(), max_rounds=10)
    assert minimal[0] == (Edit("case", 2, 0),) and cost.rounds == 1
