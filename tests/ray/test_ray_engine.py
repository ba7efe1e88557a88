"""`--llmeval-engine ray` on a real local Ray session with 2 actors and the demo model.

Outputs must equal the local (single-process) engine token for token; results land in the shared
cache; an actor that cannot load gives clear per-case errors; the run deadline bounds the wait.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from llmeval.cli import main

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "fixtures" / "data" / "faq.csv"
SUITE = """suite: ray-faq
model: hf:{model}
generation: {{max_new_tokens: 24, temperature: 0, seed: 0}}
prompt: "Q: {{{{ question }}}}\\nA:"
defaults:
  scorers: [{{length: {{max: 400}}}}]
cases:
  - cases_from: {faq}
    id: "faq-{{{{ id }}}}"
    reference: "{{{{ answer }}}}"
"""


def write_suite(folder: Path, model: Path) -> Path:
    """The suite and a copy of its table: suites read tables inside the project only."""
    shutil.copy(FAQ, folder / FAQ.name)
    path = folder / "faq.yaml"
    path.write_text(SUITE.format(model=model, faq=FAQ.name))
    return path


def run(*args: str) -> dict[str, dict]:
    """`llmeval run` in this process; the case rows of its results file by case id."""
    results = Path(args[args.index("--results") + 1])
    main(["run", "faq.yaml", *args])
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {r["case"]: r for r in rows if r["kind"] == "case"}


@pytest.fixture
def project(tmp_path, monkeypatch, demo_model):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, demo_model)
    return tmp_path


@pytest.fixture
def local_rows(project) -> dict[str, dict]:
    """The single-process engine's rows (1 torch thread, no cache)."""
    return run("--results", "local.jsonl", "--cache", "off", "--threads", "1")


def test_ray_outputs_equal_the_local_engine_and_fill_the_cache(project, local_rows, ray_cluster, capsys):
    rows = run("--engine", "ray", "--ray-actors", "2", "--results", "ray.jsonl", "--cache-dir", "shared-cache")
    assert len(rows) >= 50 and rows.keys() == local_rows.keys()
    assert [r["error"] for r in rows.values()] == [None] * len(rows)
    assert {k: (r["output"], r["tokens"]) for k, r in rows.items()} == {
        k: (r["output"], r["tokens"]) for k, r in local_rows.items()
    }
    capsys.readouterr()
    warm = run("--results", "warm.jsonl", "--cache-dir", "shared-cache")  # engine local: reads what Ray wrote
    assert all(r["cached"] for r in warm.values())
    assert f"({len(rows)} from cache, 0 generated)" in capsys.readouterr().err
    assert {k: r["output"] for k, r in warm.items()} == {k: r["output"] for k, r in rows.items()}


def test_pytest_plugin_joins_a_cluster_at_its_address(pytester, monkeypatch, demo_model, ray_cluster, local_rows):
    suite, results = write_suite(pytester.mkdir("inner"), demo_model), pytester.path / "inner" / "r.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's llmeval in the inner pytest (and so in the actors)
    result = pytester.runpytest_subprocess(
        str(suite),
        "--llmeval-engine",
        "ray",
        "--llmeval-ray-address",
        ray_cluster,
        "--llmeval-ray-actors",
        "2",
        "--llmeval-results",
        str(results),
        "--llmeval-cache",
        "off",
        "-p",
        "no:cacheprovider",
        timeout=300,
    )
    result.assert_outcomes(passed=len(local_rows))
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    outputs = {r["case"]: r["output"] for r in rows if r["kind"] == "case"}
    assert outputs == {k: r["output"] for k, r in local_rows.items()}


def test_both_actors_share_the_work_and_results_stream_back_per_block(ray_cluster, demo_model):
    from llmeval.backends import Request, resolve
    from llmeval.backends.base import GenerationConfig
    from llmeval.engine.ray_engine import RayBackend

    inner = resolve(f"hf:{demo_model}", root=ROOT)
    backend = RayBackend(inner, root=ROOT, options={"threads": 1}, actors=2)
    requests = [Request(f"Q: Can I pay for order number {n} later?\nA:", None, GenerationConfig(8)) for n in range(200)]
    arrivals: dict[int, tuple[float, str]] = {}
    backend.generate(requests, lambda i, gen: arrivals.setdefault(i, (time.monotonic(), gen.meta["worker"])))
    backend.close()
    assert sorted(arrivals) == list(range(200))  # each request reported exactly once
    assert len({worker for _, worker in arrivals.values()}) == 2
    times = sorted(at for at, _ in arrivals.values())  # 4 blocks of 50, two per actor, one after the other
    assert times[-1] - times[0] > 0.05  # the first blocks were handed over while the last were still generating


def test_an_actor_that_cannot_load_the_model_errors_each_case(project, ray_cluster, demo_model, capsys):
    broken = project / "broken-model"
    shutil.copytree(demo_model, broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    write_suite(project, broken)
    started = time.monotonic()
    rows = run("--engine", "ray", "--ray-actors", "2", "--results", "r.jsonl", "--cache-dir", "c")
    assert time.monotonic() - started < 120
    errors = {r["error"] for r in rows.values()}
    assert len(rows) >= 50 and len(errors) >= 1 and all(e for e in errors)
    assert all("ray actor" in e and f"could not load 'hf:{broken}'" in e for e in errors), errors


def wait_for_free_cpus() -> None:
    """The dataset's actors give their CPUs back (a later test needs both); one still busy first ends its block."""
    import ray

    for _ in range(480):
        if ray.available_resources().get("CPU") == 2.0:
            break
        time.sleep(0.5)
    assert ray.available_resources().get("CPU") == 2.0


def test_the_run_deadline_bounds_the_ray_engine(project, ray_cluster, capsys):
    started = time.monotonic()
    rows = run("--engine", "ray", "--ray-actors", "2", "--results", "r.jsonl", "--deadline", "1", "--cache-dir", "c")
    assert time.monotonic() - started < 30  # the actors alone take ~7 s to start: the deadline cut the wait
    assert {r["error"] for r in rows.values()} <= {
        "stopped: run deadline of 1 s reached",
        "not generated: run deadline of 1 s reached",
    }
    assert all(r["error"] for r in rows.values())
    wait_for_free_cpus()  # the abandoned actors see the deadline too: they answer at once


def test_an_actor_killed_mid_run_errors_its_requests_and_keeps_what_finished(ray_cluster, demo_model):
    from llmeval.backends import Request, resolve
    from llmeval.backends.base import GenerationConfig
    from llmeval.engine.ray_engine import RayBackend

    backend = RayBackend(resolve(f"hf:{demo_model}", root=ROOT), root=ROOT, options={"threads": 1}, actors=2)
    requests = [Request(f"Q: Where is parcel number {n}?\nA:", None, GenerationConfig(48)) for n in range(400)]
    got: dict[int, object] = {}

    def on_result(index, gen):
        if not got:  # the first block is back: its actor is already on its next block; kill it (SIGKILL, as the OOM killer)
            os.kill(int(gen.meta["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
        got[index] = gen
        calls.append(index)

    calls: list[int] = []
    started = time.monotonic()
    backend.generate(requests, on_result)
    backend.close()
    assert time.monotonic() - started < 300  # far below the 900 s stall bound: the death was reported, not waited out
    assert sorted(calls) == list(range(400))  # every request reported exactly once: a result or an error
    finished = [g for g in got.values() if g.error is None]
    errors = {g.error for g in got.values() if g.error is not None}
    assert len(finished) >= 50  # the first block at least
    assert all(e.startswith("ray engine: ") and "Actor" in e for e in errors), errors
    # The killed actor's block either becomes errors, or (seen on a fast machine) Ray Data ran it again on the
    # other actor and everything finished; what may never happen is a request lost or reported twice.
    assert errors or len(finished) == len(requests)
    # last in this file: after an actor death Ray Data sometimes keeps one CPU of the joined session for minutes
