"""Typed stash keys: what the pytest front end keeps on the config between hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from llmeval.config import Settings

if TYPE_CHECKING:
    from llmeval.core import Evaluation, RunResult, Target  # noqa: F401 (named in the keys' string types)

RUN_ID = "llmeval_run_id"  # the controller's run id, in each xdist worker's workerinput
CONTEXT = "llmeval_context"  # the report attribute a suite's baseline comparisons and model identities travel in

settings_key = pytest.StashKey[Settings]()
baseline_key = pytest.StashKey[Any]()  # the loaded --llmeval-baseline (llmeval.gate.baseline.Baseline) or None
evaluation_key = pytest.StashKey["Evaluation"]()  # the run's core, built on first use
result_key = pytest.StashKey["RunResult"]()  # the records items read
selection_key = pytest.StashKey[dict[str, list["Target"]]]()  # suite path -> its targets
broken_key = pytest.StashKey[list[str]]()  # suite files that could not be collected
names_key = pytest.StashKey[dict[str, str]]()  # suite name -> the file that has it
markers_key = pytest.StashKey[set[str]]()  # suite tags registered as markers
done_key = pytest.StashKey[set[str]]()  # suite files an xdist worker has evaluated
sent_key = pytest.StashKey[list[int]]()  # [values, secrets] an xdist worker's redactor has sent the controller
context_sent_key = pytest.StashKey[set[Any]]()  # baseline comparisons (target keys) a worker has sent
