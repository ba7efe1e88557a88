"""Pure checks behind the recognizers: Luhn, card brands, IBAN mod-97, SSN and IP validity, context words.

No presidio here, so the synthetic-data strategies and the recognizers share one definition of "valid".
"""

from __future__ import annotations

import functools
import ipaddress
import re

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AT": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "EE": 20,
    "ES": 24,
    "FI": 18,
    "FR": 27,
    "GB": 22,
    "GI": 23,
    "GR": 27,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "KW": 30,
    "KZ": 20,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MT": 31,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TR": 26,
    "UA": 29,
}

# (prefixes, allowed lengths) per brand; a number is a card when some brand accepts prefix and length.
CARD_BRANDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "visa": (("4",), (13, 16, 19)),
    "mastercard": (("51", "52", "53", "54", "55", *(str(p) for p in range(2221, 2721))), (16,)),
    "amex": (("34", "37"), (15,)),
    "discover": (("6011", "644", "645", "646", "647", "648", "649", "65"), (16, 19)),
    "jcb": (tuple(str(p) for p in range(3528, 3590)), (16, 19)),
    "diners": (("300", "301", "302", "303", "304", "305", "36", "38", "39"), (14, 16)),
    "unionpay": (("62",), (16, 17, 18, 19)),
    "maestro": (("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"), (12, 13, 16, 19)),
}

_WORD = re.compile(r"[a-z][a-z#]*")


def digits(text: str) -> str:
    """Only the digits of a string."""
    return "".join(c for c in text if c.isdigit())


def luhn_ok(number: str) -> bool:
    """True when a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """The brand whose prefix and length fit a digit string, if any."""
    for brand, (prefixes, lengths) in CARD_BRANDS.items():
        if len(number) in lengths and number.startswith(prefixes):
            return brand
    return None


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass Luhn."""
    for d in "0123456789":
        if luhn_ok(partial + d):
            return d
    raise AssertionError("unreachable: some digit always completes a Luhn checksum")


def iban_ok(compact: str) -> bool:
    """True for an IBAN (no spaces) with a known country length and valid mod-97 check digits."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    return iban_remainder(compact[4:] + compact[:4]) == 1


def iban_remainder(rearranged: str) -> int:
    """The ISO 7064 mod-97 remainder of an alphanumeric string (letters count as 10..35)."""
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make `country + cc + bban` a valid IBAN."""
    return f"{98 - iban_remainder(bban + country + '00'):02d}"


def ssn_ok(number: str) -> bool:
    """True for nine digits Presidio accepts as a US SSN (and the SSA would issue)."""
    if len(number) != 9 or len(set(number)) == 1:
        return False
    if number[3:5] == "00" or number[5:] == "0000" or number[:3] in ("000", "666") or number[0] == "9":
        return False
    return number not in ("123456789", "987654320", "078051120")


def ip_ok(text: str) -> bool:
    """True when text (optionally with a /prefix) parses as an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return True


def _cue_words(window: str) -> list[str]:
    """Whitespace-separated plain words of a window (emails, numbers and codes are not cue words)."""
    words = (token.strip(".,;:!?()[]{}\"'").lower() for token in window.split())
    return [w for w in words if _WORD.fullmatch(w)]


def context_polarity(
    text: str,
    start: int,
    end: int,
    positive: tuple[str, ...],
    negative: tuple[str, ...],
    *,
    before: int = 6,
    after: int = 3,
    weak: tuple[str, ...] = (),
) -> int:
    """+1 / -1 when the nearest cue word before (else just after) the span is positive / negative, else 0.

    Cues match as word prefixes, except those ending in `$`, which match whole words only ("po$" is not "pour").
    `weak` cues (e.g. "number") count as positive only when no other cue decides.
    """
    words_before = _cue_words(text[max(0, start - 60) : start])[-before:] if before else []
    words_after = _cue_words(text[end : end + 30])[:after] if after else []
    for word in [*reversed(words_before), *words_after]:
        if cue_match(word, positive):
            return 1
        if cue_match(word, negative):
            return -1
    return 1 if any(cue_match(w, weak) for w in words_before[-2:]) else 0


def cue_match(word: str, cues: tuple[str, ...]) -> bool:
    """Whether a lower-cased word is one of `cues` (prefix match; whole word for cues ending in `$`)."""
    prefixes, exact = _split_cues(cues)
    return word.startswith(prefixes) or word in exact


@functools.lru_cache(maxsize=64)
def _split_cues(cues: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str]]:
    """Prefix cues and whole-word cues (`$`-suffixed, suffix dropped)."""
    return tuple(c for c in cues if not c.endswith("$")), frozenset(c[:-1] for c in cues if c.endswith("$"))
