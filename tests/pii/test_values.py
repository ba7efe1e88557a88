"""Known values masked wherever they occur: reformatted numbers, name parts, cut-off quotes; secrets by runs."""

from __future__ import annotations

import pytest

from llmeval.pii.values import KnownValues, secret_pattern

VALUES = [
    ("EMAIL_ADDRESS", "margaret.thompson@example.com"),
    ("PERSON", "Margaret Thompson"),
    ("CREDIT_CARD", "4111 1111 1111 1111"),
    ("PHONE_NUMBER", "+1 212 555 0182"),
    ("IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
]


@pytest.fixture(scope="module")
def known() -> KnownValues:
    values = KnownValues()
    for entity_type, value in VALUES:
        values.add(entity_type, value)
    return values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail MARGARET.Thompson@Example.com now", "Mail <EMAIL_ADDRESS> now"),
        ("card 4111111111111111 and 4111-1111-1111-1111", "card <CREDIT_CARD> and <CREDIT_CARD>"),
        ("call +1 (212) 555-0182 or 212.555.0182", "call <PHONE_NUMBER> or <PHONE_NUMBER>"),
        ("iban de89370400440532013000.", "iban <IBAN_CODE>."),
        ("Thanks Margaret; THOMPSON signed", "Thanks <PERSON>; <PERSON> signed"),
        ("Margaret\n  Thompson called", "<PERSON> called"),
        ("quote: 'margaret.thompson@exampl…'", "quote: '<EMAIL_ADDRESS>…'"),
        ("quote: margaret.thompson@ex...", "quote: <EMAIL_ADDRESS>..."),
        ("output ends with 4111 1111 11", "output ends with <CREDIT_CARD>"),
        ("card 4111-11…", "card <CREDIT_CARD>…"),  # a separator before the ellipsis goes too
        ("as Thomps…", "as <PERSON>…"),
    ],
)
def test_known_values_are_masked_in_any_form(known, text, expected):
    assert known.mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "margaret and thompson in lower case are plain words",  # name parts match as written only
        "Margaretville and Thompsons are other words",  # not inside longer words
        "card 41111111111111112 is longer",  # not inside a longer number
        "short prefix ma… stays",  # below MIN_CUT characters
        "a string that ends with marg",  # below MIN_PREFIX characters, no ellipsis
        "the prefix margaret.tho is in the middle of a sentence",  # cut-off quotes only before … or at the end
    ],
)
def test_other_text_is_left_alone(known, text):
    assert known.mask(text) == text


def test_many_values_share_one_pattern():
    values = KnownValues()
    for i in range(3000):
        values.add("EMAIL_ADDRESS", f"user{i}@example.com")
    assert len(values) == 3000
    assert values.mask("to user2999@example.com, not user12@example.co here") == "to <EMAIL_ADDRESS>, not user12@example.co here"


KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY}!", "key <SECRET>!"),
        (f"key …{KEY[5:13]}…", "key …<SECRET>…"),  # any run of 8 characters
        (f"key {KEY[5:12]}", f"key {KEY[5:12]}"),  # 7 are not enough
        ("short secret hunter2 here", "short secret <SECRET> here"),
    ],
)
def test_secrets_whole_and_by_runs(text, expected):
    pattern = secret_pattern([KEY, "hunter2"])
    assert pattern is not None and pattern.sub("<SECRET>", text) == expected
