"""The run history: appends from concurrent processes, trends, accepting runs, baselines built from accepted runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmeval.errors import LlmevalError
from llmeval.ops.history import History
from llmeval.ops.trend import sparkline, trend_lines
from tests.ops.helpers import record

ROOT = Path(__file__).resolve().parents[2]
WRITER = textwrap.dedent(
    """
    import sys
    from llmeval.ops.history import History
    from tests.ops.helpers import record
    history, tag, count = History(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(count):
        history.append(record(f"{tag}-{i:03d}", 0.5 + i / 1000))
    """
)


def test_two_processes_appending_at_once_lose_no_run_and_no_row(tmp_path):
    path, count = tmp_path / "h.sqlite", 25
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(count)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    history = History(path)
    runs = history.runs()
    assert len(runs) == 2 * count
    assert {r.run_id for r in runs} == {f"{t}-{i:03d}" for t in "ab" for i in range(count)}
    for tag in "ab":  # each writer's runs in its own order; every run complete (one transaction per run)
        mine = [r.run_id for r in runs if r.run_id.startswith(tag)]
        assert mine == sorted(mine)
    points = history.trend(metric="rougeL")
    assert len(points) == 2 * count and all(p.n == 40 for p in points)
    assert all(len(history.gates(r.run_id)) == 1 for r in runs)


def test_trend_reads_the_last_runs_in_order_with_their_intervals(tmp_path):
    history = History(tmp_path / "h.sqlite")
    for i, value in enumerate([0.6, 0.7, 0.8, 0.55]):
        history.append(record(f"r{i}", value))
    points = history.trend(suite="qa", metric="rougeL", last=3)
    assert [p.run_id for p in points] == ["r1", "r2", "r3"]
    assert [round(p.value, 3) for p in points] == [0.65, 0.75, 0.5]  # the mean over cases (half of them value - 0.1)
    assert all(p.low is not None and p.low < p.value < p.high for p in points)
    assert history.trend(metric="bleu") == []
    text = "\n".join(trend_lines(points, history.runs(3)))
    assert "qa / m / rougeL" in text and sparkline([0.65, 0.75, 0.5]) in text and "-0.25 since the run before" in text


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, 1.0]) == "▅▅"
    assert sparkline([]) == ""


def test_accept_marks_a_run_and_accepted_returns_the_latest_ones(tmp_path):
    history = History(tmp_path / "h.sqlite")
    for i in range(4):
        history.append(record(f"r{i}", 0.6 + i / 10))
    assert history.accepted(1) == []
    history.accept("r0")
    history.accept("r2")
    assert [e.run_id for e, _ in history.accepted(5)] == ["r0", "r2"]
    [(entry, summaries)] = history.accepted(1)
    assert entry.run_id == "r2" and entry.accepted and len(summaries) == 40
    assert [p.accepted for p in history.trend(metric="rougeL")] == [True, False, True, False]
    with pytest.raises(LlmevalError, match="holds no run 'nope'; the last runs: r3, r2, r1, r0"):
        history.accept("nope")


def test_the_same_run_twice_is_an_error_and_leaves_the_history_as_it_was(tmp_path):
    history = History(tmp_path / "h.sqlite")
    history.append(record("r0", 0.6))
    with pytest.raises(LlmevalError, match="already holds run r0"):
        history.append(record("r0", 0.9))
    assert [round(p.value, 2) for p in history.trend()] == [0.55]


def test_reading_a_missing_history_says_how_to_record_one(tmp_path):
    with pytest.raises(LlmevalError, match="--llmeval-history"):
        History(tmp_path / "none.sqlite").runs()
    assert not (tmp_path / "none.sqlite").exists()


def test_history_baseline_pools_the_last_accepted_runs(tmp_path):
    from llmeval.gate.baseline import compare_with_baseline
    from llmeval.ops.baseline import load_run_baseline as load_baseline
    from tests.ops.helpers import cases

    path = tmp_path / "h.sqlite"
    history = History(path)
    for i, value in enumerate([0.9, 0.7, 0.8]):
        history.append(record(f"r{i}", value))
    history.accept("r0")
    history.accept("r2")
    baseline = load_baseline(tmp_path / "history:last-accepted:2", history=path)
    assert baseline.meta["runs"] == ["r0", "r2"]
    first = baseline.cases_for("qa", "hf:m")["c1"]["scores"]["rougeL"]
    assert first["value"] == pytest.approx(0.85)  # the mean of 0.9 and 0.8
    current = [r.row() for r in cases("now", 0.3)]
    diff = compare_with_baseline(current, baseline, [{"metric": "rougeL", "max_drop": 0.02}])
    assert diff["regressions"] and diff["regressions"][0]["metric"] == "rougeL"
    same = [r.row() for r in cases("now", 0.85)]
    assert not compare_with_baseline(same, baseline, [{"metric": "rougeL", "max_drop": 0.02}])["regressions"]


def test_history_baseline_errors_say_how_to_fix(tmp_path):
    from llmeval.ops.baseline import load_run_baseline as load_baseline

    path = tmp_path / "h.sqlite"
    History(path).append(record("r0", 0.6))
    with pytest.raises(LlmevalError, match="no accepted run; accept one with `llmeval history .* accept RUN_ID`"):
        load_baseline(tmp_path / "history:last-accepted", history=path)
    with pytest.raises(LlmevalError, match="expected history:last-accepted or history:last-accepted:N"):
        load_baseline(tmp_path / "history:best", history=path)


def test_a_history_baseline_names_what_differs_from_the_accepted_runs_environment(tmp_path):
    from importlib.metadata import version

    from llmeval.gate.baseline import compare_with_baseline
    from llmeval.ops.baseline import load_run_baseline as load_baseline
    from tests.ops.helpers import cases

    path = tmp_path / "h.sqlite"
    History(path).append(record("r0", 0.8, torch="0.0.1"))  # the accepted run had another torch
    History(path).accept("r0")
    baseline = load_baseline(tmp_path / "history:last-accepted", history=path)
    note = f"baseline run r0: warning: packages.torch differs: 0.0.1 -> {version('torch')}"
    assert note in baseline.meta["comparability"]
    assert note in compare_with_baseline([r.row() for r in cases("now", 0.8)], baseline)["mismatches"]
