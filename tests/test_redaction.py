"""--llmeval-redact-pii masks PII in the results file, the HTML report, JUnit and the terminal."""

from __future__ import annotations

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
        "html": (pytester.path / "r.html").read_text(),
        "junit": (pytester.path / "j.xml").read_text(),
    }
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into the {name}"
        assert "&lt;EMAIL_ADDRESS&gt;" in text or "<EMAIL_ADDRESS>" in text, name


def test_without_redaction_the_text_is_kept(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", leaky=SUITE)
    pytester.runpytest("--llmeval-results", "r.jsonl")
    assert SECRETS[0] in (pytester.path / "r.jsonl").read_text()
