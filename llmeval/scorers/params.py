"""Scorer parameters, declared once: by the factory's signature (names, types, defaults).

From it come the check of a suite entry's parameters (`build`), the typed scorer entries of the suite
JSON Schema (`llmeval schema`) and the listing (`llmeval scorers`). A factory's type hints are read with
pydantic, so `mode: Literal["all", "any"]` is a choice in all three; a `**kwargs` factory takes any key.
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from llmeval.errors import ScorerError, unknown_name_hint

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from llmeval.scorers.base import ScorerInfo

ENTRY_DESCRIPTION = "One scorer: its registered name mapped to its parameters, e.g. {rougeL: {min: 0.5}}"


@functools.cache
def _signature(factory: Callable[..., Any]) -> tuple[dict[str, tuple[Any, Any]], bool]:
    """name -> (type hint, default or inspect.Parameter.empty) of each keyword parameter; whether **kwargs is taken."""
    params = inspect.signature(factory).parameters
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory, include_extras=True)
    except Exception:  # a hint that does not resolve (a name imported under TYPE_CHECKING): untyped
        hints = {}
    fields = {
        p.name: (hints.get(p.name, Any), p.default)
        for p in params.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    }
    return fields, any(p.kind is p.VAR_KEYWORD for p in params.values())


@functools.cache
def _adapter(factory: Callable[..., Any], name: str) -> TypeAdapter[Any]:
    """A pydantic validator of the factory's parameters: a TypedDict of them (only the keys given are kept)."""
    from pydantic import ConfigDict, TypeAdapter
    from typing_extensions import TypedDict  # pydantic reads typing's TypedDict on Python 3.12+ only

    fields, open_ended = _signature(factory)
    shape = {n: hint if default is inspect.Parameter.empty else typing.NotRequired[hint] for n, (hint, default) in fields.items()}
    params = TypedDict(f"{name}_params", shape)  # type: ignore[misc]  # (the functional form, fields computed)
    # a number where text is expected is that text (`contains: 30`); YAML's yes/no stay booleans
    config = ConfigDict(extra="allow" if open_ended else "forbid", coerce_numbers_to_str=True)
    params.__pydantic_config__ = config  # type: ignore[attr-defined]
    return TypeAdapter(params)


def names(info: ScorerInfo) -> list[str]:
    return list(_signature(info.factory)[0])


def checked(info: ScorerInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as the factory's types have them ("0.5" from a template is 0.5); ScorerError naming each bad one."""
    from pydantic import ValidationError

    adapter = _adapter(info.factory, info.name)
    try:
        return dict(adapter.validate_python(dict(params)))
    except ValidationError as exc:
        properties = schema(info)["properties"]
        problems: dict[str, str] = {}
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                problems[key] = f"'{key}' is not a parameter of '{info.name}' ({unknown_name_hint(key, names(info))})"
            elif error["type"] == "missing":
                problems[key] = f"'{key}' is required ({type_text(properties.get(key, {}))})"
            else:
                problems.setdefault(key, f"{key}: expected {type_text(properties.get(key, {}))}, got {error['input']!r}")
        raise ScorerError(
            f"bad parameters for scorer '{info.name}': {'; '.join(problems.values())}",
            key=info.name,
            hint=f"'{info.name}' accepts: {', '.join(names(info))} (`llmeval scorers {info.name}`: their types and defaults)",
        ) from None


def schema(info: ScorerInfo) -> dict[str, Any]:
    """The JSON Schema of the scorer's parameter mapping, with each parameter's default and the scorer's summary."""
    from pydantic_core import to_jsonable_python

    found = _adapter(info.factory, info.name).json_schema(ref_template="#/$defs/{model}")
    fields, _ = _signature(info.factory)
    for key, prop in found.get("properties", {}).items():
        prop.pop("title", None)
        default = fields[key][1]
        if default is not inspect.Parameter.empty:
            prop["default"] = to_jsonable_python(default, fallback=repr)
    found["title"] = info.name
    if info.summary:
        found["description"] = info.summary
    return found


def entry_schema(infos: Iterable[ScorerInfo]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schema of one `scorers:` entry ({name: parameters}, or {name: value} for the shorthand), and its $defs."""
    properties: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    for info in infos:
        params = schema(info)
        defs.update(params.pop("$defs", {}))
        ref = f"scorer.{info.name}"
        defs[ref] = params
        choices: list[dict[str, Any]] = [{"$ref": f"#/$defs/{ref}"}]
        if info.shorthand is not None and info.shorthand in params.get("properties", {}):
            choices.append(params["properties"][info.shorthand])
        properties[info.name] = {"anyOf": choices} if len(choices) > 1 else choices[0]
    entry = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": properties,
        "description": ENTRY_DESCRIPTION,
    }
    return entry, defs


def type_text(prop: Mapping[str, Any]) -> str:
    """A JSON Schema property as a short type: `string | list[string]`, `'all' | 'any'`, `number | null`."""
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " | ".join(dict.fromkeys(type_text(p) for p in prop["anyOf"]))
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items")
        return f"list[{type_text(items)}]" if items else "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"mapping[string, {type_text(values)}]" if isinstance(values, dict) and values else "mapping"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    return str(kind) if kind else "any"


def parameter_lines(info: ScorerInfo) -> list[str]:
    """`name: type = default` (or `(required)`) per parameter, for the listing."""
    found = schema(info)
    required = set(found.get("required", ()))
    lines = []
    for key, prop in found.get("properties", {}).items():
        default = " (required)" if key in required else f" = {json.dumps(prop.get('default'))}"
        lines.append(f"{key}: {type_text(prop)}{default}")
    return lines


def listing(info: ScorerInfo) -> list[str]:
    """What `llmeval scorers` prints for one scorer: name and summary, its scale and shorthand, each parameter."""
    head = f"{info.name:<17} {info.summary}"
    undeclared = info.scale == type(info.scale)()  # Scale() declares nothing
    facts = ["scale undeclared" if undeclared else f"scale {info.scale.describe()}"]
    if info.shorthand:
        facts.append(f"a bare value fills '{info.shorthand}'")
    if info.origin != "built-in":
        facts.append(f"from {info.origin}")
    return [head, f"{'':<17} {'; '.join(facts)}", *(f"{'':<19} {line}" for line in parameter_lines(info))]
