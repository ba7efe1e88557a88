"""Perturbations: each kind changes the text as described; seeded draws repeat; hypothesis strategies compose."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings

from llmeval import strategies
from llmeval.robustness import KINDS, Edit, applicable, apply, draw_edits

Q = "How long do I have to return an item?"
FAST = settings(max_examples=40, deadline=None, database=None)


@pytest.mark.parametrize(
    ("edit", "text", "change"),
    [
        (Edit("typo_delete", 5, 1), "How long do I have to rturn an item?", "typo delete: 'return' -> 'rturn'"),
        (Edit("typo_double", 6, 1), "How long do I have to reeturn an item?", "typo double: 'return' -> 'reeturn'"),
        (Edit("case", 6, 0), "How long do I have to RETURN an item?", "case: 'return' -> 'RETURN'"),
        (Edit("synonym", 3, 0), "How long do I have to return an product?", "synonym: 'item?' -> 'product?'"),
        (Edit("whitespace", 0, 0), "How   long do I have to return an item?", "whitespace '  ' after 'How'"),
        (Edit("zero_width", 0, 0), "H\u200bow long do I have to return an item?", "zero width: 'How' -> 'H\\u200bow'"),
        (Edit("homoglyph", 0, 1), "H\u043ew long do I have to return an item?", "homoglyph: 'How' -> 'H\\u043ew'"),
    ],
)
def test_each_kind_changes_the_text_as_described(edit, text, change):
    out = apply(Q, [edit])
    assert out.text == text
    assert out.changes == (change,)
    assert out.original == Q


def test_typo_swap_uses_a_keyboard_neighbour():
    out = apply("return", [Edit("typo_swap", 0, 0)])
    assert out.text[1:] == "eturn" and out.text[0] in "etdfg"


def test_reorder_permutes_option_lines_and_distractors_add_a_sentence():
    text = "Pick one:\n- red\n- green\n- blue"
    out = apply(text, [Edit("reorder", 0, 3)])
    assert sorted(out.text.splitlines()[1:]) == ["- blue", "- green", "- red"] and out.text != text
    assert "reorder" not in applicable(Q)
    out = apply(Q, [Edit("distractor", 0, 0)])
    assert out.text.endswith(Q) and len(out.text) > len(Q)


def test_positions_refer_to_the_original_words_so_dropping_an_edit_keeps_the_others():
    a, b = Edit("case", 6, 0), Edit("typo_double", 0, 0)
    assert apply(Q, [a, b]).text == "HHow long do I have to RETURN an item?"
    assert apply(Q, [a]).text == "How long do I have to RETURN an item?"


def test_seeded_draws_repeat():
    def draw(seed):
        return [draw_edits(random.Random(f"{seed}:{i}"), Q, KINDS, 3) for i in range(20)]

    assert draw(1) == draw(1) and draw(1) != draw(2)


@FAST
@given(strategies.perturbations(Q, max_edits=4))
def test_every_perturbation_says_what_it_changed(p):
    assert 1 <= len(p.edits) <= 4 and len(p.changes) == len(p.edits)
    assert p.original == Q


@FAST
@given(strategies.typos(Q))
def test_typos_change_only_letters_within_words(p):
    assert len(p.text.split()) == len(Q.split()) and p.text != Q or len(p.edits) == 2
