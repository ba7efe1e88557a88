"""String helpers for PII values: masking for explanations, and normalisation for comparing two mentions."""

from __future__ import annotations

import ipaddress
import re

_DIGIT_TYPES = frozenset({"CREDIT_CARD", "US_SSN", "US_BANK_NUMBER", "US_ITIN"})


def mask(text: str) -> str:
    """A masked form of a PII value that is safe in reports: `j***@e***.com`, `****-****-****-1111`, `J*** D***`."""
    text = text.strip()
    if "@" in text:
        local, _, domain = text.rpartition("@")
        host, dot, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***{dot}{tld}" if dot else f"{local[:1]}***@***"
    digit_count = sum(c.isdigit() for c in text)
    if digit_count >= 4 and digit_count * 2 >= sum(c.isalnum() for c in text):
        return _mask_digits(text)
    return " ".join(f"{word[:1]}***" for word in text.split())


def _mask_digits(text: str) -> str:
    """Keep separators, a leading letter prefix (IBAN country) and the last few digits; star the rest."""
    keep = 4 if sum(c.isdigit() for c in text) > 8 else 2
    out: list[str] = []
    for ch in reversed(text):
        if ch.isdigit() and keep > 0:
            out.append(ch)
            keep -= 1
        elif ch.isalnum():
            out.append("*")
        else:
            out.append(ch)
    masked = "".join(reversed(out))
    prefix = re.match(r"[A-Za-z]{2}", text)
    return prefix.group() + masked[2:] if prefix else masked


def normalise(entity_type: str, text: str) -> str:
    """A comparison key for one PII value, so `+1 (415) 555-0132` and `415.555.0132` are the same phone."""
    text = text.strip()
    if entity_type == "PHONE_NUMBER":
        return "".join(c for c in text if c.isdigit())[-9:]
    if entity_type in _DIGIT_TYPES:
        return "".join(c for c in text if c.isdigit())
    if entity_type == "IBAN_CODE":
        return "".join(c for c in text if c.isalnum()).upper()
    if entity_type == "IP_ADDRESS":
        try:
            return str(ipaddress.ip_interface(text).ip)
        except ValueError:
            return text.lower()
    return " ".join(text.casefold().split())


def loose(text: str) -> str:
    """Case, whitespace and punctuation removed: `4111-1111 1111` and `41111111111` compare as substrings."""
    return "".join(c for c in text.casefold() if c.isalnum())
