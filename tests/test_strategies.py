"""Synthetic PII strategies produce values Presidio (our engine) detects; generate_cases is reproducible."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from llmeval import pii, strategies
from llmeval.errors import SuiteError
from llmeval.pii import checks

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def warm_engine():
    pii.analyze(["warm up"], entities=list(pii.STRUCTURED_ENTITIES), spacy_model=pii.PATTERN_ONLY)


def detected(value: str, entity: str) -> bool:
    text = f"Here it is: {value}. Thanks."
    out = pii.analyze([text], entities=[entity], spacy_model=pii.PATTERN_ONLY)[0]
    return [e.text for e in out] == [value]


@pytest.mark.parametrize(
    ("strategy", "entity"),
    [
        (strategies.emails, "EMAIL_ADDRESS"),
        (strategies.phones, "PHONE_NUMBER"),
        (strategies.credit_cards, "CREDIT_CARD"),
        (strategies.ssns, "US_SSN"),
        (strategies.ibans, "IBAN_CODE"),
        (strategies.ip_addresses, "IP_ADDRESS"),
    ],
)
def test_strategy_values_are_detected(strategy, entity):
    @FAST
    @given(strategy())
    def check(value):
        assert detected(value, entity), value

    check()


@FAST
@given(strategies.credit_cards(), strategies.ibans(), strategies.ssns())
def test_generated_numbers_are_valid(card, iban, ssn):
    assert checks.luhn_ok(checks.digits(card)) and checks.card_brand(checks.digits(card))
    assert checks.iban_ok(iban.replace(" ", ""))
    assert checks.ssn_ok(checks.digits(ssn))


@FAST
@given(strategies.pii_records(), strategies.names(), strategies.addresses())
def test_records_have_every_field(record, name, address):
    assert set(record) == {"name", "email", "phone", "card", "ssn", "iban", "ip", "address"}
    assert len(name.split()) == 2 and address[0].isdigit()


SPEC = {"n": 5, "seed": 7, "vars": {"customer": "record", "email": "email", "card": "credit_card"}}


def test_generate_cases_is_reproducible():
    first = strategies.generate_cases(SPEC)
    assert first == strategies.generate_cases(SPEC)
    assert len(first) == 5 and set(first[0]) == {"customer", "email", "card"}
    assert first != strategies.generate_cases(SPEC, seed=8)
    assert strategies.generate_cases(SPEC, n=8)[:5] == first  # more cases append, earlier ones stay


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"n": 0, "vars": {"a": "email"}}, "generate.n"),
        ({"n": 2}, "generate.vars"),
        ({"n": 2, "vars": {"a": "passport"}}, "generate.vars.a"),
    ],
)
def test_generate_cases_errors_name_the_key(spec, key):
    with pytest.raises(SuiteError) as err:
        strategies.generate_cases(spec)
    assert err.value.key == key
