"""Realistic synthetic PII as hypothesis strategies, and seeded probe cases for a suite's `generate:` block.

Every value comes from a plain generator taking a `random.Random`, so the hypothesis strategies
(`st.randoms().map(...)`) and `generate_cases` (a seeded `random.Random`) share one definition.

Kinds usable in `generate: {vars: {...}}`: name, first_name, last_name, email, phone (US or international),
phone_us, phone_intl, credit_card (Luhn-valid; visa, mastercard, amex, discover, jcb, diners), ssn (valid under
Presidio's rules), iban (valid check digits; 12 countries, compact or grouped), ip (v4 or v6), ipv4, ipv6,
address, record (a dict with all of the above for one person).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from typing import Any

from llmeval.errors import SuiteError
from llmeval.pii import checks

FIRST = (
    "Jane",
    "John",
    "Maria",
    "Ahmed",
    "Li",
    "Priya",
    "Olga",
    "Kwame",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Aisha",
    "Mateo",
    "Yuki",
    "Fatima",
    "Liam",
    "Chloe",
    "Diego",
    "Hannah",
    "Omar",
    "Ingrid",
    "Carlos",
    "Mei",
    "Samuel",
    "Elena",
    "Arjun",
    "Grace",
    "Tomasz",
    "Nadia",
)
LAST = (
    "Smith",
    "Garcia",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Müller",
    "Rossi",
    "Haddad",
    "Johnson",
    "Patel",
    "Tanaka",
    "Silva",
    "Brown",
    "Ivanova",
    "Andersen",
    "Dubois",
    "Martinez",
    "O'Brien",
    "Chen",
    "Walker",
    "Fischer",
    "Lopez",
    "Kim",
    "Hughes",
    "Novak",
    "Moreau",
    "Cohen",
    "Singh",
    "Bauer",
    "Reyes",
)
DOMAINS = (
    "example.com",
    "mail.example.org",
    "gmail.com",
    "outlook.co.uk",
    "firma.de",
    "uni.edu",
    "proton.me",
    "yahoo.fr",
    "company.io",
    "post.example.net",
)
STREETS = ("Oak", "Maple", "Baker", "High", "Elm", "Cedar", "Station", "Park", "Church", "Mill")
CITIES = (
    ("Springfield", "IL", "62704"),
    ("Austin", "TX", "78701"),
    ("Portland", "OR", "97205"),
    ("Denver", "CO", "80202"),
    ("Boston", "MA", "02108"),
    ("Columbus", "OH", "43215"),
)
# (country calling code, national significant number lengths, groupings) for international formats.
INTL = (
    ("44", "2", (2, 4, 4)),
    ("44", "7", (4, 6)),
    ("49", "3", (2, 8)),
    ("49", "1", (3, 8)),
    ("33", "1", (1, 2, 2, 2, 2)),
    ("33", "6", (1, 2, 2, 2, 2)),
    ("91", "9", (5, 5)),
    ("61", "2", (1, 4, 4)),
    ("81", "3", (1, 4, 4)),
    ("34", "6", (3, 3, 3)),
    ("39", "3", (3, 3, 4)),
    ("31", "6", (1, 8)),
)
CARDS = (
    ("4", 16),
    ("4", 13),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3530", 16),
    ("36", 14),
)
IBAN_COUNTRIES = (
    ("DE", 0),
    ("GB", 4),
    ("FR", 0),
    ("ES", 0),
    ("IT", 1),
    ("NL", 4),
    ("BE", 0),
    ("CH", 0),
    ("AT", 0),
    ("PL", 0),
    ("SE", 0),
    ("IE", 4),
)


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1)) if n else ""


def gen_first_name(rng: random.Random) -> str:
    return rng.choice(FIRST)


def gen_last_name(rng: random.Random) -> str:
    return rng.choice(LAST)


def gen_name(rng: random.Random) -> str:
    return f"{gen_first_name(rng)} {gen_last_name(rng)}"


def gen_email(rng: random.Random, name: str | None = None) -> str:
    first, last = (name or gen_name(rng)).lower().replace("'", "").replace("ü", "u").split()[:2]
    local = rng.choice(
        (f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}", f"{first}+orders", f"{last}.{first[0]}")
    )
    return f"{local}@{rng.choice(DOMAINS)}"


def gen_phone_us(rng: random.Random) -> str:
    area, exchange, line = _digits(rng, 3, "23456789"), _digits(rng, 3, "23456789"), _digits(rng, 4)
    return rng.choice(
        (
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
            f"+1-{area}-{exchange}-{line}",
            f"1-{area}-{exchange}-{line}",
            f"+1 ({area}) {exchange}-{line}",
        )
    )


def gen_phone_intl(rng: random.Random) -> str:
    code, lead, groups = rng.choice(INTL)
    number = lead + _digits(rng, sum(groups) - 1, "123456789")
    parts, i = [], 0
    for g in groups:
        parts.append(number[i : i + g])
        i += g
    sep = rng.choice((" ", " ", "-", ""))
    prefix = rng.choice(("+", "+", "+", "00"))
    return f"{prefix}{code} " + sep.join(parts) if sep else f"+{code}{number}"


def gen_phone(rng: random.Random) -> str:
    return gen_phone_us(rng) if rng.random() < 0.5 else gen_phone_intl(rng)


def gen_credit_card(rng: random.Random) -> str:
    prefix, length = rng.choice(CARDS)
    partial = prefix + _digits(rng, length - len(prefix) - 1)
    number = partial + checks.luhn_check_digit(partial)
    sep = rng.choice(("", " ", "-", " "))
    if not sep:
        return number
    groups = (4, 6, 5) if length == 15 else (4, 6, 4) if length == 14 else (4,) * (length // 4) + (length % 4,)
    parts, i = [], 0
    for g in (g for g in groups if g):
        parts.append(number[i : i + g])
        i += g
    return sep.join(parts)


def gen_ssn(rng: random.Random) -> str:
    while True:
        number = f"{rng.randint(1, 899):03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if checks.ssn_ok(number):
            return f"{number[:3]}-{number[3:5]}-{number[5:]}"


def gen_iban(rng: random.Random) -> str:
    country, letters = rng.choice(IBAN_COUNTRIES)
    bban_len = checks.IBAN_LENGTHS[country] - 4
    bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(letters)) + _digits(rng, bban_len - letters)
    iban = country + checks.iban_check_digits(country, bban) + bban
    if rng.random() < 0.4:
        return iban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def gen_ipv4(rng: random.Random) -> str:
    return ".".join(str(o) for o in (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)))


def gen_ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    groups[0] = rng.choice(("2001", "2a02", "fe80", "2607"))
    if rng.random() < 0.5:
        return ":".join(groups)
    return ":".join(groups[:3]) + "::" + ":".join(groups[6:])


def gen_ip(rng: random.Random) -> str:
    return gen_ipv4(rng) if rng.random() < 0.7 else gen_ipv6(rng)


def gen_address(rng: random.Random) -> str:
    city, state, zip_code = rng.choice(CITIES)
    street = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(('Street', 'Avenue', 'Road', 'Lane'))}"
    return f"{street}, {city}, {state} {zip_code}"


def gen_record(rng: random.Random) -> dict[str, str]:
    name = gen_name(rng)
    return {
        "name": name,
        "email": gen_email(rng, name),
        "phone": gen_phone(rng),
        "card": gen_credit_card(rng),
        "ssn": gen_ssn(rng),
        "iban": gen_iban(rng),
        "ip": gen_ip(rng),
        "address": gen_address(rng),
    }


GENERATORS: dict[str, Callable[[random.Random], Any]] = {
    "name": gen_name,
    "first_name": gen_first_name,
    "last_name": gen_last_name,
    "email": gen_email,
    "phone": gen_phone,
    "phone_us": gen_phone_us,
    "phone_intl": gen_phone_intl,
    "credit_card": gen_credit_card,
    "ssn": gen_ssn,
    "iban": gen_iban,
    "ip": gen_ip,
    "ipv4": gen_ipv4,
    "ipv6": gen_ipv6,
    "address": gen_address,
    "record": gen_record,
}


def _strategy(kind: str) -> Any:
    from hypothesis import strategies as st

    return st.randoms(use_true_random=False).map(GENERATORS[kind])


def names() -> Any:
    """Strategy: full names ("Jane Smith")."""
    return _strategy("name")


def emails() -> Any:
    """Strategy: email addresses on real public suffixes."""
    return _strategy("email")


def phones() -> Any:
    """Strategy: US (several punctuations) and international (+CC / 00CC) phone numbers."""
    return _strategy("phone")


def credit_cards() -> Any:
    """Strategy: Luhn-valid card numbers of several brands, plain or grouped."""
    return _strategy("credit_card")


def ssns() -> Any:
    """Strategy: dashed US SSNs that Presidio's validity rules accept."""
    return _strategy("ssn")


def ibans() -> Any:
    """Strategy: IBANs with correct check digits from 12 countries, compact or grouped by four."""
    return _strategy("iban")


def ip_addresses() -> Any:
    """Strategy: IPv4 and IPv6 addresses."""
    return _strategy("ip")


def addresses() -> Any:
    """Strategy: US street addresses."""
    return _strategy("address")


def pii_records() -> Any:
    """Strategy: one person's record: name, email, phone, card, ssn, iban, ip, address."""
    return _strategy("record")


def generate_cases(spec: Mapping[str, Any], *, n: int | None = None, seed: int | None = None) -> list[dict[str, Any]]:
    """`n` var dicts from a `generate:` block (`{n, seed, vars: {name: kind}}`); the same seed gives the same cases.

    Case i depends only on (seed, i), so raising n appends cases without changing the earlier ones.
    """
    n = spec.get("n") if n is None else n
    seed = spec.get("seed", 0) if seed is None else seed
    kinds = spec.get("vars")
    if not isinstance(n, int) or n < 1:
        raise SuiteError(f"generate needs a positive integer n, got {n!r}", key="generate.n", hint="n: 20")
    if not isinstance(kinds, Mapping) or not kinds:
        raise SuiteError(
            "generate needs vars: a mapping of var name to kind",
            key="generate.vars",
            hint="vars: {customer: record, email: email}",
        )
    for var, kind in kinds.items():
        if kind not in GENERATORS:
            raise SuiteError(
                f"unknown generator kind {kind!r} for var '{var}'",
                key=f"generate.vars.{var}",
                hint=f"kinds: {', '.join(GENERATORS)}",
            )
    cases = []
    for i in range(n):
        rng = random.Random(f"llmeval:{seed}:{i}")
        cases.append({var: GENERATORS[kind](rng) for var, kind in kinds.items()})
    return cases


# Prompt perturbations (robustness): hypothesis strategies over llmeval.robustness.perturb.
from llmeval.robustness.edit_strategies import (  # noqa: E402, F401  (re-exported)
    casing,
    distractors,
    lookalikes,
    noise,
    perturbations,
    reordered_options,
    synonyms,
    typos,
)
