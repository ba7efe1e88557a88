"""The example suites (the demo) collect cleanly, and -k with a case id selects exactly that case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests._scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def _collect(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if "::" in line]


def test_every_example_suite_collects(demo_model):
    items = _collect("suites/")
    assert len(items) > 100
    assert "suites/support.yaml::returns-policy[support-tiny]" in items
    assert "suites/tickets.yaml::gate:pii-leak_rate[summarise]" in items


def test_k_with_a_case_id_runs_exactly_that_case(demo_model):
    assert _collect("suites/support.yaml", "-k", "returns-policy") == ["suites/support.yaml::returns-policy[support-tiny]"]


def _demo_notes() -> ModuleType:
    return load_script("suites/demo_notes.py")


def test_demo_md_has_one_row_per_example_suite():
    rows = _demo_notes().expectations()
    files = sorted(p.name for p in (ROOT / "suites").glob("*.yaml"))
    assert sorted(r.file for r in rows) == files
    for row in rows:
        assert f"suite: {row.suite}\n" in (ROOT / "suites" / row.file).read_text(), f"suites/DEMO.md:{row.line}: {row.file}"


def test_demo_md_rejects_a_row_whose_verdict_disagrees_with_its_counts(tmp_path):
    notes = _demo_notes()
    table = (ROOT / "suites" / "DEMO.md").read_text().replace("| 0 / 1600 | PASS |", "| 0 / 1600 | FAIL |", 1)
    (tmp_path / "DEMO.md").write_text(table)
    with pytest.raises(ValueError, match=r"DEMO.md:\d+: expected FAIL, but the counts make it PASS"):
        notes.expectations(tmp_path / "DEMO.md")


def _baseline_differences(committed: dict, generated: dict) -> list[str]:
    """What differs between two baselines, ignoring when and by which run they were made."""
    out = []
    old = {(c["suite"], c["case"], c["model"]): c for c in committed["cases"]}
    new = {(c["suite"], c["case"], c["model"]): c for c in generated["cases"]}
    out += [f"case only in the committed baseline: {k}" for k in sorted(set(old) - set(new))]
    out += [f"case not in the committed baseline: {k}" for k in sorted(set(new) - set(old))]
    for key in sorted(set(old) & set(new)):
        a, b = old[key]["scores"], new[key]["scores"]
        for metric in sorted(set(a) | set(b)):
            was, now = a.get(metric, {}), b.get(metric, {})
            if was.get("passed") != now.get("passed"):
                out.append(f"pass/fail of {key} {metric}: {was.get('passed')} -> {now.get('passed')}")
            elif json.dumps(was.get("value")) != json.dumps(now.get("value")):
                out.append(f"score of {key} {metric}: {was.get('value')} -> {now.get('value')}")
        if old[key].get("fingerprint") != new[key].get("fingerprint"):
            out.append(f"fingerprint (prompt, references) of {key} changed")
    gates = {(g["suite"], g["gate"], g["model"]): g for g in committed["gates"]}
    for g in generated["gates"]:
        was = gates.pop((g["suite"], g["gate"], g["model"]), None)
        if was != g:
            out.append(f"gate {g['suite']}::{g['gate']}: {was} -> {g}")
    out += [f"gate only in the committed baseline: {k}" for k in gates]
    if committed["suites"] != generated["suites"]:
        out.append(f"suites: {committed['suites']} -> {generated['suites']}")
    return out


@pytest.mark.slow
def test_the_committed_baseline_is_what_the_code_generates_and_the_demo_ends_as_demo_md_says(demo_model, tmp_path):
    """`make baseline`'s recording run, into a temporary file: it must equal fixtures/baselines/demo.json."""
    saved, results = tmp_path / "demo.json", tmp_path / "results.jsonl"
    args = ["suites/", "-p", "no:cacheprovider", "-q", "--tb=no", "--llmeval-cache", "off", "--llmeval-results", str(results)]
    command = [sys.executable, "-m", "pytest", *args, "--llmeval-save-baseline", str(saved)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1 and saved.is_file(), done.stdout[-3000:] + done.stderr[-3000:]

    committed = json.loads((ROOT / "fixtures" / "baselines" / "demo.json").read_text())
    differences = _baseline_differences(committed, json.loads(saved.read_text()))
    assert not differences, (
        f"fixtures/baselines/demo.json is stale: {len(differences)} differences with what the code generates, e.g.\n  "
        + "\n  ".join(differences[:15])
        + "\nrun `make baseline`, review `git diff fixtures/baselines/demo.json` and commit it"
    )
    notes = _demo_notes()
    lines, ok = notes.after(notes.expectations(), notes.outcomes(results))
    assert ok, "\n".join(lines)
