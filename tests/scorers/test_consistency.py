"""`self_consistency` in a run: the model under test resampled through the plan (cached), steady vs shaky answers."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main
from llmeval.errors import ScorerError
from llmeval.scorers.base import Sample, build
from llmeval.scorers.context import default_context

APP = """
import itertools, os
_count = itertools.count()
ANSWERS = ["The Eiffel Tower is in Paris.", "Bananas grow on tall trees in Ecuador.", "My cat sleeps all day long.",
           "Saturn has many icy rings.", "Copper conducts electricity well."]

def _log():
    with open(os.path.join(os.path.dirname(__file__), "calls.log"), "a") as f:
        f.write("x\\n")

def steady(prompt, vars):
    _log()
    return "The Eiffel Tower is in Paris."

def shaky(prompt, vars):
    _log()
    return ANSWERS[next(_count) % len(ANSWERS)]

_facts = itertools.count()
YEARS, HEIGHTS = [1889, 1901, 1875, 1923, 1910], [330, 312, 281, 356, 298]
NAMES = ["Eiffel", "Laurent", "Moreau", "Dupont", "Girard"]
MONTHS = ["March", "June", "October", "January", "August"]

def facts_vary(prompt, vars):
    k = next(_facts) % 5
    return (f"The tower opened in {MONTHS[k]} {YEARS[k]}. It is {HEIGHTS[k]} metres tall and was designed by "
            f"engineer Gustave {NAMES[k]}.")

def facts_steady(prompt, vars):
    return "The tower opened in March 1889. It is 330 metres tall and was designed by engineer Gustave Eiffel."
"""
SUITE = """suite: {name}
model: python:consistency_app:{fn}
prompt: "Where is the Eiffel Tower?"
defaults:
  scorers:
    - self_consistency: {{samples: 3}}
cases:
  - {{id: a}}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (not pytester: its sys.modules snapshot would unload torch, which cannot be imported twice)."""
    (tmp_path / "consistency_app.py").write_text(APP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def _scores(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["suite"]: r["scores"].get("self_consistency", r.get("error")) for r in rows if r["kind"] == "case"}


def test_steady_model_is_consistent_shaky_one_is_not_and_resamples_are_cached(project):
    (project / "steady.yaml").write_text(SUITE.format(name="steady", fn="steady"))
    (project / "shaky.yaml").write_text(SUITE.format(name="shaky", fn="shaky"))
    main(["run", ".", "--results", "r.jsonl", "-q", "--threads", "1"])
    scores = _scores(project / "r.jsonl")
    assert scores["steady"]["value"] == pytest.approx(0.0, abs=1e-6) and scores["steady"]["passed"]
    assert scores["shaky"]["value"] > 0.5 and not scores["shaky"]["passed"]
    log = project / "calls.log"
    assert len(log.read_text().split()) == 8  # 2 suites x (1 answer + 3 resamples)
    main(["run", ".", "--results", "r2.jsonl", "-q", "--threads", "1"])
    assert len(log.read_text().split()) == 8  # warm: no call to the model at all
    assert _scores(project / "r2.jsonl") == scores


def test_numbers_dates_and_names_that_move_between_samples_are_inconsistent(project):
    """Same wording, different year, month, height and name on every sample: inconsistent (old scores: 0.1-0.4)."""
    for fn in ("facts_vary", "facts_steady"):
        (project / f"{fn}.yaml").write_text(SUITE.format(name=fn, fn=fn).replace("samples: 3", "samples: 4"))
    main(["run", ".", "--results", "r.jsonl", "-q", "--threads", "1"])
    scores = _scores(project / "r.jsonl")
    assert scores["facts_vary"]["value"] > 0.5 and not scores["facts_vary"]["passed"]
    assert scores["facts_steady"]["value"] < 0.2 and scores["facts_steady"]["passed"]


@pytest.mark.parametrize(
    ("claim", "answer", "agreement"),
    [
        ("It opened in March 1889.", "Opened March 1889, it is tall.", 1.0),
        ("It opened in March 1889.", "It opened in June 1889.", 0.5),
        ("Designed by Gustave Eiffel.", "Designed by Gustave Moreau.", 0.5),
        ("It is very tall.", "It is 300 m tall.", 1.0),
        ("It is 330 metres tall.", "It is three hundred and thirty metres tall.", 1.0),
    ],
)
def test_fact_agreement_counts_numbers_dates_and_names(claim, answer, agreement):
    from llmeval.scorers.consistency import fact_agreement

    assert fact_agreement(claim, answer) == pytest.approx(agreement)


def test_outside_a_run_the_generator_must_be_named(tmp_path):
    scorer = build("self_consistency", {"samples": 2})
    with pytest.raises(ValueError, match="needs the model under test"):
        scorer.score([Sample("an answer", prompt="q")], default_context(root=tmp_path, threads=1))
    with pytest.raises(ScorerError, match="temperature > 0"):
        build("self_consistency", {"temperature": 0})


HF_SUITE = """suite: hf-consistency
model: hf:{model}
generation: {{max_new_tokens: 24, temperature: 0, seed: 0}}
prompt: "Q: {{{{ question }}}}\\nA:"
defaults:
  scorers:
    - self_consistency: {{samples: 4, max: 1.0}}
cases:
  - {{id: returns, vars: {{question: "How long do I have to return an item?"}}}}
  - {{id: shipping, vars: {{question: "Do you ship abroad?"}}}}
  - {{id: hours, vars: {{question: "What are your opening hours?"}}}}
"""


def test_hf_resamples_go_in_one_batch_are_cached_and_score_in_range(project, demo_model, monkeypatch):
    from llmeval.backends.hf import HFBackend

    calls: list[list[float]] = []  # per generate call: the temperature of each request
    real = HFBackend.generate

    def counted(self, requests, on_result, limits=None):
        calls.append([r.config.temperature for r in requests])
        return real(self, requests, on_result, limits)

    monkeypatch.setattr(HFBackend, "generate", counted)
    (project / "hf.yaml").write_text(HF_SUITE.format(model=demo_model))
    main(["run", "hf.yaml", "--results", "r.jsonl", "-q", "--threads", "1"])
    scores = _scores(project / "r.jsonl")
    rows = [json.loads(line) for line in (project / "r.jsonl").read_text().splitlines()]
    values = [r["scores"]["self_consistency"]["value"] for r in rows if r["kind"] == "case"]
    assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values), scores
    assert calls == [[0.0] * 3, [1.0] * 12]  # the answers, then all 3 x 4 resamples in one call
    main(["run", "hf.yaml", "--results", "r2.jsonl", "-q", "--threads", "1"])
    assert len(calls) == 2  # warm: nothing generated
    assert _scores(project / "r2.jsonl") == scores
