"""Manifest diffs: each differing field named; a changed suite file is an error for a regression comparison."""

from __future__ import annotations

import json

from llmeval.ops.comparability import diff_manifests, has_errors
from tests.ops.helpers import manifest


def test_identical_manifests_have_no_difference():
    assert diff_manifests(manifest("a"), manifest("b")) == []


def test_each_differing_field_is_named_with_both_values():
    before, after = manifest("a"), manifest("b", torch="2.14.0")
    after_json = after.to_json()
    after_json["environment"]["gpus"] = ["NVIDIA H200"]
    after_json["models"]["hf:m"] = "hf|def"
    after_json["suites"]["qa"]["generation"] = {"seed": 1}
    found = {d.field: d for d in diff_manifests(before, after_json)}
    assert set(found) == {"packages.torch", "environment.gpus", "models.hf:m", "suites.qa.generation"}
    assert (found["packages.torch"].before, found["packages.torch"].after) == ("2.13.0", "2.14.0")
    assert "not comparable across machines" in found["environment.gpus"].describe()
    assert not has_errors(found.values())


def test_a_changed_suite_hash_is_an_error_only_where_a_regression_gate_compares():
    before, after = manifest("a"), manifest("b", sha="b" * 64)
    [warning] = diff_manifests(before, after)
    assert warning.field == "suites.qa.sha256" and warning.severity == "warning"
    [error] = diff_manifests(before, after, regression_suites=["qa"])
    assert error.severity == "error" and has_errors([error])
    assert error.describe().startswith("error: suites.qa.sha256 differs: aaaaaaaaaaaa -> bbbbbbbbbbbb")


def test_fields_only_one_manifest_has_are_not_differences():
    old = {"run_id": "old", "suites": {"qa": {"path": "qa.yaml"}}, "packages": {"llmeval": "0.1.0"}}
    assert diff_manifests(old, manifest("b")) == []


def test_a_suite_in_one_run_only_is_named():
    found = diff_manifests(manifest("a"), manifest("b", suite="other"))
    assert {d.field for d in found} == {"suites.qa", "suites.other"}


def test_compare_names_the_manifest_fields_that_differ_between_results_files(tmp_path, capsys):
    from llmeval.cli import main
    from tests.ops.helpers import run

    for name, torch, sha in (("a", "2.13.0", "a" * 64), ("b", "2.14.0", "b" * 64)):
        cases, gates, verdict, m = run(name, 0.8, torch=torch, sha=sha)
        rows = [c.to_json() for c in cases] + [g.to_json() for g in gates] + [verdict.to_json(), m.to_json()]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--label", "a", "--label", "b"]) == 0
    err = capsys.readouterr().err
    assert "warning: packages.torch differs: 2.13.0 -> 2.14.0" in err
    assert "warning: suites.qa.sha256 differs: aaaaaaaaaaaa -> bbbbbbbbbbbb" in err
