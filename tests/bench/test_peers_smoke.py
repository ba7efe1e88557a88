"""Smoke test of bench/peers_bench.py's cheap path (naive loop and llmeval, no peer installed) and of its parts.

No timing assertions: only that every contender ran, agreed on the greedy texts, and the section shows it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._scripts import load_script

peers = load_script("bench/peers_bench.py")
report, venvs, deepeval = peers._peer_report, peers._peer_venvs, sys.modules["_peer_deepeval"]


@pytest.fixture(scope="module")
def cheap_run(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("peers") / "figures.json"
    argv = [
        "--only",
        "naive,llmeval,scale",
        "--n",
        "4",
        "--tokens",
        "6",
        "--repeats",
        "1",
        "--scale-sizes",
        "3",
        "--scale-model-up-to",
        "0",
        "--model",
        str(tiny_model),
        "--no-write",
        "--json",
        str(out),
    ]
    assert peers.main(argv) == 0
    return dict(json.loads(out.read_text()))


@pytest.mark.slow
def test_cheap_path_runs_every_contender_and_they_agree(cheap_run: dict[str, Any]) -> None:
    rows = cheap_run["rows"]
    assert list(rows) == [
        "naive loop",
        "llmeval pytest",
        "llmeval run",
        "llmeval engine, batch auto",
        "llmeval engine, batch 32",
        "llmeval engine, batch 64",
    ]
    for name, row in rows.items():
        assert "error" not in row, (name, row.get("error"))
        assert row["runs"] == 1 and row["gen_s"] > 0 and row["load_s"] >= 0 and row["wall_s"] > row["gen_s"]
        assert row["same"] == 4, name  # greedy: batched and per-case generation give the same texts
    assert cheap_run["settings"] == {**cheap_run["settings"], "n": 4, "threads": 1, "repeats": 1}


@pytest.mark.slow
def test_cheap_path_scales_the_echo_app(cheap_run: dict[str, Any]) -> None:
    scale = cheap_run["scale"]
    assert [(r["cases"], r["label"]) for r in scale] == [(3, "echo app (python:)")]  # the model: up to 0 cases
    assert all(r["generated"] == 3 and r["rc"] == 0 for r in scale)
    assert all(r["rss_mb"] is None or r["rss_mb"] > 10 for r in scale)


def test_options() -> None:
    args = peers.parse(["--only", "naive, llmeval", "--scale-sizes", "50,200"])
    assert args.only == {"naive", "llmeval"} and args.scale_sizes == [50, 200] and args.n == 200
    with pytest.raises(SystemExit):
        peers.parse(["--only", "naive,vllm"])


def test_a_peer_that_could_not_install_keeps_its_rows_as_not_run() -> None:
    missing = {"lm-eval": venvs.Peer("lm-eval", notes=["lm-eval: conflict"]), "deepeval": venvs.Peer("deepeval")}
    table = peers.contenders({"lm-eval", "deepeval", "naive"}, missing)
    assert [name for name, (_, _, run) in table.items() if run is None] == [
        "lm-eval, batch auto",
        "lm-eval, batch 32",
        "lm-eval, batch 64",
        "DeepEval pattern",
    ]
    rows = {"naive loop": {"gen_s": 2.0, "cpu_s": 4.0, "texts": ["a", "b"]}, "DeepEval pattern": {"error": "peer not installed"}}
    lines = report.table(rows, {"naive loop": "x", "DeepEval pattern": "y"}, "naive loop", 2)
    assert lines[-1].endswith("| failed: peer not installed |") and "| 1.0x |" in lines[-2]


def test_summary_takes_medians_and_keeps_the_first_error() -> None:
    runs = [
        {"gen_s": 3.0, "wall_s": 9.0, "texts": ["x"]},
        {"error": "boom"},
        {"gen_s": 1.0, "wall_s": 5.0, "texts": ["y"]},
        {"gen_s": 2.0, "wall_s": 7.0, "texts": ["z"]},
    ]
    out = report.summarise(runs)
    assert (out["gen_s"], out["wall_s"], out["runs"], out["failed"]) == (2.0, 7.0, 3, 1)
    assert (out["error"], out["texts"]) == ("boom", ["x"])


def test_agreement_counts_identical_texts() -> None:
    rows: dict[str, dict[str, Any]] = {"ref": {"texts": ["a", "b", "c"]}, "other": {"texts": ["a", "B", "c"]}, "failed": {}}
    report.agreement(rows, "ref")
    assert (rows["ref"]["same"], rows["other"]["same"], "same" in rows["failed"]) == (3, 2, False)


def test_pip_conflict_is_reported_by_its_reason() -> None:
    output = (
        "WARNING: Location 'file:///opt/x/' is ignored: it is neither a file nor a directory.\n"
        "ERROR: Cannot install deepeval==4.3.1 and transformers because these package versions have conflicting"
        " dependencies.\n    deepeval 4.3.1 depends on click<8.4.0 and >=8.0.0\n"
        "    huggingface-hub 2.4.0 depends on click<9.0.0 and >=8.4.2\n"
    )
    why = venvs._conflict(output)
    assert "click<8.4.0" in why and "click<9.0.0 and >=8.4.2" in why and "is ignored" not in why


def test_a_stamped_venv_is_reused_without_installing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "lm-eval"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(sys.executable)
    stamp = {"spec": "lm-eval[hf]==0.4.13", "version": "0.4.13", "pins": venvs.pins(), "install_s": 130.0, "notes": []}
    (folder / "bench-stamp.json").write_text(json.dumps(stamp))
    monkeypatch.setattr(venvs, "VENVS", tmp_path)
    monkeypatch.setattr(venvs, "ROOT", tmp_path)
    said: list[str] = []
    peer = venvs.ensure("lm-eval", said.append)
    assert (peer.python, peer.reused, peer.install_s) == (folder / "bin" / "python", True, 130.0)
    assert said == ["peers: reusing lm-eval (lm-eval[hf]==0.4.13, installed earlier in 130 s)"]


def test_pins_follow_the_project_venv() -> None:
    from importlib import metadata

    assert venvs.pins() == ["torch==2.13.0", f"transformers=={metadata.version('transformers')}"]


def test_deepeval_runs_offline_without_telemetry(tmp_path: Path) -> None:
    base = {"PATH": "/bin", "CONFIDENT_API_KEY": "secret", "PYTHONPATH": "/x", "HTTPS_PROXY": "http://proxy:3128"}
    env = deepeval.env(base, tmp_path)
    assert env["DEEPEVAL_TELEMETRY_OPT_OUT"] == "YES" and "CONFIDENT_API_KEY" not in env and "PYTHONPATH" not in env
    assert env["HTTPS_PROXY"] == env["http_proxy"] == deepeval.CLOSED_PROXY and env["NO_PROXY"] == ""
    assert env["PEER_BENCH_CONFIG"] == str(tmp_path / "peer-config.json")


def test_deepeval_test_file_is_one_test_per_case(tmp_path: Path) -> None:
    test, out = deepeval.write(tmp_path, Path("/m"), ["Q: a\nA:", "Q: b\nA:"], 6, 1)
    source = test.read_text()
    compile(source, str(test), "exec")
    assert "assert_test(LLMTestCase(input=prompt, actual_output=output), [LengthMetric()])" in source
    assert '@pytest.mark.parametrize("index", range(len(CONFIG["prompts"])))' in source
    config = json.loads((tmp_path / "peer-config.json").read_text())
    assert config == {"model": "/m", "prompts": ["Q: a\nA:", "Q: b\nA:"], "tokens": 6, "threads": 1, "out": str(out)}


def test_a_contender_that_raises_is_an_error_row_and_the_others_still_run(tmp_path: Path) -> None:
    def breaks(ctx: Any) -> dict[str, Any]:
        raise RuntimeError("worker output was not JSON")

    def works(ctx: Any) -> dict[str, Any]:
        return {"gen_s": 1.0, "wall_s": 2.0, "texts": ["a"]}

    ctx = peers._peer_runs.Context(tmp_path, ["p"], tmp_path / "p.json", tmp_path / "s.yaml", tmp_path, 6, 1)
    table = {"broken": ("naive", "x", breaks), "fine": ("llmeval", "y", works), "absent": ("lm-eval", "z", None)}
    rows = peers.rounds(ctx, table, 2)
    assert rows["broken"] == {"runs": 0, "failed": 2, "error": "RuntimeError: worker output was not JSON"}
    assert (rows["fine"]["runs"], rows["fine"]["gen_s"]) == (2, 1.0)
    assert rows["absent"] == {"error": "peer not installed"}
