"""Masking known values wherever they occur: in any field, reformatted, split into name parts, or cut off by `…`.

Detection (the engine) finds a value once; these patterns then mask every occurrence of it in every text of a
run. Values are compiled into trie-shaped regular expressions, so thousands of values cost one scan per text.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

MIN_PREFIX = 6  # a string that ends with this many characters of a value (or more) is a cut-off quote
MIN_CUT = 3  # before an ellipsis, this many characters of a value are a cut-off quote
MIN_SECRET_RUN = 8  # any run of this many characters of a long secret is masked
MAX_VALUE = 120  # longer "values" are detector noise; their regex would nest too deep
COMPACT_TYPES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "US_BANK_NUMBER"})
NAME_TYPES = frozenset({"PERSON"})
_TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Madam", "Dame", "Lord", "Lady"})
_SEPARATORS = r"[\s.\-/()]{0,3}"  # between the characters of a number: `4111 1111`, `(212) 555-0182`
_ELLIPSIS = r"(?=\s*(?:…|\.\.\.))"
_AT_END = r"(?=[\"'”’)\]]*\s*\Z)"
_END = object()


class KnownValues:
    """The PII values of a run, by type, and the patterns that mask them in any text."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], set[str]] = defaultdict(set)  # (family, type) -> keys
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def add(self, entity_type: str, value: str) -> None:
        """Remember one detected value (and, for names, each capitalised part of it)."""
        value = " ".join(value.split())
        if not 2 <= len(value) <= MAX_VALUE:
            return
        for family, key in _keys(entity_type, value):
            if key not in self._values[family, entity_type]:
                self._values[family, entity_type].add(key)
                self._patterns = None

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._values.values())

    def mask(self, text: str) -> str:
        """`text` with every occurrence of a known value (whole, reformatted or cut off) replaced by `<TYPE>`."""
        for pattern, label in self._compiled():
            text = pattern.sub(label, text)
        return text

    def _compiled(self) -> list[tuple[re.Pattern[str], str]]:
        if self._patterns is None:
            order = {"compact": 0, "text": 1, "word": 2}  # numbers and whole values before name parts
            self._patterns = [
                (_FAMILIES[family](keys), f"<{entity_type}>")
                for (family, entity_type), keys in sorted(self._values.items(), key=lambda kv: order[kv[0][0]])
                if keys
            ]
        return self._patterns


def _keys(entity_type: str, value: str) -> Iterable[tuple[str, str]]:
    """(family, key) pairs under which a value is matched."""
    if entity_type in COMPACT_TYPES and sum(c.isdigit() for c in value) >= 4:
        yield "compact", "".join(c for c in value if c.isalnum()).lower()
        if entity_type == "PHONE_NUMBER" and (national := _national_number(value)):
            yield "compact", national
        return
    if entity_type not in NAME_TYPES:
        yield "text", value.lower()
        return
    words = [w.strip(".,;:!?'\"()") for w in value.split()]
    if len(words) > 1:
        yield "text", value.lower()
    for part in {*words, *(piece for w in words if "-" in w for piece in w.split("-"))}:
        if len(part) >= 2 and part[:1].isupper() and part not in _TITLES:
            yield "word", part
            yield "word", part.upper()


def _national_number(phone: str) -> str | None:
    """The number without its country code (`+1 212 555 0182` -> `2125550182`), as it is often written again."""
    import phonenumbers

    international = "+" + phone.lstrip()[2:] if phone.lstrip().startswith("00") else phone
    try:
        number = phonenumbers.parse(international, None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    return national if len(national) >= 6 else None


def _text_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    """Whole values, any case, any whitespace between words; cut-off prefixes too."""
    unit = lambda ch: r"\s+" if ch == " " else re.escape(ch)
    return re.compile(r"(?<!\w)" + trie_regex(keys, unit, _value_end), re.IGNORECASE)


def _compact_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    """Numbers by their characters, whatever the separators between them (`4111111111111111` = `4111 1111 ...`)."""
    pattern = trie_regex(keys, re.escape, functools.partial(_value_end, sep=_SEPARATORS), sep=_SEPARATORS)
    return re.compile(r"(?<!\w)\+?" + pattern, re.IGNORECASE)


def _word_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    """Name parts as written (`Margaret`, `MARGARET`, not `margaret`), whole words or cut off."""
    return re.compile(r"(?<!\w)" + trie_regex(keys, re.escape, _value_end))


_FAMILIES: dict[str, Callable[[Iterable[str]], re.Pattern[str]]] = {
    "text": _text_pattern,
    "compact": _compact_pattern,
    "word": _word_pattern,
}


def _value_end(depth: int, last: str, complete: bool, sep: str = "") -> list[str]:
    """Where a match may stop: after a whole value (not inside a longer word), or a cut-off prefix of it
    (MIN_CUT characters before an ellipsis, MIN_PREFIX at the end of a string); `sep` may trail a cut number."""
    ends = [r"(?!\w)" if last.isalnum() else ""] if complete else []
    if depth >= MIN_CUT:
        ends.append(sep + _ELLIPSIS)
    if depth >= MIN_PREFIX:
        ends.append(_AT_END)
    return ends


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for secrets: each one whole, and any run of MIN_SECRET_RUN of its characters when it is longer."""
    keys: set[str] = set()
    whole: set[str] = set()
    for secret in secrets:
        if len(secret) < 2 * MIN_SECRET_RUN:
            whole.add(secret)
        else:
            keys.update(secret[i:] for i in range(len(secret) - MIN_SECRET_RUN + 1))
    alternatives = [re.escape(s) for s in sorted(whole, key=len, reverse=True)]
    if keys:
        alternatives.insert(0, trie_regex(keys, re.escape, lambda depth, last, complete: [""] if depth >= MIN_SECRET_RUN else []))
    return re.compile("|".join(alternatives)) if alternatives else None


def trie_regex(
    keys: Iterable[str],
    unit: Callable[[str], str],
    ends: Callable[[int, str, bool], list[str]],
    sep: str = "",
) -> str:
    """One regex matching the keys, built as a trie (shared prefixes once), longest match first.

    `unit` turns a key character into a pattern; `ends(depth, last char, key complete)` lists the lookaheads
    under which a match may stop at a node; `sep` may come between two characters.
    """
    root: dict[Any, Any] = {}
    for key in keys:
        node = root
        for ch in key:
            node = node.setdefault(ch, {})
        node[_END] = {}
    return _node_regex(root, 0, "", unit, ends, sep) or "(?!)"


def _node_regex(
    node: dict[Any, Any], depth: int, last: str, unit: Callable[[str], str], ends: Callable[..., Any], sep: str
) -> str:
    alternatives = [
        (sep if depth else "") + unit(ch) + _node_regex(child, depth + 1, ch, unit, ends, sep)
        for ch, child in node.items()
        if ch is not _END
    ]
    alternatives += ends(depth, last, _END in node) if depth else []
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"
