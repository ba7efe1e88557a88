"""Settings: command line over pytest ini values (``-o``, ``[tool.pytest.ini_options]``) over
``[tool.llmeval]`` in pyproject.toml over defaults. Every source goes through one typed converter,
so ``redact_pii = "no"`` is off and ``repeat = "x"`` is an error naming where it came from.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError, unknown_name_hint

JUNIT_MODES = ("testcase", "testsuite", "off")
CACHE_MODES = ("on", "off", "refresh")
OPENAI_FORMATS = ("response_format", "vllm", "off")  # llmeval.backends.openai.FORMAT_MODES
ENGINES = ("local", "ray")
BATCHING_MODES = ("auto", "static", "pruned", "continuous")  # hf: decoding (llmeval/backends/hf_decode.py)


@dataclass
class Settings:
    models: list[str] = field(default_factory=list)
    results: str | None = None
    append: bool = False
    html: str | None = None
    baseline: str | None = None
    save_baseline: str | None = None
    cache: str = "on"
    cache_dir: str = ".llmeval"
    repeat: int | None = None
    redact_pii: bool = False
    batch_size: int | str = "auto"
    concurrency: int = 8
    threads: int | None = None
    batching: str = "auto"
    junit_properties: str = "testcase"
    timeout: float | None = None  # seconds per request attempt; None: the backend's default
    retries: int | None = None  # further attempts after a retryable failure; None: the backend's default
    deadline: float | None = None  # seconds for the whole run's generation; None: no deadline
    allow_hosts: list[str] = field(default_factory=list)  # hosts that may receive the API key
    allow_paths: list[str] = field(default_factory=list)  # folders outside the project suites may read tables from
    api_key_env: list[str] = field(default_factory=list)  # "NAME" or "HOST=NAME": where the API key comes from
    token_budget: int | None = None  # prompt + completion tokens the run may generate; None: no budget
    balance: str | None = None  # how an openai: fleet spreads requests; None: least-outstanding
    rpm: float | None = None  # requests a minute to each openai: base URL
    tpm: float | None = None  # tokens a minute to each openai: base URL
    model_ids: list[str] = field(default_factory=list)  # "NAME=ID": the id vouched for a served model name
    openai_format: str = "response_format"  # how openai: backends ask for a judge's output format
    engine: str = "local"  # where hf:/vllm: generation runs: this process, or a Ray actor pool
    ray_address: str | None = None  # a running Ray cluster (HOST:PORT or auto); None: start Ray locally
    ray_actors: int | None = None  # model replicas under the ray engine; None: one per GPU, else per CPU worker
    vllm_args: list[str] = field(default_factory=list)  # "NAME=VALUE" engine arguments for vllm: models
    history: str | None = None  # run history (SQLite) to append this run to: README "In production"
    mlflow: str | None = None  # MLflow tracking URI or local folder to log this run to
    prometheus: str | None = None  # Prometheus textfile (node-exporter's textfile collector) to write
    pushgateway: str | None = None  # Prometheus Pushgateway URL to push this run's metrics to
    cost_per_1k: float | None = None  # price of 1,000 tokens, for the cost figures of exports and the model card
    from_command_line: set[str] = field(default_factory=set)  # settings the command line gave (they beat suites)
    run_id: str = field(default_factory=lambda: _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f"))

    def results_path(self, root: Path) -> Path:
        return root / (self.results or f"reports/{self.run_id}/results.jsonl")

    def history_path(self, root: Path) -> Path:
        """The run history: --llmeval-history, else history.sqlite in the cache folder (read by `history:` baselines)."""
        return root / (self.history or Path(self.cache_dir) / "history.sqlite")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false (or yes/no, on/off, 1/0)")


def _whole(minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        digits = isinstance(value, str) and value.strip().isdigit()
        if isinstance(value, bool) or not (isinstance(value, int) or digits) or int(value) < minimum:
            raise ValueError(f"must be a whole number of at least {minimum}")
        return int(value)

    return convert


_count, _retries = _whole(1), _whole(0)


def _batch(value: Any) -> int | str:
    try:
        return "auto" if value == "auto" else _count(value)
    except ValueError:
        raise ValueError("must be a positive number or 'auto'") from None


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return convert


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _positive(unit: str) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a positive number {unit}") from None
        if isinstance(value, bool) or not number > 0:
            raise ValueError(f"must be a positive number {unit}")
        return number

    return convert


_seconds, _per_minute = _positive("of seconds"), _positive("a minute")


def _specs(value: Any) -> list[str]:
    items = value.split() if isinstance(value, str) else list(value)
    return [_text(v) for v in items]


# name -> (converter, argparse options, help)
OPTIONS: dict[str, tuple[Callable[[Any], Any], dict[str, Any], str]] = {
    "model": (
        _specs,
        {"action": "append", "metavar": "SPEC"},
        "model spec (repeatable): hf:<path|id>, python:<module>:<fn>, openai:<url>#<name>; overrides suites' model",
    ),
    "results": (_text, {"metavar": "PATH"}, "results file (JSON Lines; overwritten); default reports/<run id>/results.jsonl"),
    "append": (_bool, {"action": "store_true", "default": None}, "append to an existing --llmeval-results file"),
    "html": (_text, {"metavar": "PATH"}, "write the self-contained HTML report here"),
    "baseline": (_text, {"metavar": "PATH"}, "compare with this baseline file (regression rules)"),
    "save-baseline": (_text, {"metavar": "PATH"}, "save this run's scores as a baseline file"),
    "cache": (
        _choice(*CACHE_MODES),
        {"choices": list(CACHE_MODES)},
        "generation cache: on (default), off, refresh (regenerate and overwrite)",
    ),
    "cache-dir": (_text, {"metavar": "DIR"}, "cache folder (default .llmeval under the rootdir)"),
    "repeat": (_count, {"type": int, "metavar": "N"}, "samples per case (overrides the suites' repeat)"),
    "redact-pii": (
        _bool,
        {"action": "store_true", "default": None},
        "mask detected PII in results, reports, JUnit and the terminal",
    ),
    "batch-size": (_batch, {"metavar": "N|auto"}, "generation batch size (default auto: token-budgeted)"),
    "concurrency": (_count, {"type": int, "metavar": "N"}, "concurrent requests for async backends (default 8)"),
    "threads": (
        _count,
        {"type": int, "metavar": "N"},
        "CPU threads for local models (torch intra-op; default: the cores other processes leave free)",
    ),
    "batching": (
        _choice(*BATCHING_MODES),
        {"choices": list(BATCHING_MODES)},
        "hf: decoding: auto (default; per device), static, pruned (drop finished rows), continuous",
    ),
    "junit-properties": (
        _choice(*JUNIT_MODES),
        {"choices": list(JUNIT_MODES)},
        "where scores go in --junitxml: testcase (default), testsuite, off",
    ),
    "timeout": (_seconds, {"type": float, "metavar": "SECONDS"}, "wall time per request attempt (overrides suites)"),
    "retries": (_retries, {"type": int, "metavar": "N"}, "retries after a timeout or transient error (overrides suites)"),
    "deadline": (_seconds, {"type": float, "metavar": "SECONDS"}, "run deadline: requests not started by then become errors"),
    "allow-host": (
        _specs,
        {"action": "append", "metavar": "HOST"},
        "host that may receive the API key (repeatable; https only unless http://HOST)",
    ),
    "allow-path": (
        _specs,
        {"action": "append", "metavar": "DIR"},
        "folder outside the project root that suites may read case tables and cache_key_files from (repeatable)",
    ),
    "api-key-env": (_specs, {"action": "append", "metavar": "[HOST=]NAME"}, "environment variable with the API key (repeatable)"),
    # serving fleets (openai:) and the run's token budget: README "A served fleet (openai:)"
    "token-budget": (
        _count,
        {"type": int, "metavar": "N"},
        "prompt + completion tokens the run may generate; then requests not started become errors",
    ),
    "balance": (
        _choice("least-outstanding", "round-robin"),
        {"choices": ["least-outstanding", "round-robin"]},
        "how an openai: fleet (several base URLs) spreads requests (default least-outstanding)",
    ),
    "rpm": (_per_minute, {"type": float, "metavar": "N"}, "requests a minute to each openai: base URL"),
    "tpm": (_per_minute, {"type": float, "metavar": "N"}, "tokens (prompt + completion) a minute to each openai: base URL"),
    "model-id": (
        _specs,
        {"action": "append", "metavar": "NAME=ID"},
        "declare the id of served model NAME: its cache identity, instead of its base URLs (repeatable)",
    ),
    "openai-format": (
        _choice(*OPENAI_FORMATS),
        {"choices": list(OPENAI_FORMATS)},
        "how openai: backends ask for a judge's output format: response_format (default; JSON schemas), "
        "vllm (vLLM's structured_outputs: schemas and regexes), off",
    ),
    "engine": (
        _choice(*ENGINES),
        {"choices": list(ENGINES)},
        "where hf: (and vllm:) models generate: local (default, this process) or ray (a Ray Data actor pool)",
    ),
    "ray-address": (_text, {"metavar": "HOST:PORT"}, "Ray cluster to join under --llmeval-engine ray (default: start Ray here)"),
    "ray-actors": (
        _count,
        {"type": int, "metavar": "N"},
        "model replicas under --llmeval-engine ray (default: one per GPU, else one per CPU worker)",
    ),
    "run-id": (
        _text,
        {"metavar": "ID"},
        "this run's id in every record, the verdict and the default results path (default: the start time), "
        "e.g. the CI build number",
    ),
    "vllm-arg": (
        _specs,
        {"action": "append", "metavar": "NAME=VALUE"},
        "vLLM engine argument for vllm: models (repeatable), e.g. dtype=float32, tensor_parallel_size=2",
    ),
    # production exports: README "In production" (llmeval/ops)
    "history": (_text, {"metavar": "PATH"}, "append this run to a run history (SQLite; e.g. .llmeval/history.sqlite)"),
    "mlflow": (
        _text,
        {"metavar": "URI"},
        "log this run to MLflow: a tracking URI (sqlite:///..., http://...) or a local folder (e.g. mlruns)",
    ),
    "prometheus": (_text, {"metavar": "FILE"}, "write this run's metrics for node-exporter's textfile collector (*.prom)"),
    "pushgateway": (_text, {"metavar": "URL"}, "push this run's metrics to a Prometheus Pushgateway"),
    "cost-per-1k": (
        _positive("per 1,000 tokens"),
        {"type": float, "metavar": "PRICE"},
        "price of 1,000 tokens: the exports and the model card show the run's cost",
    ),
}


def attribute(name: str) -> str:
    """The Settings attribute of an option name."""
    plural = {
        "model": "models",
        "allow-host": "allow_hosts",
        "allow-path": "allow_paths",
        "model-id": "model_ids",
        "vllm-arg": "vllm_args",
    }
    return plural.get(name, name.replace("-", "_"))


def add_options(parser: Any) -> None:
    group = parser.getgroup("llmeval", "LLM evaluation suites (llmeval)")
    for name, (_, kwargs, help_text) in OPTIONS.items():
        group.addoption(f"--llmeval-{name}", dest=f"llmeval_{name.replace('-', '_')}", help=help_text, **kwargs)
        ini_type = "linelist" if OPTIONS[name][0] is _specs else "string"
        parser.addini(
            f"llmeval_{name.replace('-', '_')}", f"{help_text} (ini form of --llmeval-{name})", type=ini_type, default=None
        )


def from_pytest(config: Any) -> Settings:
    """Merge [tool.llmeval], pytest ini values (-o) and the command line (the command line wins)."""
    settings = Settings()
    apply(settings, pyproject_table(Path(config.rootpath)), source="[tool.llmeval] in pyproject.toml")
    for name in OPTIONS:
        key = f"llmeval_{name.replace('-', '_')}"
        value = config.getini(key)
        if value not in (None, []):
            apply(settings, {name: value}, source=f"ini option {key} (-o or [tool.pytest.ini_options])")
    for name in OPTIONS:
        value = config.getoption(f"llmeval_{name.replace('-', '_')}")
        if value is not None:
            apply(settings, {name: value}, source=f"--llmeval-{name}")
            settings.from_command_line.add(attribute(name))
    return settings


def pyproject_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LlmevalError(f"{path}: not valid TOML: {exc}") from None
    return dict(data.get("tool", {}).get("llmeval", {}))


def apply(settings: Settings, values: dict[str, Any], *, source: str) -> None:
    """Set each value through its converter; an unknown name or a bad value names its source."""
    plural = {
        "models": "model",
        "allow_hosts": "allow-host",
        "allow_paths": "allow-path",
        "model_ids": "model-id",
        "vllm_args": "vllm-arg",
    }
    known = {name.replace("-", "_"): name for name in OPTIONS} | plural
    for key, value in values.items():
        name = known.get(key.replace("-", "_"))
        if name is None:
            raise LlmevalError(f"unknown llmeval setting '{key}' in {source}; {unknown_name_hint(key, sorted(known))}")
        try:
            converted = OPTIONS[name][0](value)
        except ValueError as exc:
            raise LlmevalError(f"{source}: {name.replace('-', '_')} {exc}, got {value!r}") from None
        setattr(settings, attribute(name), converted)


def is_xdist_worker(config: Any) -> bool:
    return hasattr(config, "workerinput")


def is_xdist_controller(config: Any) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not is_xdist_worker(config) and "xdist" in sys.modules
