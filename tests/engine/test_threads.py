"""Torch's thread count from the free cores: the choice table, the /proc sampling, and that it is applied."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llmeval.engine import threads
from llmeval.engine.threads import busy_elsewhere, choose_threads, torch_threads, usable_cpus, use_torch_threads


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch):
    """Each test makes its own free-core choice (a choice serves the loads of one run)."""
    monkeypatch.setattr(threads, "_last_choice", None)


@pytest.mark.parametrize(
    ("cpus", "busy", "expected"),
    [
        (2, 0.0, 2),  # idle machine: every core
        (2, 0.4, 2),  # a little background noise rounds away
        (2, 0.6, 1),  # the other core mostly busy: one thread (the oversubscription case of issue 12)
        (2, 1.0, 1),
        (2, 7.5, 1),  # overloaded: still one thread
        (16, 3.2, 13),
        (16, 0.0, 16),
        (1, 0.0, 1),
        (4, 2.5, 1),  # 2.5 rounds to 3 busy cores
    ],
)
def test_threads_are_the_cores_left_free(cpus, busy, expected):
    assert choose_threads(cpus, busy) == expected


def test_usable_cpus_never_exceed_the_affinity_mask():
    import os

    assert 1 <= usable_cpus() <= len(os.sched_getaffinity(0))


def test_a_process_spinning_on_our_cores_counts_as_busy():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy_elsewhere(0.3)  # let the spinner get going
        assert busy_elsewhere(0.5) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()


def test_the_setting_overrides_the_choice_and_is_applied():
    import torch

    before = torch.get_num_threads()
    try:
        assert torch_threads(3) == 3
        assert use_torch_threads(1, "cpu") == 1 == torch.get_num_threads()
        chosen = use_torch_threads(None, "cpu")
        assert 1 <= chosen <= usable_cpus() and chosen == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_the_default_follows_the_free_cores(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    try:
        for busy, expected in ((0.0, 2), (1.3, 1)):
            monkeypatch.setattr(threads, "busy_elsewhere", lambda busy=busy: busy)
            monkeypatch.setattr(threads, "_last_choice", None)  # another run
            assert use_torch_threads(None, "cpu") == expected == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("omp", "expected"), [("1", 1), ("3", 3), ("2,1", 2), ("0", 2), ("", 2), ("many", 2)])
def test_a_users_omp_num_threads_is_honoured_unless_the_setting_says_otherwise(monkeypatch, omp, expected):
    """OMP_NUM_THREADS=1 used to be overridden by the free-core choice (a 1-thread benchmark ran on 2)."""
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert torch_threads(None) == expected
    assert torch_threads(4) == 4


def test_one_sample_serves_the_loads_of_a_run_then_is_taken_anew(monkeypatch):
    samples = []
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: samples.append(1) or 1.0)
    assert [torch_threads(None) for _ in range(3)] == [1, 1, 1] and len(samples) == 1
    monkeypatch.setattr(threads, "REUSE_S", -1.0)  # the window has passed
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: samples.append(1) or 0.0)
    assert torch_threads(None) == 2 and len(samples) == 2


def test_the_hf_backend_and_the_pool_apply_the_same_choice(tiny_model, monkeypatch):
    import torch

    from llmeval.backends import resolve
    from llmeval.engine.pool import ModelPool

    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_elsewhere", lambda: 1.0)  # the other core is taken
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        torch.set_num_threads(2)
        resolve(f"hf:{tiny_model}", root=tiny_model.parent).load()
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        ModelPool().load("causal", str(tiny_model))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
