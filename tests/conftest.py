"""Shared test fixtures: tiny models built on the spot (no download), and the demo model when built."""

from __future__ import annotations

from pathlib import Path

import hypothesis  # noqa: F401,E402  (its pytest plugin imports it at the end of every inner run)
import jinja2.sandbox  # noqa: F401,E402  (templates cache a sandbox: one jinja2 for the whole process)

# pytester runs pytest in-process and drops modules first imported by that run; C extensions such as
# numpy cannot be imported twice in one process, so load them once here, before any inner run.
import numpy  # noqa: F401,E402
import pandas  # noqa: F401,E402
import pytest
import rouge_score.rouge_scorer  # noqa: F401,E402  (imports nltk: seconds, once)
import sacrebleu  # noqa: F401,E402
import scipy.stats  # noqa: F401,E402
import yaml  # noqa: F401,E402  (the suite loader uses its C parser, whose event classes must stay the same)

from tests._scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"


@pytest.fixture(scope="session")
def build_models():
    return load_script("fixtures/build_models.py")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, build_models) -> Path:
    """A randomly initialised tiny causal LM with a trained tokenizer and a chat template."""
    return build_models.build_random_model(tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    if not (DEMO_MODEL / "build-stamp.json").is_file():
        pytest.skip("the demo model is not built: run `make setup` (the Makefile builds it before the tests)")
    return DEMO_MODEL


@pytest.fixture
def in_project(pytester, monkeypatch):
    """A pytester folder as the working directory and first on sys.path: for `llmeval run` and in-process apps.

    Write the app module with `in_project(name, source)`; returns the pytester.
    """

    def make(module: str, source: str):
        pytester.makepyfile(**{module: source})
        monkeypatch.chdir(pytester.path)
        monkeypatch.syspath_prepend(str(pytester.path))
        return pytester

    return make
