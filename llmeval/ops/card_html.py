"""The model card's evaluation part as a section of the HTML report (the same sections as `llmeval card`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.ops.card import card_sections
from llmeval.records import CaseRecord, GateRecord, Manifest, Results, Verdict
from llmeval.reporting.report_view import ReportSection

_TEMPLATE = """
{% for section in sections %}
<h3>{{ section.title }}</h3>
{% if section.columns %}
<table class="card"><thead><tr>{% for c in section.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in section.rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>
{% endif %}
{% for note in section.notes %}<p>{{ note }}</p>{% endfor %}
{% endfor %}
"""


def card_report_section(
    cases: Sequence[CaseRecord],
    gates: Sequence[GateRecord],
    verdict: Verdict,
    manifest: Manifest,
    *,
    cost_per_1k: float | None = None,
) -> ReportSection:
    """The card of this run, every value escaped by the report's sandboxed, autoescaping environment."""
    from markupsafe import Markup

    from llmeval.reporting.html import environment

    run = Results(tuple(cases), tuple(gates), verdict, manifest)
    sections = [_plain(s) for s in card_sections([run], cost_per_1k=cost_per_1k)]
    body = environment().from_string(_TEMPLATE).render(sections=sections)
    return ReportSection("Model card (evaluation)", Markup(body), id="model-card")


def _plain(section: Any) -> dict[str, Any]:
    """A section's cells as text (the template escapes them)."""
    rows = [["" if v is None else str(v) for v in row] for row in section.rows]
    return {"title": section.title, "columns": section.columns, "rows": rows, "notes": [n.lstrip("- ") for n in section.notes]}
