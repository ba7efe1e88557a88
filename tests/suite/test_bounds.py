"""Bounded rendering and expansion: hostile templates and case blocks stop at a named budget, quickly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmeval import SuiteError, load_suite

ROOT = Path(__file__).resolve().parents[2]

# A child process under a 4 GiB address-space limit: the unbounded code hangs or eats gigabytes; fail, don't hang.
LOAD_IN_CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
from llmeval import SuiteError, load_suite
start = time.perf_counter()
try:
    message = "loaded %d cases" % len(load_suite(sys.argv[1]).cases)
except SuiteError as exc:
    message = str(exc)
# the peak of this process image (ru_maxrss would carry the forking pytest worker's peak across exec)
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": time.perf_counter() - start, "rss_mb": rss, "message": message}))
"""


def load_in_child(path: Path) -> dict:
    try:
        run = subprocess.run(
            [sys.executable, "-c", LOAD_IN_CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {path.name} did not finish in 60 s")
    assert run.stdout, run.stderr[-2000:]
    return json.loads(run.stdout)


def write_suite(folder: Path, prompt: str, extra: str = "", case_vars: str = "{}") -> Path:
    path = folder / "t.yaml"
    path.write_text(
        f"suite: t\nprompt: {json.dumps(prompt)}\n{extra}cases:\n  - id: a\n    vars: {case_vars}\n    scorers: [{{exact: y}}]\n"
    )
    return path


LOOPS4 = "{% for a in s %}{% for b in s %}{% for c in s %}{% for d in s %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
DOUBLING = "{% set ns = namespace(s='x') %}{% for i in range(31) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
LOOPS3 = "{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}"
MACRO = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}x{% endif %}{% endmacro %}{{ f(40)|length }}"
HOSTILE_TEMPLATES = [
    ("four-loops", LOOPS4, "template_steps"),
    ("namespace-doubling", DOUBLING, "template_chars"),
    ("plus-doubling", DOUBLING.replace("ns.s ~ ns.s", "ns.s + ns.s"), "template_chars"),
    ("macro-recursion", MACRO, "template_"),
    ("replace-growth", "{% set t = 'a' * 90000 %}{{ t|replace('a', t)|length }}", "template_chars"),
    ("expandtabs", "{{ ('\t' * 90000).expandtabs(90000)|length }}", "template_chars"),
    ("join-separator", "{% set t = 'a' * 90000 %}{{ ([1] * 90000)|join(t)|length }}", "template_chars"),
    (
        "nested-lists",
        "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
        "template_",
    ),
]


@pytest.mark.parametrize(("name", "prompt", "key"), HOSTILE_TEMPLATES, ids=[t[0] for t in HOSTILE_TEMPLATES])
def test_hostile_templates_stop_at_a_named_budget(tmp_path, name, prompt, key):
    path = write_suite(tmp_path, prompt, case_vars=json.dumps({"s": "y" * 400}))
    result = load_in_child(path)
    assert result["message"].startswith(f"{path}:4: 'prompt': the prompt template is too large"), result
    assert "budget" in result["message"] and f"limits: {{{key}" in result["message"], result
    assert result["seconds"] < 15, result
    assert result["rss_mb"] < 600, result


@pytest.mark.parametrize(
    ("prompt", "limits", "key"),
    [
        (LOOPS3 + "done", "template_steps: 2000000", "template_steps"),
        ("{% for i in range(20) %}{{ 'x' * 99999 }}{% endfor %}", "template_output: 3000000", "template_output"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(24) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
            "template_chars: 100000000",
            "template_chars",
        ),
    ],
)
def test_a_suite_raises_its_template_budget_explicitly(tmp_path, prompt, limits, key):
    variables = json.dumps({"s": "y" * 100})
    with pytest.raises(SuiteError, match=f"limits: {{{key}: "):
        load_suite(write_suite(tmp_path, prompt, case_vars=variables))
    (case,) = load_suite(write_suite(tmp_path, prompt, f"limits: {{{limits}}}\n", variables)).cases
    assert case.prompt


def test_ordinary_templates_render_unchanged(tmp_path):
    prompt = "Q: {{ s[:3]|upper }} {% for w in words %}{{ loop.index }}={{ w ~ '!' }} {% endfor %}"
    prompt += "{{ words|join(', ') }} {{ '%3d' % 7 }}"
    path = write_suite(tmp_path, prompt, case_vars=json.dumps({"s": "abcdef", "words": ["a", "b"]}))
    (case,) = load_suite(path).cases
    assert case.prompt == "Q: ABC 1=a! 2=b! a, b   7"


def counterfactual_bomb(folder: Path, attributes: int, groups: int, extra: str = "") -> Path:
    lines = ["suite: cf", 'prompt: "{{ name }}"', extra, "counterfactual:", "  attributes:"]
    for a in range(attributes):
        lines.append(f"    a{a}: {{{', '.join(f'g{g}: v{g}' for g in range(groups))}}}")
    path = folder / "cf.yaml"
    path.write_text("\n".join(lines) + "\ncases:\n  - {id: c, vars: {name: x}, scorers: [{exact: y}]}\n")
    return path


def test_a_counterfactual_bomb_is_refused_before_it_is_built(tmp_path):
    path = counterfactual_bomb(tmp_path, attributes=7, groups=10)
    result = load_in_child(path)
    assert result["message"].startswith(f"{path}:4: 'limits.cases': the counterfactual block makes 10,000,000 variants"), result
    assert "cap of 100,000 cases" in result["message"], result
    assert result["seconds"] < 5 and result["rss_mb"] < 400, result


def test_the_case_cap_counts_every_block_and_may_be_raised(tmp_path):
    (tmp_path / "t.csv").write_text("q\n" + "".join(f"r{i}\n" for i in range(30)))
    body = 'prompt: "{{ q }}"\ncases:\n  - cases_from: t.csv\n    scorers: [{exact: y}]\n'
    body += "  - {id: p, generate: {q: email}, n: 50, scorers: [{exact: y}]}\n"
    path = tmp_path / "s.yaml"
    path.write_text("suite: s\nlimits: {cases: 60}\n" + body)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value).startswith(
        f"{path}:7: 'limits.cases': cases[1] (generate, n: 50) makes 50 cases, 80 in the suite so far"
    )
    path.write_text("suite: s\nlimits: {cases: 80}\n" + body)
    assert len(load_suite(path).cases) == 80
