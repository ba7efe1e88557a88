"""Perturbations of a prompt: small, readable edits (typos, casing, noise, synonyms, look-alikes...).

A perturbation is a tuple of `Edit`s applied to the original text. An edit names its kind, which of
the words that kind applies to (`word`, taken modulo their number) and a `variant` (which letter,
neighbour, synonym...). Positions refer to the *original* words, so removing one edit never changes
what the others do: that is what makes shrinking (dropping edits) well defined. Seeded generation
(`draw_edits`, a `random.Random`) and the hypothesis strategies share this one definition.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmeval.robustness import words

TYPO_KINDS = ("typo_swap", "typo_delete", "typo_double")
KINDS = (*TYPO_KINDS, "case", "whitespace", "punctuation", "synonym", "distractor", "reorder", "homoglyph", "zero_width")
"""Every kind, simplest first (the shrink order prefers earlier kinds)."""


@dataclass(frozen=True, order=True)
class Edit:
    """One change: `kind`, which applicable word (`word` modulo their number) and which `variant`."""

    kind: str
    word: int
    variant: int

    def rank(self) -> tuple[int, int, int]:
        return (KINDS.index(self.kind), self.word, self.variant)


@dataclass(frozen=True)
class Perturbed:
    """The original text, the perturbed text, the edits and what each one changed, in words."""

    original: str
    text: str
    edits: tuple[Edit, ...]
    changes: tuple[str, ...]

    def describe(self) -> str:
        return "; ".join(self.changes) if self.changes else "no change"


@dataclass
class _Doc:
    tokens: list[str]  # words with their attached punctuation
    gaps: list[str]  # gaps[i] is the whitespace before tokens[i]; gaps[-1] after the last token
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def parse(cls, text: str) -> _Doc:
        tokens = re.findall(r"\S+", text)
        gaps = re.split(r"\S+", text)
        return cls(tokens, gaps)

    def text(self) -> str:
        body = "".join(g + t for g, t in zip(self.gaps, self.tokens, strict=False)) + self.gaps[-1]
        return self.prefix + body + self.suffix


def _letters(token: str) -> list[int]:
    return [i for i, ch in enumerate(token) if ch.isalpha()]


def _word_of(token: str) -> str:
    return re.sub(r"^\W+|\W+$", "", token)


Applies = Callable[[str], bool]
_WORD_TESTS: dict[str, Applies] = {
    "typo_swap": lambda t: any(ch.lower() in words.KEYBOARD for ch in t),
    "typo_delete": lambda t: len(_letters(t)) >= 2,
    "typo_double": lambda t: bool(_letters(t)),
    "case": lambda t: any(ch.isalpha() for ch in t),
    "whitespace": lambda t: True,
    "punctuation": lambda t: True,
    "synonym": lambda t: _word_of(t).lower() in words.SYNONYMS,
    "homoglyph": lambda t: any(ch in words.HOMOGLYPHS for ch in t),
    "zero_width": lambda t: len(t) >= 2,
}


def targets(text: str, kind: str) -> list[int]:
    """Indices of the original words an edit of `kind` can change (for text-level kinds: [0] or [])."""
    doc = _Doc.parse(text)
    if kind == "distractor":
        return [0] if doc.tokens else []
    if kind == "reorder":
        return [0] if len(_option_lines(text)) >= 2 else []
    return [i for i, t in enumerate(doc.tokens) if _WORD_TESTS[kind](t)]


def applicable(text: str, kinds: Sequence[str] = KINDS) -> list[str]:
    """The kinds that can change `text`, in the given order."""
    return [k for k in kinds if targets(text, k)]


def apply(text: str, edits: Sequence[Edit]) -> Perturbed:
    """Apply edits in order to `text`; each edit's word refers to the original text's words."""
    doc = _Doc.parse(text)
    changes: list[str] = []
    reorder: Edit | None = None
    for edit in edits:
        if edit.kind == "reorder":
            reorder = edit
            continue
        spots = targets(text, edit.kind)
        if spots:
            changes.append(_apply_one(doc, edit, spots[edit.word % len(spots)]))
    out = doc.text()
    if reorder is not None:
        out, change = _reorder(out, reorder.variant)
        changes.append(change)
    return Perturbed(text, out, tuple(edits), tuple(changes))


def _apply_one(doc: _Doc, edit: Edit, index: int) -> str:
    if edit.kind == "distractor":
        sentence = words.DISTRACTORS[edit.variant % len(words.DISTRACTORS)]
        if edit.variant // len(words.DISTRACTORS) % 2:
            doc.suffix += " " + sentence
            return f"distractor appended: {sentence!r}"
        doc.prefix = sentence + " " + doc.prefix
        return f"distractor prepended: {sentence!r}"
    before = doc.tokens[index]
    if edit.kind == "whitespace":
        noise = ("  ", "   ", "\t", " \n")[edit.variant % 4]
        doc.gaps[index + 1] = noise + doc.gaps[index + 1]
        return f"whitespace {noise!r} after {before!r}"
    if not _WORD_TESTS[edit.kind](before):  # an earlier edit changed this word past what this kind applies to
        return f"{edit.kind.replace('_', ' ')}: no effect on {before!r}"
    after = _WORD_EDITS[edit.kind](before, edit.variant)
    doc.tokens[index] = after
    shown = ascii(after) if edit.kind in ("homoglyph", "zero_width") else repr(after)  # make invisible changes visible
    return f"{edit.kind.replace('_', ' ')}: {before!r} -> {shown}"


def _typo_swap(token: str, variant: int) -> str:
    spots = [i for i, ch in enumerate(token) if ch.lower() in words.KEYBOARD]
    i = spots[variant % len(spots)]
    near = words.KEYBOARD[token[i].lower()]
    ch = near[(variant // len(spots)) % len(near)]
    return token[:i] + (ch.upper() if token[i].isupper() else ch) + token[i + 1 :]


def _typo_delete(token: str, variant: int) -> str:
    spots = _letters(token)
    i = spots[variant % len(spots)]
    return token[:i] + token[i + 1 :]


def _typo_double(token: str, variant: int) -> str:
    spots = _letters(token)
    i = spots[variant % len(spots)]
    return token[: i + 1] + token[i:]


def _case(token: str, variant: int) -> str:
    options = list(dict.fromkeys(o for o in (token.upper(), token.lower(), token.capitalize(), token.swapcase()) if o != token))
    return options[variant % len(options)] if options else token


def _punctuation(token: str, variant: int) -> str:
    if token[-1] in ".,;:!?" and variant % 2:
        return token[:-1]
    return token + (",", "!", "...", ";", "?")[variant % 5]


def _synonym(token: str, variant: int) -> str:
    word = _word_of(token)
    options = words.SYNONYMS[word.lower()]
    pick = options[variant % len(options)]
    pick = pick.capitalize() if word[:1].isupper() else pick
    return token.replace(word, pick, 1)


def _homoglyph(token: str, variant: int) -> str:
    spots = [i for i, ch in enumerate(token) if ch in words.HOMOGLYPHS]
    i = spots[variant % len(spots)]
    return token[:i] + words.HOMOGLYPHS[token[i]] + token[i + 1 :]


def _zero_width(token: str, variant: int) -> str:
    i = 1 + variant % (len(token) - 1)
    return token[:i] + ("\u200b", "\u200c", "\u200d", "\u2060")[(variant // len(token)) % 4] + token[i:]


_WORD_EDITS: dict[str, Callable[[str, int], str]] = {
    "typo_swap": _typo_swap,
    "typo_delete": _typo_delete,
    "typo_double": _typo_double,
    "case": _case,
    "punctuation": _punctuation,
    "synonym": _synonym,
    "homoglyph": _homoglyph,
    "zero_width": _zero_width,
}

_OPTION = re.compile(r"^\s*(?:[-*•]|\(?[A-Za-z0-9][.)])\s+\S")


def _option_lines(text: str) -> list[int]:
    """Line numbers of the first run of list items (options) in the text."""
    lines = text.split("\n")
    found: list[int] = []
    for i, line in enumerate(lines):
        if _OPTION.match(line):
            if found and found[-1] != i - 1:
                break
            found.append(i)
    return found


def _reorder(text: str, variant: int) -> tuple[str, str]:
    lines = text.split("\n")
    spots = _option_lines(text)
    if len(spots) < 2:
        return text, "reorder: no options"
    order = list(range(len(spots)))
    random.Random(variant).shuffle(order)
    if order == sorted(order):
        order = order[1:] + order[:1]
    bodies = [re.sub(r"^\s*(?:[-*•]|\(?[A-Za-z0-9][.)])\s+", "", lines[i]) for i in spots]
    markers = [lines[i][: len(lines[i]) - len(b)] for i, b in zip(spots, bodies, strict=True)]
    for spot, marker, j in zip(spots, markers, order, strict=True):
        lines[spot] = marker + bodies[j]
    return "\n".join(lines), f"options reordered: {[j + 1 for j in order]}"


def draw_edits(
    rng: random.Random, text: str, kinds: Sequence[str] = KINDS, max_edits: int = 3, min_edits: int = 1
) -> tuple[Edit, ...]:
    """Seeded: min_edits..max_edits edits of the applicable kinds (none when no kind applies)."""
    usable = applicable(text, kinds)
    if not usable:
        return ()
    n = rng.randint(min(min_edits, max_edits), max_edits)
    return tuple(Edit(rng.choice(usable), rng.randrange(256), rng.randrange(256)) for _ in range(n))
