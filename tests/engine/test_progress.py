"""Progress: a live bar on a terminal, one summary line otherwise, with the model load reported apart."""

from __future__ import annotations

from llmeval.engine.progress import Progress


def test_summary_line_counts_rates_and_load():
    lines: list[str] = []
    progress = Progress(3, live=False, write_line=lines.append)
    for _ in range(3):
        progress.advance(tokens=10)
    line = progress.finish(cached=2, load_s=1.234)
    assert lines == [line]
    assert line.startswith("llmeval: 5 outputs (2 from cache, 3 generated) in ")
    assert "cases/s" in line and "tokens/s" in line and line.endswith("(model load 1.23 s)")


def test_errors_are_counted_and_a_fully_cached_run_has_no_rates():
    lines: list[str] = []
    progress = Progress(1, live=False, write_line=lines.append)
    progress.advance(tokens=0, error=True)
    assert "1 failed" in progress.finish(cached=0)
    cached_only = Progress(0, live=True, write_line=lines.append).finish(cached=4)
    assert cached_only.startswith("llmeval: 4 outputs (4 from cache, 0 generated)") and "cases/s" not in cached_only


def test_live_bar_draws_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("FORCE_COLOR", "1")
    lines: list[str] = []
    progress = Progress(2, live=True, write_line=lines.append)
    progress.advance(tokens=5)
    progress.advance(tokens=5)
    progress.finish(cached=0)
    out = capsys.readouterr().out
    assert "generating" in out and "2/2" in out
