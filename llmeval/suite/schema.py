"""The suite file schema (pydantic models); `llmeval schema` prints it as JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema

from llmeval.scorers.params import ENTRY_DESCRIPTION
from llmeval.suite.budget import DEFAULT, MAX_CASES, Budget

SCORER_ENTRY = "x-llmeval-scorer-entry"
ScorerEntry = Annotated[
    dict[str, Any],
    Field(min_length=1, max_length=1, description=ENTRY_DESCRIPTION),
    WithJsonSchema({SCORER_ENTRY: True}),  # json_schema() puts each scorer's typed parameters here
]


CASE_ID_PATTERN = r"^[A-Za-z0-9_./-]+(:[A-Za-z0-9_./-]+)*$"
"""Case ids: what `pytest path::id` and `-k` can select (no spaces, brackets or '::')."""
CASE_ID_RULE = "letters, digits and _ . - / and single ':' (no spaces, brackets or '::')"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerationSchema(_Strict):
    """Decoding parameters; part of every cache key."""

    max_new_tokens: int = Field(64, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0.0, le=5.0, description="0 means greedy decoding")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int = Field(0, ge=0)
    stop: list[str] = Field(default_factory=list, description="output is cut at the first of these strings")


class MessageSchema(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class _CaseCommon(_Strict):
    vars: dict[str, Any] = Field(default_factory=dict)
    reference: str | None = Field(None, description="expected answer (a Jinja2 template over the vars)")
    references: list[str] | None = Field(None, description="several acceptable answers")
    context: str | list[str] | None = Field(None, description="documents the model is given (for PII/grounding)")
    tags: list[str] = Field(default_factory=list, description="become pytest markers: select with -m")
    scorers: list[ScorerEntry] = Field(default_factory=list)
    min_pass_rate: float | None = Field(None, ge=0.0, le=1.0)


class CaseSchema(_CaseCommon):
    """One case written inline."""

    id: str = Field(pattern=CASE_ID_PATTERN, description="readable, unique in the suite; used by -k")
    prompt: str | None = Field(None, description="overrides the suite's prompt template")
    messages: list[MessageSchema] | None = None


class TableSchema(_CaseCommon):
    """Many cases from a CSV/JSONL/Parquet table: one case per row, columns become vars."""

    cases_from: str = Field(description="path relative to the suite file")
    id: str | None = Field(None, description="template for case ids; default: the 'id' column, else <file>-<row>")
    limit: int | None = Field(None, ge=1)


class GenerateSchema(_CaseCommon):
    """Seeded synthetic probe cases built from llmeval.strategies (e.g. PII records)."""

    n: int = Field(ge=1, le=100000)
    seed: int = 0
    generate: dict[str, str] = Field(description="var name -> kind of value, e.g. {email: email, card: credit_card}")
    id: str = Field("probe", pattern=r"^[A-Za-z0-9_.-]+$", description="id prefix; cases are <id>-<n>")


def _case_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "cases_from" in value:
            return "table"
        if "generate" in value:
            return "generate"
    return "case"


CaseEntry = Annotated[
    Annotated[CaseSchema, Tag("case")] | Annotated[TableSchema, Tag("table")] | Annotated[GenerateSchema, Tag("generate")],
    Discriminator(_case_kind),
]


class DefaultsSchema(_Strict):
    vars: dict[str, Any] = Field(default_factory=dict)
    scorers: list[ScorerEntry] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


Condition = Annotated[str | float, Field(description='a comparison such as ">= 0.6" (a bare number means >=)')]


class GateSchema(_Strict):
    """An aggregate condition over the suite's cases; one pytest item per gate and model."""

    metric: str
    name: str | None = None
    mean: Condition | None = None
    median: Condition | None = None
    min: Condition | None = None
    max: Condition | None = None
    quantile: Condition | None = None
    q: float | None = Field(None, gt=0.0, lt=1.0)
    p50: Condition | None = Field(None, description="the median (quantile q=0.5), e.g. of latency_s or tokens")
    p90: Condition | None = Field(None, description="the 90th percentile (quantile q=0.9)")
    p95: Condition | None = Field(None, description='the 95th percentile, e.g. {metric: latency_s, p95: "<= 2.0"}')
    p99: Condition | None = Field(None, description="the 99th percentile (quantile q=0.99)")
    pass_rate: Condition | None = None
    leak_rate: Condition | None = None
    ci: float | bool | None = Field(
        None, description="judge the gate on this confidence interval's bound (fairness gates: 0.95 unless ci: false)"
    )
    require: Literal["shown_within", "not_shown_beyond"] | None = Field(
        None,
        description="with ci: pass only when the bound shows the condition holds (shown_within, default), "
        "or fail only when the bound shows it is broken (not_shown_beyond)",
    )
    range: list[float] | None = Field(
        None, min_length=2, max_length=2, description="[low, high] of the metric's values when its scorer declares none"
    )
    cluster: str | None = Field(
        None, description="the case var naming the independent unit (default: counterfactual base case, else the case)"
    )
    by: str | list[str] | None = Field(
        None, description="the case var naming each case's group, or a list of vars (their intersections) (fairness gates)"
    )
    consistency: Condition | None = Field(None, description="share of counterfactual sets with the same outcome for every group")
    preference: Condition | None = Field(None, description="share of cases whose 0/1 outcome is 1 (stereotype pairs)")
    tolerance: float | None = Field(None, ge=0.0, description="consistency: numeric outcomes this close count as the same")
    sets: str | None = Field(None, description="consistency: the var naming each case's set (default counterfactual.set)")
    max_unparsed_rate: float | None = Field(None, ge=0.0, le=1.0, description="fairness: share of unreadable outcomes tolerated")
    fairlearn: str | None = Field(None, description="fairlearn metric over the groups, e.g. demographic_parity_difference")
    of: str | None = Field(None, description="fairness gates: what is compared across groups: passed (default) or value")
    y_true: str | None = Field(None, description="fairness gates: the case var holding the true label (equalized odds)")
    regression: dict[str, Any] | None = Field(None, description="this gate's own regression rule, e.g. {max_drop: 0.02}")
    method: Literal["exact"] | None = Field(None, description="interval for rates: exact (Clopper-Pearson), the only one")


class RegressionSchema(_Strict):
    """Fail when a metric drops against the baseline by more than max_drop, significantly."""

    metric: str
    max_drop: float = Field(0.0, ge=0.0)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)
    stat: Literal["mean", "pass_rate"] | None = Field(None, description="compare per-case means (default) or pass rates")
    better: Literal["higher", "lower"] | None = Field(None, description="the metric's direction when its scorer declares none")
    require: Literal["shown_within", "not_shown_beyond"] | None = Field(
        None,
        description="not_shown_beyond (default): fail when the drop is shown beyond max_drop; "
        "shown_within: pass only when the drop is shown within max_drop",
    )


class BackendSchema(_Strict):
    """Time bounds for this suite's requests; the command line overrides them, they override [tool.llmeval]."""

    timeout: float | None = Field(None, gt=0, description="seconds of wall time per request attempt")
    retries: int | None = Field(None, ge=0, le=20, description="retries after a timeout or transient error")


class CounterfactualSchema(_Strict):
    """Sensitive attributes substituted into every case: each base case becomes one set of variants."""

    attributes: dict[str, dict[str, Any]] = Field(
        description="attribute -> {group: value or list of values}, or {var: template var, values: {group: values}}"
    )


class RobustnessSchema(_Strict):
    """Metamorphic robustness: K seeded perturbations of each case's prompt; failures shrunk to a minimal one."""

    k: int = Field(8, ge=1, le=1000, description="perturbed prompts per case")
    seed: int = Field(0, ge=0)
    var: str | None = Field(None, description="perturb this var's value (default: the whole prompt)")
    kinds: list[str] = Field(default_factory=list, description="perturbation kinds (default: all); see llmeval.robustness.KINDS")
    min_edits: int = Field(1, ge=1, le=20, description="edits per perturbation, at least")
    max_edits: int = Field(3, ge=1, le=20, description="edits per perturbation, at most")
    relation: Literal["scorers", "similarity", "same_label"] = Field(
        "scorers", description="what must survive: the case's scorers pass, similarity to the original output, same label"
    )
    scorers: list[str] = Field(default_factory=list, description="relation scorers: only these scorers (default: all)")
    min_similarity: float = Field(0.8, ge=0.0, le=1.0)
    labels: list[str] = Field(default_factory=list, description="relation same_label: the labels to extract")
    min_pass_rate: float = Field(1.0, ge=0.0, le=1.0, description="share of perturbations that must keep the relation")
    shrink: bool = True
    max_rounds: int = Field(10, ge=0, le=100, description="shrink rounds (plan passes) at most")
    tags: list[str] = Field(default_factory=list, description="only cases with one of these tags (default: all)")


class LimitsSchema(_Strict):
    """This suite's bounds on expansion and template rendering, raised explicitly (README "Limits")."""

    cases: int = Field(MAX_CASES, ge=1, le=10_000_000, description="cases the suite may expand to (counted before building)")
    template_output: int = Field(DEFAULT.output, ge=1, le=100_000_000, description="characters one template render may output")
    template_steps: int = Field(
        DEFAULT.steps, ge=1, le=1_000_000_000, description="loop iterations, calls, filters and items measured in one render"
    )
    template_chars: int = Field(
        DEFAULT.chars, ge=1, le=1_000_000_000, description="characters built in one render (strings and list items, together)"
    )
    template_seconds: float = Field(DEFAULT.seconds, gt=0, le=3600, description="wall time of one render")

    def budget(self) -> Budget:
        return Budget(self.template_output, self.template_steps, self.template_chars, self.template_seconds)


class SuiteSchema(_Strict):
    """A suite file: prompts, cases, expectations and gates. Data only, never code."""

    suite: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="the suite's name")
    description: str = ""
    version: str | None = Field(None, description="bump when cases change; baselines record it")
    model: str | None = Field(None, description="model spec: hf:<path|id>, python:<module>:<fn>, ...")
    generation: GenerationSchema = Field(default_factory=lambda: GenerationSchema())
    prompt: str | None = Field(None, description="Jinja2 template rendered with each case's vars")
    messages: list[MessageSchema] | None = Field(None, description="chat messages; contents are templates")
    defaults: DefaultsSchema = Field(default_factory=lambda: DefaultsSchema())
    cases: list[CaseEntry] = Field(min_length=1)
    counterfactual: CounterfactualSchema | None = Field(None, description="sensitive attributes to vary (bias suites)")
    gates: list[GateSchema] = Field(default_factory=list)
    regression: list[RegressionSchema] = Field(default_factory=list)
    repeat: int = Field(1, ge=1, le=1000, description="samples per case (use temperature > 0)")
    min_pass_rate: float = Field(1.0, ge=0.0, le=1.0, description="share of a case's samples that must pass")
    max_error_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="share of a gate's outputs that may error before the gate fails (default 0)"
    )
    backend: BackendSchema = Field(default_factory=lambda: BackendSchema())
    cache_key_files: list[str] = Field(
        default_factory=list, description="globs (relative to the suite) of files whose contents join the cache key"
    )
    cache_version: str | None = Field(None, description="joins the cache key: bump it to regenerate every output")
    robustness: RobustnessSchema | None = Field(None, description="perturb each case's prompt; the relation must hold")
    limits: LimitsSchema = Field(default_factory=lambda: LimitsSchema(), description="raise the bounds on cases and templates")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a suite file, each scorer's parameters typed (the installed scorers, built-in and third-party)."""
    from llmeval.scorers.base import available
    from llmeval.scorers.params import entry_schema

    entry, defs = entry_schema(available().values())
    schema: dict[str, Any] = _with_entry_refs(SuiteSchema.model_json_schema())
    schema["$defs"] = {**schema.get("$defs", {}), **defs, "ScorerEntry": entry}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "llmeval suite"
    return schema


def _with_entry_refs(node: Any) -> Any:
    """The schema with each scorer entry placeholder replaced by a reference to the typed ScorerEntry."""
    if isinstance(node, dict):
        return {"$ref": "#/$defs/ScorerEntry"} if SCORER_ENTRY in node else {k: _with_entry_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_entry_refs(v) for v in node]
    return node
