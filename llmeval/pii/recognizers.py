"""Presidio recognizers for the structured PII types, tuned for recall on real formats and for hard negatives.

Each recognizer scores its own context on the raw text (cue words before or just after a match), so pattern-only
mode, which has no tokens or lemmas, scores exactly like spaCy mode. Imported only by `llmeval.pii.engine`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import phonenumbers
from presidio_analyzer import LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from llmeval.pii import checks

# Cue words (prefixes of lower-cased words; whole words when `$`-suffixed, so "po$" is not "pour") that say
# "an identifier, not PII" before a number.
ID_CUES = (
    "order",
    "invoice",
    "tracking",
    "track",
    "ref$",
    "reference",
    "ticket",
    "case$",
    "cases$",
    "sku",
    "serial",
    "part$",
    "parts$",
    "model",
    "booking",
    "confirmation",
    "receipt",
    "transaction",
    "shipment",
    "parcel",
    "package",
    "item",
    "product",
    "build$",
    "builds$",
    "version",
    "release",
    "batch",
    "lot$",
    "lots$",
    "#",
    "po$",
    "rma",
    "claim",
    "policy",
)
PHONE_CUES = (
    "phone",
    "tel",
    "call",
    "mobile",
    "cell",
    "fax",
    "whatsapp",
    "sms",
    "text",
    "dial",
    "ring",
    "hotline",
    "reach",
    "contact",
    "landline",
    "handy$",
    "portable",
    "celular",
    "ligue",
    "appel",
)
CARD_CUES = (
    "card",
    "credit",
    "debit",
    "visa",
    "mastercard",
    "amex",
    "discover",
    "jcb",
    "diners",
    "maestro",
    "cc",
    "pan",
    "charged",
    "payment",
)
SSN_CUES = ("ssn", "social", "security", "ss#", "taxpayer", "tin")
IP_CUES = (
    "ip",
    "ipv4",
    "ipv6",
    "address",
    "host",
    "server",
    "client",
    "from",
    "login",
    "connect",
    "source",
    "router",
    "gateway",
    "dns",
    "proxy",
    "device",
    "at",
    "to",
    "via",
)
VERSION_CUES = (
    "version",
    "build",
    "release",
    "firmware",
    "sdk",
    "update",
    "patch",
    "upgrade",
    "kernel",
    "rev$",
    "revision",
    "paragraph",
    "section",
    "clause",
    "chapter",
    "article",
    "v$",
)


def _result(recognizer: LocalRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    meta = {
        RecognizerResult.RECOGNIZER_NAME_KEY: str(getattr(recognizer, "name", type(recognizer).__name__)),
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
    }
    return RecognizerResult(entity, start, end, score, recognition_metadata=meta)


def _after_hash(text: str, start: int) -> bool:
    """`#123...`, `# 123...`: a number written as an identifier."""
    return text[max(0, start - 2) : start].rstrip().endswith("#")


class _SpanRecognizer(LocalRecognizer):
    """A recognizer that yields (start, end, score) spans of one entity type from the raw text."""

    ENTITY = ""

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=type(self).__name__, context=[])

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        return [_result(self, self.ENTITY, s, e, score) for s, e, score in self.spans(text) if score > 0]

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        raise AssertionError("subclasses define spans()")


_QUOTED_EMAIL = r'"[^"\n@\\]{1,64}"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+\b'


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer with its domain check done against tldextract's bundled suffix snapshot.

    Presidio calls `tldextract.extract`, whose first use fetches the public suffix list over the network.
    """

    def __init__(self) -> None:
        import tldextract

        super().__init__()
        patterns: list[Any] = getattr(self, "patterns")  # noqa: B009  (presidio leaves it untyped)
        patterns.append(Pattern("Email (quoted local part)", _QUOTED_EMAIL, 0.5))
        self._tld = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        return self._tld(pattern_text.rsplit("@", 1)[-1]).suffix != ""


_END = r"(?![\w\-]|[.,]\d)"
_PHONE_INTL = re.compile(r"(?<![\w+])(?<!\d[ \-])(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,6}" + _END)
_PHONE_US = re.compile(r"(?<![\w+\-.])(?<!\d[ \-])(?:\+?1[ .\-]?)?(?:\(\d{3}\)[ .\-]?|\d{3}([ .\-]))\d{3}([ .\-])\d{4}" + _END)
_PHONE_NATIONAL = re.compile(r"(?<![\w+\-./])(?<!\d[ \-])0\d{1,5}(?:[ \-./]\d{2,8}){1,4}" + _END)
_PHONE_PAREN = re.compile(r"(?<![\w+\-.(])\((?:0\d{1,3}|[1-9]\d{1,2})\)[ \-]?\d{3,5}[ \-]?\d{3,4}" + _END)
_PHONE_CUED = re.compile(r"(?<![\w+\-./])(?<!\d[ \-])\d{2,6}(?:[ \-./]\d{2,6}){1,3}" + _END)
_PHONE_BARE = re.compile(r"(?<![\w+\-.])\d{10}" + _END)
_DATE_LIKE = re.compile(r"\d{1,4}([./\-])\d{1,2}\1\d{1,4}")


class PhoneRecognizer(_SpanRecognizer):
    """International (+CC / 00CC), NANP, national trunk-0, `(area) local`, and, right after a phone cue word,
    grouped local numbers of 7-12 digits and bare 10-digit numbers."""

    ENTITY = "PHONE_NUMBER"

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        taken: list[tuple[int, int]] = []
        for pattern, scorer in (
            (_PHONE_INTL, self._intl),
            (_PHONE_US, self._us),
            (_PHONE_NATIONAL, self._national),
            (_PHONE_PAREN, self._paren),
            (_PHONE_CUED, self._cued),
            (_PHONE_BARE, self._bare),
        ):
            for m in pattern.finditer(text):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                base = scorer(m)
                if base <= 0:
                    continue
                taken.append((m.start(), m.end()))
                yield m.start(), m.end(), self._with_context(text, m, base)

    @staticmethod
    def _with_context(text: str, m: re.Match[str], base: float) -> float:
        polarity = checks.context_polarity(text, m.start(), m.end(), PHONE_CUES, ID_CUES, weak=("number", "no"))
        if polarity > 0 and not _after_hash(text, m.start()):
            return min(1.0, base + 0.3)
        if _after_hash(text, m.start()):
            return min(base, 0.2)
        return min(base, 0.2) if polarity < 0 else base

    @staticmethod
    def _intl(m: re.Match[str]) -> float:
        raw = m.group()
        plus = "+" + checks.digits(raw[2:] if raw.startswith("00") else raw)
        if not 8 <= len(plus) - 1 <= 15:
            return 0.0
        try:
            possible = phonenumbers.is_possible_number(phonenumbers.parse(plus, None))
        except phonenumbers.NumberParseException:
            return 0.0
        return 0.8 if possible else 0.4

    @staticmethod
    def _us(m: re.Match[str]) -> float:
        seps = {s for s in m.groups() if s}
        return 0.65 if len(seps) <= 1 else 0.45

    @staticmethod
    def _national(m: re.Match[str]) -> float:
        """Trunk-0 numbers: 10-11 digits stand alone; 8, 9 or 12 digits need a phone cue to pass."""
        if _DATE_LIKE.fullmatch(m.group()):
            return 0.0
        count = len(checks.digits(m.group()))
        return 0.55 if 10 <= count <= 11 else (0.35 if 8 <= count <= 12 else 0.0)

    @staticmethod
    def _paren(m: re.Match[str]) -> float:
        """`(03) 9123 4567`, `(11) 3049-5500`: a bracketed area code before the local number."""
        return 0.55 if 8 <= len(checks.digits(m.group())) <= 11 else 0.0

    @staticmethod
    def _cued(m: re.Match[str]) -> float:
        """Grouped local numbers (`9123 4567`, `1300 655 506`) only right after a phone cue word."""
        raw = m.group()
        if _DATE_LIKE.fullmatch(raw) or not 7 <= len(checks.digits(raw)) <= 12:
            return 0.0
        cued = checks.context_polarity(m.string, m.start(), m.end(), PHONE_CUES, ID_CUES, before=2, after=0)
        return 0.35 if cued > 0 else 0.0

    @staticmethod
    def _bare(m: re.Match[str]) -> float:
        return 0.3 if m.group()[0] in "23456789" else 0.0


_CARD = re.compile(r"(?<![\d\-+])(?<!\d[ .])\d(?:[ .\-]?\d){11,18}(?![ .\-]?\d)")


class CreditCardRecognizer(_SpanRecognizer):
    """13-19 digit numbers, plain or grouped by spaces, dashes or (4-4-4-4) dots, with a known brand prefix,
    length and Luhn check."""

    ENTITY = "CREDIT_CARD"

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        for m in _CARD.finditer(text):
            raw = m.group()
            number = checks.digits(raw)
            if len({c for c in raw if not c.isdigit()}) > 1 or not checks.luhn_ok(number):
                continue
            if checks.card_brand(number) is None:
                continue
            groups = re.split(r"[ .\-]", raw)
            if len(groups) > 1 and any(len(g) < 3 for g in groups[:-1]):
                continue
            if "." in raw and any(len(g) != 4 for g in groups):
                continue
            polarity = checks.context_polarity(text, m.start(), m.end(), CARD_CUES, ID_CUES)
            yield m.start(), m.end(), 0.3 if polarity < 0 else 0.95


_SSN = re.compile(r"(?<![\w\-.])(\d{3})([ .\-]?)(\d{2})\2(\d{4})" + _END)


class SsnRecognizer(_SpanRecognizer):
    """US SSNs: dashed (medium), spaced or dotted (weak), bare nine digits (needs a cue); Presidio's validity rules."""

    ENTITY = "US_SSN"

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        for m in _SSN.finditer(text):
            if not checks.ssn_ok(m.group(1) + m.group(3) + m.group(4)):
                continue
            base = {"-": 0.6, " ": 0.5, ".": 0.5}.get(m.group(2), 0.3)
            polarity = checks.context_polarity(text, m.start(), m.end(), SSN_CUES, ID_CUES + PHONE_CUES)
            score = 0.95 if polarity > 0 else (min(base, 0.2) if polarity < 0 or _after_hash(text, m.start()) else base)
            yield m.start(), m.end(), score


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{1,4}){2,8}", re.IGNORECASE)


class IbanRecognizer(_SpanRecognizer):
    """IBANs, compact or grouped by spaces/dashes, trimmed to the longest prefix with a valid length and mod-97."""

    ENTITY = "IBAN_CODE"

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        for m in _IBAN.finditer(text):
            end = self._valid_end(m.group())
            if end:
                yield m.start(), m.start() + end, 1.0

    @staticmethod
    def _valid_end(raw: str) -> int:
        """Where the IBAN inside a match ends (its country's length of characters), or 0 if it is no IBAN."""
        raw = raw.upper()
        length = checks.IBAN_LENGTHS.get(raw[:2], 0)
        positions = [i for i, c in enumerate(raw) if c.isalnum()]
        if not length or len(positions) < length:
            return 0
        end = positions[length - 1] + 1
        if end < len(raw) and raw[end].isalnum():
            return 0
        return end if checks.iban_ok(re.sub(r"[ \-]", "", raw[:end])) else 0


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:/\d{1,3})?(?![\w:])")


class IpRecognizer(_SpanRecognizer):
    """IPv4 and IPv6 addresses; version-like quads after a version/section cue, or single-digit quads with no
    address cue, are not addresses."""

    ENTITY = "IP_ADDRESS"

    def spans(self, text: str) -> Iterator[tuple[int, int, float]]:
        for m in _IPV4.finditer(text):
            raw = m.group()
            if not checks.ip_ok(raw) or any(len(o) > 1 and o[0] == "0" for o in raw.split("/")[0].split(".")):
                continue
            polarity = checks.context_polarity(text, m.start(), m.end(), IP_CUES, VERSION_CUES, before=4, after=0)
            glued_v = m.start() > 0 and text[m.start() - 1] in "vV"
            if polarity < 0 or glued_v:
                yield m.start(), m.end(), 0.2
            elif polarity > 0:
                yield m.start(), m.end(), 0.95
            else:  # no cue: `4.3.2.1`-style quads of single digits are numbering, not addresses
                yield m.start(), m.end(), 0.3 if re.fullmatch(r"\d(?:\.\d){3}", raw) else 0.7
        for m in _IPV6.finditer(text):
            raw = m.group()
            groups = raw.split("/")[0].count(":")
            if (groups >= 3 or "::" in raw) and (groups >= 5 or any(c.isalpha() for c in raw)) and checks.ip_ok(raw):
                yield m.start(), m.end(), 0.9


def structured_recognizers() -> list[LocalRecognizer]:
    """One instance of each structured-type recognizer."""
    return [
        OfflineEmailRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        SsnRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
    ]
