"""Control and bidi characters in model text are shown escaped, never sent raw to a terminal or a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmeval.reporting import case_table
from llmeval.reporting.compare import compare_runs, format_comparison, render_compare_html
from llmeval.reporting.failure import describe_case_error
from llmeval.reporting.html import render_html
from llmeval.reporting.safe import display, display_line
from llmeval.reporting.terminal import summary_lines

# ESC sequences (title, clear screen, colour), CR, BEL, NUL, DEL, a C1 CSI, bidi overrides and isolates
HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rover\x00\x7f\x9b\u202eexe.txt\u2066x\u2069\u202a\u2028"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text", "plain text"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("bell\x07 cr\r", "bell\\x07 cr\\r"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("csi\x9b del\x7f nul\x00", "csi\\x9b del\\x7f nul\\x00"),
        ("keeps\nlines\tand tabs", "keeps\nlines\tand tabs"),
        ("ünïcödé 中文 🙂", "ünïcödé 中文 🙂"),
    ],
)
def test_display_escapes_controls_and_bidi(text: str, shown: str) -> None:
    assert display(text) == shown


def test_display_line_has_no_line_breaks() -> None:
    assert display_line("a\nb\tc\r\u2028") == "a\\nb\\tc\\r\\u2028"
    assert RAW.search(display(HOSTILE)) is None and "\n" not in display_line(HOSTILE + "\n")


def test_display_is_idempotent() -> None:
    assert display(display(HOSTILE)) == display(HOSTILE)


APP = f"""
def answer(prompt):
    return {HOSTILE!r}
"""

SUITE = """\
suite: hostile
model: python:app:answer
prompt: "Q: {{ question }}"
cases:
  - id: evil
    vars: {question: "anything"}
    reference: "a harmless reference"
    scorers: [{contains: "never there"}, {exact: "x"}]
gates:
  - {metric: contains, pass_rate: ">= 1.0"}
"""


def test_terminal_shows_hostile_output_escaped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", hostile=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--color=no")
    out = result.stdout.str() + result.stderr.str()
    assert "case 'evil' failed" in out
    assert RAW.search(out) is None, repr(RAW.search(out))
    assert "ok\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\rover\\x00\\x7f\\x9b\\u202eexe.txt" in out


def test_summary_and_comparison_lines_are_display_safe(make_case: Any) -> None:
    rows = [make_case(f"c{i}", model=m, suite="s\x1b[2J", output=HOSTILE) for i in range(3) for m in ("a", "b\u202e")]
    lines = [line for line, _ in summary_lines(rows, None)]
    assert lines and all(RAW.search(line) is None for line in lines)
    assert any("s\\x1b[2J on" in line for line in lines)
    text = format_comparison(compare_runs({"a\x07": rows[::2], "b\u202e": rows[1::2]}), markdown=False)
    assert RAW.search(text.replace("\n", "")) is None and "a\\x07" in text and "b\\u202e" in text


def test_error_message_and_compare_html_are_display_safe(tmp_path: Path, make_case: Any) -> None:
    message = describe_case_error("s.yaml:3", "evil", "python:app:answer", f"RuntimeError: {HOSTILE}\nline two")
    assert RAW.search(message) is None and "\n" not in message and "RuntimeError: ok\\x1b]0;pwned" in message
    rows = [make_case(f"c{i}", model=m, output=HOSTILE, rouge=0.1 * i + (m == "b")) for i in range(4) for m in "ab"]
    comparison = compare_runs({"a\x1b[2J": rows[::2], "b\u202e": rows[1::2]})
    html = render_compare_html(comparison, tmp_path / "c.html").read_text(encoding="utf-8")
    assert RAW.search(html) is None and "a\\x1b[2J" in html and "ok\\x1b]0;pwned" in html


def test_html_shows_hostile_text_escaped(tmp_path: Path, make_case: Any) -> None:
    rows = [make_case("evil\u202e", output=HOSTILE, error=None), make_case("broken", error=f"boom {HOSTILE}")]
    html = render_html(rows, tmp_path / "r.html", title="t\x1b[2J").read_text(encoding="utf-8")
    assert RAW.search(html) is None, repr(RAW.search(html))
    assert "<title>t\\x1b[2J</title>" in html
    data = case_table.decode(re.search(r'id="llmeval-cases">([A-Za-z0-9+/=]+)</script>', html)[1])
    texts = json.dumps(data, ensure_ascii=False)
    assert RAW.search(texts) is None and "evil\\u202e" in [c[2] for c in data["cases"]]
    assert data["cases"][0][7].startswith("ok\\x1b]0;pwned\\x07") and "boom ok\\x1b]0" in data["cases"][1][9]
