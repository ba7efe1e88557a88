"""The results file: safe appends, clear errors on bad lines, pandas loading and exports."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from llmeval.cli_report import main
from llmeval.errors import LlmevalError
from llmeval.reporting.results import ResultsWriter, export, load_results, read_rows


def _write(path: Path, rows: list[dict], **options: Any) -> Path:
    with ResultsWriter(path, **options) as writer:
        for row in rows:
            writer.write(row)
    return path


def test_writer_creates_dirs_appends_and_round_trips(tmp_path: Path, rows_with_probes: list[dict]) -> None:
    path = tmp_path / "deep" / "er" / "results.jsonl"
    _write(path, rows_with_probes[:3])
    _write(path, rows_with_probes[3:], mode="append")
    assert read_rows(path) == rows_with_probes


def test_writer_overwrites_by_default(tmp_path: Path, make_case: Any) -> None:
    path = _write(tmp_path / "r.jsonl", [make_case("old-1"), make_case("old-2")])
    _write(path, [make_case("new")])
    assert [r["case"] for r in read_rows(path)] == ["new"]


def test_refuse_mode_keeps_an_existing_file(tmp_path: Path, make_case: Any) -> None:
    path = _write(tmp_path / "r.jsonl", [make_case("old")], mode="refuse")
    with pytest.raises(LlmevalError, match=r"r.jsonl already exists; .*--llmeval-append"):
        ResultsWriter(path, mode="refuse")
    assert [r["case"] for r in read_rows(path)] == ["old"]
    with pytest.raises(ValueError, match="overwrite, append, refuse"):
        ResultsWriter(path, mode="add")  # type: ignore[arg-type]


def test_fsync_per_batch_not_per_row(tmp_path: Path, make_case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = _write(tmp_path / "r.jsonl", [make_case(f"c{i}") for i in range(2500)], sync_rows=1000, sync_seconds=3600)
    assert len(synced) == 3  # after rows 1000 and 2000, and at close
    assert len(read_rows(path)) == 2500


def test_fsync_after_a_quiet_interval(tmp_path: Path, make_case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    writer = ResultsWriter(tmp_path / "r.jsonl", sync_rows=10**6, sync_seconds=0.05)
    writer.write(make_case("a"))
    time.sleep(0.06)
    writer.write(make_case("b"))  # more than sync_seconds since the last fsync: this batch goes to disk now
    assert len(synced) == 1
    writer.close()


def test_each_write_is_on_disk_before_close(tmp_path: Path, make_case: Any) -> None:
    writer = ResultsWriter(tmp_path / "r.jsonl")
    writer.write(make_case("a"))
    assert json.loads((tmp_path / "r.jsonl").read_text())["case"] == "a"
    writer.close()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [('{"a": 1}\n{oops\n', "r.jsonl:2: not a JSON object"), ('{"a": 1}\n\n[1]\n', "r.jsonl:3: expected a JSON object")],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "r.jsonl").write_text(text)
    with pytest.raises(LlmevalError, match=fragment):
        read_rows(tmp_path / "r.jsonl")


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(LlmevalError, match="--llmeval-results"):
        read_rows(tmp_path / "nope.jsonl")


def test_load_results_has_a_row_per_sample_and_a_column_per_score(tmp_path: Path, make_case: Any) -> None:
    rows = [make_case("a", sample=0, rouge=0.7), make_case("a", sample=1, rouge=0.4), make_case("b", model="hf:x")]
    rows.append({"kind": "gate", "gate": "rougeL-mean", "suite": "support"})
    frame = load_results(_write(tmp_path / "r.jsonl", rows))
    assert len(frame) == 3
    assert list(frame["score.rougeL"]) == [0.7, 0.4, 0.6]
    assert list(frame["passed.rougeL"]) == [True, False, True]
    assert list(frame["model"]) == ["hf:fixtures/models/support-tiny"] * 2 + ["hf:x"]
    assert {"case", "suite", "sample", "output", "tokens.completion", "var.group", "score.contains"} <= set(frame.columns)


def test_exports_round_trip(tmp_path: Path, rows_with_probes: list[dict]) -> None:
    written = export(rows_with_probes, csv=tmp_path / "o" / "r.csv", parquet=tmp_path / "o" / "r.parquet")
    assert [p.name for p in written] == ["r.csv", "r.parquet"]
    from_csv, from_parquet = pd.read_csv(written[0]), pd.read_parquet(written[1])
    assert len(from_csv) == len(from_parquet) == len(rows_with_probes)
    assert from_parquet["output"].iloc[0] == rows_with_probes[0]["output"]
    assert from_csv["score.rougeL"].iloc[1] == pytest.approx(0.35)


def test_report_command_exports_and_renders(tmp_path: Path, rows_with_probes: list[dict], capsys: Any) -> None:
    results = _write(tmp_path / "r.jsonl", rows_with_probes)
    code = main(
        [
            "report",
            str(results),
            "--csv",
            str(tmp_path / "r.csv"),
            "--parquet",
            str(tmp_path / "r.parquet"),
            "--html",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 0
    assert (tmp_path / "r.csv").exists() and (tmp_path / "r.parquet").exists()
    assert "<script>window.__xss" not in (tmp_path / "r.html").read_text()
    assert "report written to" in capsys.readouterr().out


def test_report_command_on_a_missing_file_exits_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["report", str(tmp_path / "none.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
