"""Expand a validated suite into cases: defaults merged, tables read, templates rendered, scorers built."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.backends.base import GenerationConfig
from llmeval.errors import SuiteError, unknown_name_hint
from llmeval.scorers import base as scorers
from llmeval.suite import counterfactual, schema
from llmeval.suite.budget import suite_budget
from llmeval.suite.model import Case, Gate, Suite
from llmeval.suite.paths import Confinement
from llmeval.suite.tables import Row, read_table
from llmeval.suite.templates import render
from llmeval.suite.yamlfile import LineMap


class _Tally:
    """Cases the suite will make, counted block by block before each is built, against `limits.cases`."""

    def __init__(self, cap: int, linemap: LineMap, per_base: int) -> None:
        self.cap, self.linemap, self.per_base, self.total = cap, linemap, per_base, 0
        if per_base > cap:
            self._refuse(("counterfactual",), f"the counterfactual block makes {per_base:,} variants of each case")

    def take(self, loc: tuple[Any, ...], block: str, base: int) -> None:
        count = base * self.per_base
        self.total += count
        if self.total > self.cap:
            made = f"{base:,} x {self.per_base:,} counterfactual variants = {count:,}" if self.per_base > 1 else f"{count:,}"
            self._refuse(loc, f"{block} makes {made} cases, {self.total:,} in the suite so far")

    def _refuse(self, loc: tuple[Any, ...], problem: str) -> None:
        raise self.linemap.error(
            loc,
            f"{problem}: more than this suite's cap of {self.cap:,} cases",
            key="limits.cases",
            hint="make fewer cases, or raise the cap for this suite (at most 10,000,000), e.g.\n"
            f"    limits: {{cases: {self.total or self.per_base}}}",
        )


def expand(spec: schema.SuiteSchema, linemap: LineMap, confinement: Confinement) -> Suite:
    """The suite's cases, gates and settings; file references must resolve inside `confinement`."""
    with suite_budget(spec.limits.budget()):
        return _expand(spec, linemap, confinement)


def _expand(spec: schema.SuiteSchema, linemap: LineMap, confinement: Confinement) -> Suite:
    path = linemap.path
    gen = spec.generation
    config = GenerationConfig(gen.max_new_tokens, gen.temperature, gen.top_p, gen.seed, tuple(gen.stop))
    cases: list[Case] = []
    attrs = counterfactual.parse(spec.counterfactual.model_dump() if spec.counterfactual else None, linemap)
    tally = _Tally(spec.limits.cases, linemap, counterfactual.variant_count(attrs))
    for index, entry in enumerate(spec.cases):
        loc = ("cases", index)
        if isinstance(entry, schema.TableSchema):
            built = _table_cases(spec, entry, loc, linemap, attrs, tally, confinement)
        elif isinstance(entry, schema.GenerateSchema):
            tally.take(loc, f"cases[{index}] (generate, n: {entry.n:,})", entry.n)
            built = _generated_cases(spec, entry, loc, linemap, attrs)
        else:
            tally.take(loc, f"case '{entry.id}'", 1)
            origin = _Origin(spec, linemap, attrs, entry, loc, path, linemap.line(loc))
            built = _variant_cases(origin, entry.id, dict(entry.vars))
        cases.extend(built)
    _check_unique(cases)
    gates = _plan_gates(spec, linemap)
    robustness = _robustness(spec, linemap)
    _check_gate_metrics(gates, cases, path, extra=("robustness",) if robustness else ())
    return Suite(
        name=spec.suite,
        description=spec.description,
        version=spec.version,
        path=path,
        model=spec.model,
        model_line=linemap.line(("model",)),
        generation=config,
        repeat=spec.repeat,
        cases=tuple(cases),
        gates=gates,
        regression=tuple(r.model_dump(exclude_none=True) for r in spec.regression),
        max_error_rate=spec.max_error_rate,
        backend=spec.backend.model_dump(exclude_none=True),
        cache_key_files=_cache_key_files(spec.cache_key_files, linemap, confinement),
        cache_version=spec.cache_version,
        robustness=robustness,
        scales=_metric_scales(spec, robustness is not None),
    )


def _metric_scales(spec: schema.SuiteSchema, robustness: bool) -> dict[str, scorers.Scale]:
    """Each metric the suite scores -> the scale its scorer declares (a renamed scorer keeps its scale)."""
    entries = [e for e in spec.defaults.scorers] + [e for c in spec.cases for e in c.scorers]
    out: dict[str, scorers.Scale] = {"robustness": scorers.Scale(0.0, 1.0, "higher")} if robustness else {}
    for entry in entries:
        for kind, params in entry.items():
            info = scorers.available().get(kind)
            name = params.get("name", kind) if isinstance(params, dict) else kind
            if info is not None:
                out.setdefault(str(name), info.scale)
    return out


def _robustness(spec: schema.SuiteSchema, linemap: LineMap) -> dict[str, Any] | None:
    """The `robustness:` block as plain data, its kinds checked against the known ones."""
    if spec.robustness is None:
        return None
    from llmeval.robustness import KINDS

    for index, kind in enumerate(spec.robustness.kinds):
        if kind not in KINDS:
            raise linemap.error(
                ("robustness", "kinds", index),
                f"unknown perturbation kind {kind!r}",
                key="robustness.kinds",
                hint=f"kinds: {', '.join(KINDS)}",
            )
    return spec.robustness.model_dump()


def _cache_key_files(globs: Sequence[str], linemap: LineMap, confinement: Confinement) -> tuple[str, ...]:
    """The files each glob (relative to the suite's folder) matches, inside the project; none matched is an error."""
    folder = Path(linemap.path).parent
    found: set[str] = set()
    for index, pattern in enumerate(globs):
        matched = []
        if pattern and not Path(pattern).is_absolute():
            line = linemap.line(("cache_key_files", index))
            confinement.check(confinement.folder_of(pattern, folder), suite_path=linemap.path, line=line, key="cache_key_files")
            matched = [
                confinement.check(p, suite_path=linemap.path, line=line, key="cache_key_files")
                for p in folder.glob(pattern)
                if p.is_file()
            ]
        if not matched:
            raise linemap.error(
                ("cache_key_files", index),
                f"cache_key_files entry '{pattern}' matches no file under {folder}",
                key="cache_key_files",
                hint="write globs relative to the suite file, e.g.\n    cache_key_files: [../myapp/**/*.py, ../prompts/*.txt]",
            )
        found.update(str(p) for p in matched)
    return tuple(sorted(found))


def _plan_gates(spec: schema.SuiteSchema, linemap: LineMap) -> tuple[Gate, ...]:
    """The suite's gates plus one regression gate per regression rule, each parsed once, named and at its line."""
    from llmeval.gate.spec import parse_gate, regression_gate, unique_names

    gates = [g.model_dump(exclude_none=True) for g in spec.gates]
    rules = [r.model_dump(exclude_none=True) for r in spec.regression]
    lines = [linemap.line(("gates", i)) for i in range(len(gates))] + [linemap.line(("regression", j)) for j in range(len(rules))]
    parsed = []
    for k, (parse, entry) in enumerate([(parse_gate, g) for g in gates] + [(regression_gate, r) for r in rules]):
        try:
            parsed.append(parse(entry))
        except SuiteError as exc:
            raise SuiteError(exc.message, path=linemap.path, line=lines[k], key=exc.key, hint=exc.hint) from None
    return tuple(Gate(g, g.name, lines[k]) for k, g in enumerate(unique_names(parsed)))


def _check_unique(cases: Sequence[Case]) -> None:
    seen: dict[str, Case] = {}
    for case in cases:
        if case.id in seen:
            first = seen[case.id]
            raise SuiteError(
                f"duplicate case id '{case.id}' (first at {first.path}:{first.line})",
                path=case.path,
                line=case.line,
                key="id",
                hint="case ids must be unique within a suite; rename one",
            )
        seen[case.id] = case


def _check_gate_metrics(gates: Sequence[Gate], cases: Sequence[Case], path: str, extra: Sequence[str] = ()) -> None:
    from llmeval.gate.rows import USAGE_METRICS  # every output has its latency and tokens

    names = sorted({s.name for c in cases for s in c.scorers} | set(extra))
    for gate in gates:
        metric = gate.spec.metric
        if metric not in names and metric not in USAGE_METRICS:
            raise SuiteError(
                f"gate '{gate.name}' aggregates metric '{metric}', which no case in this suite scores",
                path=path,
                line=gate.line,
                key="metric",
                hint=unknown_name_hint(metric, names),
            )


def _merged_scorers(
    spec: schema.SuiteSchema, own: Sequence[dict[str, Any]], loc: tuple[Any, ...]
) -> list[tuple[str, Any, tuple[Any, ...]]]:
    """Defaults first, then the case's own; a case scorer replaces a default of the same name."""
    own_names = {next(iter(entry)) for entry in own}
    merged = [
        (n, p, ("defaults", "scorers", i))
        for i, e in enumerate(spec.defaults.scorers)
        for n, p in e.items()
        if n not in own_names
    ]
    return merged + [(n, p, loc + ("scorers", j)) for j, e in enumerate(own) for n, p in e.items()]


@dataclass(frozen=True)
class _Origin:
    """Where a case comes from: its suite, the entry that makes it, and the file:line it is reported at."""

    spec: schema.SuiteSchema
    linemap: LineMap
    attrs: tuple[counterfactual.Attribute, ...]  # the suite's counterfactual attributes (none: no variants)
    entry: Any  # the case, table or generate entry
    loc: tuple[Any, ...]  # the entry's location in the suite file
    path: str
    line: int


def _variant_cases(origin: _Origin, case_id: str, own_vars: dict[str, Any]) -> Iterator[Case]:
    """The case itself, or its counterfactual variants when the suite has a ``counterfactual:`` block."""
    for variant_id, variables in counterfactual.variants(origin.attrs, case_id, own_vars):
        if origin.attrs:
            counterfactual.check_id(variant_id, origin.linemap)
        yield _build_case(origin, variant_id, variables)


def _build_case(origin: _Origin, case_id: str, own_vars: dict[str, Any]) -> Case:
    spec, entry, linemap, loc, path, line = origin.spec, origin.entry, origin.linemap, origin.loc, origin.path, origin.line
    variables = {**spec.defaults.vars, **own_vars}
    context = _render_list(entry.context, variables, path, line, "context")
    if context and "context" not in variables:
        variables["context"] = "\n\n".join(context)
    prompt, messages = _render_prompt(spec, entry, variables, path, line)
    references = _render_list(entry.references, variables, path, line, "references")
    if entry.reference is not None:
        references = [render(entry.reference, variables, path=path, line=line, what="reference"), *references]
    built = []
    for name, params, scorer_loc in _merged_scorers(spec, entry.scorers, loc):
        built.append(_build_scorer(name, params, variables, linemap.path, linemap.line(scorer_loc)))
    if not built:
        raise SuiteError(
            f"case '{case_id}' has no scorers, so it could never fail",
            path=path,
            line=line,
            key="scorers",
            hint="add scorers to the case or to defaults.scorers, e.g.\n    scorers: [{rougeL: {min: 0.5}}]",
        )
    rate = entry.min_pass_rate if entry.min_pass_rate is not None else spec.min_pass_rate
    return Case(
        suite=spec.suite,
        id=case_id,
        path=path,
        line=line,
        vars=variables,
        prompt=prompt,
        messages=messages,
        references=tuple(references),
        context=tuple(context),
        tags=tuple(dict.fromkeys([*spec.defaults.tags, *entry.tags])),
        scorers=tuple(built),
        min_pass_rate=rate,
    )


def _render_prompt(
    spec: schema.SuiteSchema, entry: Any, variables: dict[str, Any], path: str, line: int
) -> tuple[str | None, tuple[tuple[str, str], ...] | None]:
    own_prompt = getattr(entry, "prompt", None)
    own_messages = getattr(entry, "messages", None)
    if own_prompt is not None or (own_messages is None and spec.messages is None and spec.prompt is not None):
        source = own_prompt if own_prompt is not None else spec.prompt
        return render(str(source), variables, path=path, line=line, what="prompt"), None
    messages = own_messages if own_messages is not None else spec.messages
    if messages is None:
        raise SuiteError(
            "no prompt: neither the suite nor this case has 'prompt' or 'messages'",
            path=path,
            line=line,
            key="prompt",
            hint='add a template at the top level, e.g.\n    prompt: "Q: {{ question }}\\nA:"',
        )
    return None, tuple((m.role, render(m.content, variables, path=path, line=line, what="messages")) for m in messages)


def _render_list(value: str | list[str] | None, variables: dict[str, Any], path: str, line: int, what: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [render(v, variables, path=path, line=line, what=what) for v in items]


def _build_scorer(name: str, params: Any, variables: dict[str, Any], path: str, line: int) -> scorers.Scorer:
    params = _render_params(params, variables, path, line, name)
    try:
        return scorers.build(name, params)
    except SuiteError as exc:
        raise SuiteError(exc.message, path=path, line=line, key=exc.key or name, hint=exc.hint) from None


def _render_params(params: Any, variables: dict[str, Any], path: str, line: int, name: str) -> Any:
    if isinstance(params, str):
        return render(params, variables, path=path, line=line, what=f"{name} scorer")
    if isinstance(params, list):
        return [_render_params(p, variables, path, line, name) for p in params]
    if isinstance(params, dict):
        return {k: _render_params(v, variables, path, line, name) for k, v in params.items()}
    return params


def _table_cases(
    spec: schema.SuiteSchema,
    entry: schema.TableSchema,
    loc: tuple[Any, ...],
    linemap: LineMap,
    attrs: tuple[counterfactual.Attribute, ...],
    tally: _Tally,
    confinement: Confinement,
) -> Iterator[Case]:
    from llmeval.robustness.probes import resolve

    line = linemap.line(loc + ("cases_from",))
    table_path = resolve(entry.cases_from)
    if table_path is None:
        named = Path(os.path.normpath(Path(linemap.path).parent / entry.cases_from))
        table_path = confinement.check(named, suite_path=linemap.path, line=line, key="cases_from")
    rows = read_table(table_path, suite_path=linemap.path, line=line)
    if not rows:
        raise linemap.error(
            loc + ("cases_from",),
            f"case table {table_path} has no rows, so this block gives no cases",
            key="cases_from",
            hint="add rows to the table (the first CSV line is the header), "
            "or remove the block if it is not meant to test anything",
        )
    if entry.limit is not None:
        rows = rows[: entry.limit]
    tally.take(loc, f"cases[{loc[-1]}] (cases_from: {entry.cases_from}, {len(rows):,} rows)", len(rows))
    for row in rows:
        variables = {**entry.vars, **row.values}
        case_id = _row_case_id(entry, row, variables, table_path)
        yield from _variant_cases(_Origin(spec, linemap, attrs, entry, loc, row.path, row.line), case_id, variables)


def _row_case_id(entry: schema.TableSchema, row: Row, variables: dict[str, Any], table_path: Path) -> str:
    """The id template's result, else the row's `id` column, else <file>-<row>; checked like inline ids."""
    if entry.id is not None:
        case_id = render(entry.id, {**variables, "row": row.number}, path=row.path, line=row.line, what="id")
        source = f"the id template {entry.id!r} gives"
    elif "id" in row.values:
        case_id, source = str(row.values["id"]), "the row's 'id' column holds"
    else:
        case_id, source = f"{table_path.stem}-{row.number}", "the table's file name gives"
    if re.fullmatch(schema.CASE_ID_PATTERN, case_id):
        return case_id
    raise SuiteError(
        f"{source} {case_id!r}, which is not a valid case id: use {schema.CASE_ID_RULE}",
        path=row.path,
        line=row.line,
        key="id",
        hint='build ids from columns that hold plain names, or number them: id: "faq-{{ row }}"',
    )


def _generated_cases(
    spec: schema.SuiteSchema,
    entry: schema.GenerateSchema,
    loc: tuple[Any, ...],
    linemap: LineMap,
    attrs: tuple[counterfactual.Attribute, ...] = (),
) -> Iterator[Case]:
    """Seeded synthetic probes (llmeval.strategies): case i depends only on (seed, i)."""
    from llmeval.strategies import generate_cases

    line = linemap.line(loc)
    try:
        generated = generate_cases({"vars": dict(entry.generate)}, n=entry.n, seed=entry.seed)
    except SuiteError as exc:
        raise linemap.error(loc + ("generate",), exc.message, key=exc.key, hint=exc.hint) from None
    origin = _Origin(spec, linemap, attrs, entry, loc, linemap.path, line)
    for number, values in enumerate(generated, start=1):
        yield from _variant_cases(origin, f"{entry.id}-{number}", {**entry.vars, **values})
