"""`llmeval --version`, the exit codes in `--help`, and usage errors exiting 4 as pytest's do."""

from __future__ import annotations

import pytest

from llmeval.about import DISTRIBUTION, version
from llmeval.cli import main


def test_version_names_the_distribution_and_its_installed_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"llmeval {version()} ({DISTRIBUTION})\n"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_help_lists_every_exit_status(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    for status, meaning in [
        ("0", "PASS"),
        ("1", "FAIL"),
        ("2", "could not be loaded"),
        ("4", "unwritable output path"),
        ("5", "nothing to evaluate"),
        ("141", "pipe was closed"),
    ]:
        assert any(line.split()[:1] == [status] and meaning in line for line in out.splitlines()), (status, out)


def test_an_unknown_option_is_a_usage_error_exit_4(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "suites/", "--no-such-option"])
    assert stop.value.code == 4
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
