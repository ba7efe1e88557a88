"""Settings: command-line options over `[tool.llmeval]` in pyproject.toml over defaults."""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from llmeval.backends.limits import check_limits
from llmeval.errors import LlmevalError
from llmeval.scorers.base import unknown_name_hint

JUNIT_MODES = ("testcase", "testsuite", "off")


@dataclass
class Settings:
    models: list[str] = field(default_factory=list)
    results: str | None = None
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
    junit_properties: str = "testcase"
    timeout: float | None = None  # seconds per request attempt; None: the backend's default
    retries: int | None = None  # further attempts after a retryable failure; None: the backend's default
    deadline: float | None = None  # seconds for the whole run's generation; None: no deadline
    allow_hosts: list[str] = field(default_factory=list)  # hosts that may receive the API key
    api_key_env: list[str] = field(default_factory=list)  # "NAME" or "HOST=NAME": where the API key comes from
    run_id: str = field(default_factory=lambda: _dt.datetime.now().strftime("%Y%m%d-%H%M%S"))

    def results_path(self, root: Path) -> Path:
        return root / (self.results or f"reports/{self.run_id}/results.jsonl")


OPTIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "model",
        {
            "action": "append",
            "metavar": "SPEC",
            "help": "model spec (repeatable): hf:<path|id>, python:<module>:<fn>; overrides suites' model",
        },
    ),
    ("results", {"metavar": "PATH", "help": "results file (JSON Lines); default reports/<run id>/results.jsonl"}),
    ("html", {"metavar": "PATH", "help": "write the self-contained HTML report here"}),
    ("baseline", {"metavar": "PATH", "help": "compare with this baseline file (regression rules)"}),
    ("save-baseline", {"metavar": "PATH", "help": "save this run's scores as a baseline file"}),
    (
        "cache",
        {"choices": ["on", "off", "refresh"], "help": "generation cache: on (default), off, refresh (regenerate and overwrite)"},
    ),
    ("cache-dir", {"metavar": "DIR", "help": "cache folder (default .llmeval under the rootdir)"}),
    ("repeat", {"type": int, "metavar": "N", "help": "samples per case (overrides the suites' repeat)"}),
    (
        "redact-pii",
        {"action": "store_true", "default": None, "help": "mask detected PII in results, reports, JUnit and the terminal"},
    ),
    ("batch-size", {"metavar": "N|auto", "help": "generation batch size (default auto: token-budgeted)"}),
    ("concurrency", {"type": int, "metavar": "N", "help": "concurrent requests for async backends (default 8)"}),
    ("threads", {"type": int, "metavar": "N", "help": "CPU threads for local models (torch intra-op; default: torch's own)"}),
    (
        "junit-properties",
        {"choices": list(JUNIT_MODES), "help": "where scores go in --junitxml: testcase (default), testsuite, off"},
    ),
    ("timeout", {"type": float, "metavar": "SECONDS", "help": "wall time per request attempt (overrides suites)"}),
    ("retries", {"type": int, "metavar": "N", "help": "retries after a timeout or transient error (overrides suites)"}),
    ("deadline", {"type": float, "metavar": "SECONDS", "help": "run deadline: requests not started by then become errors"}),
    (
        "allow-host",
        {"action": "append", "metavar": "HOST", "help": "host that may receive the API key (repeatable; https only unless http://HOST)"},
    ),
    (
        "api-key-env",
        {"action": "append", "metavar": "[HOST=]NAME", "help": "environment variable with the API key (repeatable)"},
    ),
]


def add_options(parser: Any) -> None:
    group = parser.getgroup("llmeval", "LLM evaluation suites (llmeval)")
    for name, kwargs in OPTIONS:
        group.addoption(f"--llmeval-{name}", dest=f"llmeval_{name.replace('-', '_')}", **kwargs)


def from_pytest(config: Any) -> Settings:
    """Merge pyproject's [tool.llmeval] and the command line (the command line wins)."""
    settings = Settings()
    _apply(settings, _pyproject_table(Path(config.rootpath)), source="[tool.llmeval] in pyproject.toml")
    for name, _ in OPTIONS:
        value = config.getoption(f"llmeval_{name.replace('-', '_')}")
        if value is not None:
            _apply(settings, {name.replace("-", "_"): value}, source=f"--llmeval-{name}")
    return settings


def _pyproject_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LlmevalError(f"{path}: not valid TOML: {exc}") from None
    return dict(data.get("tool", {}).get("llmeval", {}))


def _apply(settings: Settings, values: dict[str, Any], *, source: str) -> None:
    names = [f.name for f in fields(Settings) if f.name != "run_id"] + ["model"]
    for key, value in values.items():
        key = {"allow_host": "allow_hosts"}.get(key.replace("-", "_"), key.replace("-", "_"))
        if key not in names:
            raise LlmevalError(f"unknown llmeval setting '{key}' in {source}; {unknown_name_hint(key, sorted(names))}")
        if key in ("model", "models"):
            value = [value] if isinstance(value, str) else list(value)
            key = "models"
        if key in ("allow_hosts", "api_key_env"):
            value = [value] if isinstance(value, str) else [str(v) for v in value]
        check_limits(*(value if key == k else None for k in ("timeout", "retries", "deadline")), source=source)
        if key == "batch_size" and value != "auto":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise LlmevalError(f"{source}: batch_size must be a positive number or 'auto', got {value!r}") from None
            if value < 1:
                raise LlmevalError(f"{source}: batch_size must be at least 1, got {value}")
        if key in ("repeat", "concurrency", "threads") and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise LlmevalError(f"{source}: {key} must be a whole number of at least 1, got {value!r}")
        if key == "junit_properties" and value not in JUNIT_MODES:
            raise LlmevalError(f"{source}: junit_properties must be one of {', '.join(JUNIT_MODES)}, got {value!r}")
        if key == "cache" and value not in ("on", "off", "refresh"):
            raise LlmevalError(f"{source}: cache must be on, off or refresh, got {value!r}")
        setattr(settings, key, value)


def is_xdist_worker(config: Any) -> bool:
    return hasattr(config, "workerinput")


def is_xdist_controller(config: Any) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not is_xdist_worker(config) and "xdist" in sys.modules
