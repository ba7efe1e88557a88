"""Structured recognizers: national phone formats, dotted cards, quoted emails, numbering quads, whole-word cues."""

from __future__ import annotations

import pytest

from llmeval import pii
from llmeval.pii import checks

STRUCTURED = list(pii.STRUCTURED_ENTITIES)


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, e.text) for e in pii.analyze([text], entities=STRUCTURED, spacy_model=pii.PATTERN_ONLY)[0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tel. 030 12345678", [("PHONE_NUMBER", "030 12345678")]),
        ("Handy: 0151 23456789", [("PHONE_NUMBER", "0151 23456789")]),
        ("Reach him at 0176/98765432.", [("PHONE_NUMBER", "0176/98765432")]),
        ("Telefon 0221 934567", [("PHONE_NUMBER", "0221 934567")]),
        ("Appelez le 01 42 68 53 00 pour le service.", [("PHONE_NUMBER", "01 42 68 53 00")]),
        ("Bureau 04.72.10.30.30", [("PHONE_NUMBER", "04.72.10.30.30")]),
        ("Office: (03) 9123 4567", [("PHONE_NUMBER", "(03) 9123 4567")]),
        ("Escritório (11) 3049-5500", [("PHONE_NUMBER", "(11) 3049-5500")]),
        ("For billing call 1300 655 506.", [("PHONE_NUMBER", "1300 655 506")]),
        ("mobile 9123 4567", [("PHONE_NUMBER", "9123 4567")]),
        ("WhatsApp 098450 12345", [("PHONE_NUMBER", "098450 12345")]),
        ("Update billing to 5105.1051.0510.5100.", [("CREDIT_CARD", "5105.1051.0510.5100")]),
        ('Write to "jane.doe"@lawfirm.com today', [("EMAIL_ADDRESS", '"jane.doe"@lawfirm.com')]),
        ("DNS 1.1.1.1 is slow", [("IP_ADDRESS", "1.1.1.1")]),
    ],
)
def test_detects_national_and_variant_formats(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Call volume was 1200-1500 per day.",
        "Call on 01.02.2024 at 10:00.",
        "Line 1234 5678 of the log shows the error.",
        "Figure (2) 1234 5678 and (2019) 123 4567.",
        "Order 030 12345678 shipped; invoice (03) 9123 4567 paid.",
        "Version numbers 1.2.3 and 4.5.6.7 are deprecated.",
        "Paragraph 4.3.2.1 and kernel 5.15.0.91.",
        "Price 1.234.567,89 EUR and 4111111111.111111 units.",
        "Pour le dossier, voir page 12.",
    ],
)
def test_new_formats_do_not_flag_numbering(text):
    assert found(text) == []


@pytest.mark.parametrize(
    ("word", "cues", "expected"),
    [
        ("pour", ("po$",), False),
        ("po", ("po$",), True),
        ("telephone", ("tel",), True),
        ("building", ("build$",), False),
        ("build", ("build$", "x"), True),
    ],
)
def test_cue_match_prefix_and_whole_word(word, cues, expected):
    assert checks.cue_match(word, cues) is expected
