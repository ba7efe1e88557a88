"""Validate loaded YAML against the schema and turn pydantic errors into file:line messages with a fix."""

from __future__ import annotations

from typing import Any

from llmeval.errors import SuiteError, unknown_name_hint
from llmeval.suite import schema
from llmeval.suite.yamlfile import LineMap

EXAMPLES = {
    "suite": "suite: support-bot",
    "cases": 'cases:\n    - id: refund-window\n      vars: {question: "How long do I have to return an item?"}',
    "id": "- id: refund-window",
    "generation": "generation: {max_new_tokens: 48, temperature: 0, seed: 0}",
    "scorers": 'scorers:\n    - rougeL: {min: 0.5}\n    - contains: "30 days"',
    "gates": 'gates:\n    - {metric: rougeL, mean: ">= 0.6", ci: 0.95}',
    "vars": 'vars: {question: "How long do I have to return an item?"}',
    "messages": 'messages:\n    - {role: user, content: "{{ question }}"}',
    "tags": "tags: [refunds, smoke]",
    "regression": "regression:\n    - {metric: rougeL, max_drop: 0.02}",
    "cases_from": "- cases_from: ../fixtures/data/faq.csv",
    "metric": '- {metric: rougeL, mean: ">= 0.6"}',
    "generate": "- {generate: {email: email, card: credit_card}, n: 20, seed: 1}",
}


def validate(data: Any, linemap: LineMap) -> schema.SuiteSchema:
    """Validate data against SuiteSchema; raise SuiteError for the first problem, at its line."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise linemap.error((), "a suite file must be a mapping with a top-level 'suite:' key", hint=EXAMPLES["suite"])
    try:
        return schema.SuiteSchema.model_validate(data)
    except ValidationError as exc:
        raise _to_suite_error(dict(exc.errors()[0]), data, linemap) from None


def _data_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop union tags and type names that pydantic adds to a location but the data does not have."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, (dict, list)) and not isinstance(part, int) and part in _model_fields_near(node):
            out.append(part)  # a missing key: report at its parent, name the key
            node = None
    return tuple(out)


def _model_fields_near(node: Any) -> set[str]:
    names: set[str] = set()
    for model in (
        schema.SuiteSchema,
        schema.CaseSchema,
        schema.TableSchema,
        schema.GenerateSchema,
        schema.GateSchema,
        schema.GenerationSchema,
        schema.DefaultsSchema,
        schema.MessageSchema,
        schema.RegressionSchema,
    ):
        names.update(model.model_fields)
    return names


def _model_at(loc: tuple[Any, ...], data: Any) -> Any:
    """The schema model that describes the mapping at `loc` (for listing its allowed keys)."""
    keys = [p for p in loc if not isinstance(p, int)]
    if not keys:
        return schema.SuiteSchema
    last = keys[-1]
    if last == "cases" and isinstance(loc[-1], int):
        node = data
        for part in loc:
            node = node[part]
        kind = schema._case_kind(node)
        return {"table": schema.TableSchema, "generate": schema.GenerateSchema}.get(kind, schema.CaseSchema)
    return {
        "generation": schema.GenerationSchema,
        "defaults": schema.DefaultsSchema,
        "gates": schema.GateSchema,
        "regression": schema.RegressionSchema,
        "messages": schema.MessageSchema,
    }.get(last)


def _to_suite_error(err: dict[str, Any], data: Any, linemap: LineMap) -> SuiteError:
    loc = _data_loc(tuple(err["loc"]), data)
    kind = err["type"]
    key = str(loc[-1]) if loc and not isinstance(loc[-1], int) else None
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], data)
        allowed = sorted(model.model_fields) if model else []
        return linemap.error(loc, f"unknown key '{key}'", key=key, hint=unknown_name_hint(str(key), allowed))
    if kind == "missing":
        where = "this case" if len(loc) > 2 and loc[0] == "cases" else "the suite"
        return linemap.error(loc, f"required key '{key}' is missing in {where}", key=key, hint=_example(key))
    given = err.get("input")
    shown = repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
    message = f"{err['msg'].rstrip('.')} (got {shown})"
    if kind in ("union_tag_invalid", "model_attributes_type", "model_type"):
        message = f"expected a mapping (got {shown})"
    if kind == "string_pattern_mismatch":
        rule = schema.CASE_ID_RULE if key == "id" and loc[:1] == ("cases",) else "letters, digits and _ . - (no spaces)"
        message = f"{given!r} is not a valid name: use {rule}"
    field = next((str(p) for p in reversed(loc) if not isinstance(p, int)), None)
    return linemap.error(loc, message, key=key or field, hint=_example(field))


def _example(key: str | None) -> str | None:
    example = EXAMPLES.get(key or "")
    return f"for example:\n    {example}" if example else None
