"""Counterfactual expansion: every base case once per combination of sensitive-attribute groups.

A suite's ``counterfactual:`` block names attributes and, per attribute, its groups with a value or a
list of values (e.g. first names that signal a group). Each base case (inline, table row or probe)
becomes a *counterfactual set*: the same case with only the attribute values changed. With value
lists, the i-th value of every group makes set i. Each generated case carries its groups as vars
``group.<attribute>``, its set id as ``counterfactual.set`` and its base case as ``counterfactual.base``,
which the fairness gates read (the base case is the independent unit their intervals count).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmeval.suite import schema
from llmeval.suite.yamlfile import LineMap

SET_VAR = "counterfactual.set"
BASE_VAR = "counterfactual.base"  # the base case: the unit sampled, which every set and name of it shares
GROUP_PREFIX = "group."
_HINT = (
    "e.g.\n    counterfactual:\n      attributes:\n        gender: {female: [Emily, Anne], male: [Greg, Jay]}\n"
    "        ethnicity: {var: name, values: {white: [Emily, Greg], black: [Lakisha, Jamal]}}"
)


@dataclass(frozen=True)
class Attribute:
    """One sensitive attribute: the template var it fills and its groups' values (one list per group)."""

    name: str
    var: str
    groups: tuple[tuple[str, tuple[Any, ...]], ...]


def parse(block: Mapping[str, Any] | None, linemap: LineMap) -> tuple[Attribute, ...]:
    """The attributes of a ``counterfactual:`` block, checked; errors name the file and line."""
    if not block:
        return ()
    attrs = block.get("attributes")
    if not isinstance(attrs, Mapping) or not attrs:
        raise linemap.error(
            ("counterfactual",),
            "counterfactual needs 'attributes': a mapping of attribute -> groups",
            key="counterfactual",
            hint=_HINT,
        )
    return tuple(_attribute(str(name), spec, linemap) for name, spec in attrs.items())


def _attribute(name: str, spec: Any, linemap: LineMap) -> Attribute:
    loc = ("counterfactual", "attributes", name)
    var = name
    if isinstance(spec, Mapping) and "values" in spec and set(spec) <= {"var", "values"}:
        var, spec = str(spec.get("var") or name), spec["values"]
    if not isinstance(spec, Mapping) or len(spec) < 2:
        raise linemap.error(
            loc,
            f"attribute '{name}' needs at least two groups, each with a value or a list of values",
            key="counterfactual",
            hint=_HINT,
        )
    groups = []
    for group, values in spec.items():
        items = tuple(values) if isinstance(values, list) else (values,)
        if not items or not re.fullmatch(r"[A-Za-z0-9_.-]+", str(group)):
            raise linemap.error(
                loc + (group,),
                f"group '{group}' of attribute '{name}' needs a plain name (letters, digits, _ . -) and at least one value",
                key="counterfactual",
                hint=_HINT,
            )
        groups.append((str(group), items))
    return Attribute(name, var, tuple(groups))


def set_count(attrs: tuple[Attribute, ...]) -> int:
    """Sets per base case: the longest value list (shorter lists repeat their values)."""
    return max((len(values) for a in attrs for _, values in a.groups), default=1)


def variant_count(attrs: tuple[Attribute, ...]) -> int:
    """Cases each base case becomes: value sets x the product of the attributes' group counts (no list built)."""
    count = set_count(attrs)
    for attr in attrs:
        count *= len(attr.groups)
    return count


def variants(attrs: tuple[Attribute, ...], case_id: str, variables: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(case id, vars) of every counterfactual variant of one base case, set by set."""
    if not attrs:
        return [(case_id, dict(variables))]
    sets = set_count(attrs)
    out = []
    for i in range(sets):
        set_id = case_id if sets == 1 else f"{case_id}.{i + 1}"
        for combo in itertools.product(*(a.groups for a in attrs)):
            values = {**variables, SET_VAR: set_id, BASE_VAR: case_id}
            for attr, (group, items) in zip(attrs, combo, strict=True):
                values[attr.var] = items[i % len(items)]
                values[GROUP_PREFIX + attr.name] = group
            out.append((f"{set_id}:{'.'.join(g for g, _ in combo)}", values))
    return out


def check_id(case_id: str, linemap: LineMap) -> None:
    if not re.fullmatch(schema.CASE_ID_PATTERN, case_id):
        raise linemap.error(
            ("counterfactual",),
            f"counterfactual case id {case_id!r} is not a valid case id: use {schema.CASE_ID_RULE}",
            key="counterfactual",
        )
