"""Redaction: the run's Redactor masks secrets and PII in every string of every record; end to end, the results
file, the HTML report, JUnit and the terminal."""

from __future__ import annotations

import json

import pytest

from llmeval.core.redactor import CHUNK_CHARS, Redactor
from llmeval.pii import engine as engine_mod

APP = """
def leaky(prompt, vars):
    return f"Sure, I emailed {vars['email']} and called {vars['phone']}."
"""

SUITE = """\
suite: leaky
model: python:app:leaky
prompt: "Contact me at {{ email }}"
defaults:
  scorers: [{contains: "never matches this"}]
cases:
  - {id: a, vars: {email: jane.doe@example.com, phone: "+1 212 555 0182"}}
"""

SECRETS = ("jane.doe@example.com", "555 0182")


def test_redaction_in_every_output(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", leaky=SUITE)
    result = pytester.runpytest_subprocess(
        "--llmeval-redact-pii", "--llmeval-results", "r.jsonl", "--llmeval-html", "r.html", "--junitxml", "j.xml"
    )
    result.assert_outcomes(failed=1)
    outputs = {
        "terminal": result.stdout.str(),
        "results": (pytester.path / "r.jsonl").read_text(),
        "html": html_text(pytester.path / "r.html"),
        "junit": (pytester.path / "j.xml").read_text(),
    }
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into the {name}"
        assert "&lt;EMAIL_ADDRESS&gt;" in text or "<EMAIL_ADDRESS>" in text, name


def html_text(path):
    """The report's markup plus its case table, which it embeds compressed."""
    import json
    import re

    from llmeval.reporting import case_table

    html = path.read_text()
    table = case_table.decode(re.search(r'id="llmeval-cases">([A-Za-z0-9+/=]+)</script>', html)[1])
    return html + json.dumps(table, ensure_ascii=False)


def test_without_redaction_the_text_is_kept(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", leaky=SUITE)
    pytester.runpytest("--llmeval-results", "r.jsonl")
    assert SECRETS[0] in (pytester.path / "r.jsonl").read_text()


# -- the run's Redactor: one detection pass, every string of every record ------------------------------------------

EMAIL = "margaret.thompson@example.com"
CARD = "4111 1111 1111 1111"
KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def case_record(**fields):
    record = {"kind": "case", "suite": "support", "case": "refund", "model": "python:app:bot", "prompt": "", "output": ""}
    return {**record, "reference": "", "vars": {}, "scores": {}, "error": None, **fields}


def text_of(records) -> str:
    return json.dumps(records, ensure_ascii=False)


@pytest.fixture
def engine_calls(monkeypatch):
    """Counts calls into the real PII engine (each call is one batched pass)."""
    calls: list[int] = []
    real = engine_mod.PiiEngine.run

    def counting(self, texts, entities, min_score):
        calls.append(len(texts))
        return real(self, texts, entities, min_score)

    monkeypatch.setattr(engine_mod.PiiEngine, "run", counting)
    return calls


def test_application_errors_are_redacted():
    record = case_record(prompt="Refund please", error=f"ValueError: card {CARD} declined for {EMAIL}")
    out = text_of(Redactor(pii=True).redact_records([record]))
    assert EMAIL not in out and CARD not in out
    assert "<CREDIT_CARD>" in out and "<EMAIL_ADDRESS>" in out


def test_truncated_quotes_in_explanations_are_masked():
    explanation = 'output "Your receipt went to margaret.thompson@exampl…" lacks "30 days"'
    record = case_record(output=f"Your receipt went to {EMAIL} today.", scores={"contains": {"explanation": explanation}})
    out = Redactor(pii=True).redact_records([record])[0]
    assert "exampl" not in out["scores"]["contains"]["explanation"]
    assert out["scores"]["contains"]["explanation"] == 'output "Your receipt went to <EMAIL_ADDRESS>…" lacks "30 days"'


def test_a_name_found_in_one_field_is_masked_in_all_fields_and_records():
    records = [
        case_record(prompt="Please contact Margaret Thompson about the refund.", output="Refund approved for Thompson."),
        case_record(case="other", output="Thompson: ok", reference="Dear Margaret, your refund is on its way."),
        {"kind": "gate", "suite": "support", "gate": "pass_rate", "message": "worst: Thompson", "worst": []},
    ]
    out = text_of(Redactor(pii=True).redact_records(records))
    assert "Thompson" not in out and "Margaret" not in out


@pytest.mark.parametrize(
    "text",
    [
        "Summarise: the customer wants a refund.",
        "Reply with the label PHONE_NUMBER when a phone number is present.",
        "Replace it with <PHONE_NUMBER> or <PERSON> as the policy says.",
    ],
)
def test_plain_words_and_labels_stay(text):
    redactor = Redactor(pii=True)
    assert redactor.redact_records([case_record(prompt=text)])[0]["prompt"] == text
    assert redactor.redact_text(text) == text


def test_secrets_are_masked_without_pii_whole_partial_and_cut_off():
    record = case_record(
        output=f"Using key {KEY} now",
        error=f"401 for key ...{KEY[10:30]}... rejected",
        scores={"x": {"explanation": f"saw '{KEY[:14]}…'"}},
    )
    out = Redactor(pii=False, secrets=[KEY]).redact_records([record])[0]
    assert out["output"] == "Using key <SECRET> now"
    assert out["error"] == "401 for key ...<SECRET>... rejected"
    assert out["scores"]["x"]["explanation"] == "saw '<SECRET>…'"
    assert Redactor(pii=False, secrets=[KEY]).redact_text(f"model {KEY}") == "model <SECRET>"


def test_without_pii_personal_data_is_kept():
    record = case_record(prompt=f"Mail {EMAIL}", error=f"card {CARD}")
    assert Redactor(pii=False).redact_records([record]) == [record]
    assert EMAIL in Redactor(pii=False, secrets=[KEY]).redact_records([record])[0]["prompt"]


def test_one_engine_pass_for_all_records(engine_calls):
    records = [case_record(case=f"c{i}", prompt=f"Ask about order {i}", output=f"Mail {i}@example.com") for i in range(20)]
    out = Redactor(pii=True).redact_records(records)
    assert len(engine_calls) == 1 and engine_calls[0] >= 20
    assert all("@example.com" not in r["output"] for r in out)


def test_redact_text_uses_the_runs_values_and_a_fresh_pass(engine_calls):
    redactor = Redactor(pii=True)
    redactor.redact_records([case_record(prompt="Please contact Margaret Thompson about the refund.")])
    line = "case refund errored: Thompson asked to mail jane.doe@example.com"
    assert redactor.redact_text(line) == "case refund errored: <PERSON> asked to mail <EMAIL_ADDRESS>"
    assert len(engine_calls) == 2


@pytest.mark.parametrize(
    "record",
    [
        case_record(scores={"pii": {"metadata": {"leaks": [{"type": "EMAIL_ADDRESS", "quote": EMAIL}]}}}),
        case_record(references=["a", f"write to {EMAIL}"]),
        case_record(vars={"customer": {"contact": [EMAIL]}}),
        case_record(context=[f"CRM: {EMAIL}"]),
        {"kind": "gate", "suite": "s", "gate": "g", "message": f"groups: {EMAIL}=0.5", "groups": {EMAIL: {"value": 0.5}}},
        {
            "kind": "gate",
            "suite": "s",
            "gate": "g",
            "message": "",
            "worst": [{"case": f"email={EMAIL}", "value": 0.1}],
            "detail": f"from {EMAIL}",
        },
    ],
)
def test_every_string_anywhere_is_redacted(record):
    assert EMAIL not in text_of(Redactor(pii=True).redact_records([record]))


def test_long_texts_are_redacted_in_full():
    filler = "The refund policy covers thirty days. " * (CHUNK_CHARS // 20)
    output = f"{filler}Mail {EMAIL}. {filler}Card {CARD} on file. {filler}"
    out = Redactor(pii=True).redact_records([case_record(output=output)])[0]["output"]
    assert EMAIL not in out and CARD not in out
    assert len(out) < len(output)


def test_ids_are_not_sent_to_the_detector_but_keep_no_known_values():
    records = [case_record(case="Summarise-Thompson", prompt="Please contact Margaret Thompson about the refund.")]
    out = Redactor(pii=True).redact_records(records)[0]
    assert out["case"] == "Summarise-<PERSON>" and out["kind"] == "case" and out["suite"] == "support"
