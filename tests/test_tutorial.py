"""The README's tutorial runs top to bottom as written, in an empty folder.

What the README's `## Tutorial` section holds, in order, becomes one bash script run in a temporary folder:
- a ```python / ```yaml / ```toml block whose first line is `# <path>` is a file written there (the whole block);
- a ```console block holds commands (`$ ...`, a trailing backslash continues a line) and, under each, what it
  prints: those lines must appear in its output, in order (`...` stands for lines left out).
A command that exits non-zero fails the test unless the next command is `echo $?`, which documents its status.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llmeval.about import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
EOF_MARK = "__LLMEVAL_TUTORIAL_EOF__"


@dataclass
class Command:
    text: str
    line: int
    expected: list[str] = field(default_factory=list)


def tutorial(readme: Path = ROOT / "README.md") -> str:
    text = readme.read_text(encoding="utf-8")
    start = text.index("\n## Tutorial\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


@dataclass
class File:
    path: str
    text: str


def steps(section: str) -> list[File | Command]:
    """The files and commands of the tutorial, in document order."""
    out: list[File | Command] = []
    for match in FENCE.finditer(section):
        lang, body = match.group(1), match.group(2)
        line = section.count("\n", 0, match.start()) + 1
        first = body.split("\n", 1)[0]
        if lang in ("python", "yaml", "toml") and (path := re.match(r"# ([\w./-]+\w)", first)):
            out.append(File(path.group(1), body))
        elif lang == "console":
            pending = ""
            for offset, text in enumerate(body.splitlines()):
                if pending or text.startswith("$ "):
                    pending += text[2:] if not pending else "\n" + text
                    if not pending.endswith("\\"):
                        out.append(Command(pending, line + 1 + offset))
                        pending = ""
                elif text.strip() and text.strip() != "..." and out and isinstance(out[-1], Command):
                    out[-1].expected.append(text.strip())
    return out


def script(found: list[File | Command]) -> str:
    """One bash script: files by heredoc, each command between markers that keep its exit status for `echo $?`."""
    lines = ["set +e"]
    for i, item in enumerate(found):
        if isinstance(item, File):
            lines += [
                f"mkdir -p '{Path(item.path).parent}'",
                f"cat > '{item.path}' <<'{EOF_MARK}'",
                item.text.rstrip("\n"),
                EOF_MARK,
            ]
        else:
            # The marker's echo resets $?: restore the last command's status so that `echo $?` shows it.
            restore = "(exit ${__status:-0})"
            lines += [f"echo '@@@ step {i}'", restore, item.text, "__status=$?", 'echo "@@@ status $__status"']
    return "\n".join(lines) + "\n"


def _appears_in_order(expected: list[str], output: str) -> str | None:
    """None when each expected line is part of an output line, in order; else the first one missing."""
    lines = output.splitlines()
    at = 0
    for want in expected:
        while at < len(lines) and want not in lines[at]:
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def test_the_tutorial_parses_into_files_and_commands():
    found = steps(tutorial())
    files = [item.path for item in found if isinstance(item, File)]
    commands = [item for item in found if isinstance(item, Command)]
    assert {"bot.py", "suites/support.yaml", "pyproject.toml"} <= set(files)
    assert len(commands) >= 8
    assert any("--llmeval-save-baseline" in c.text for c in commands)


@pytest.mark.slow
def test_the_readme_tutorial_runs_top_to_bottom_as_written_and_its_ci_job_passes(tmp_path):
    found = steps(tutorial())
    found.append(Command(ci_runs()[1], 0))  # then the CI job's gate, on the tutorial's project as it ends
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this venv's pytest and llmeval
    env["PYTHONPATH"] = str(ROOT)  # the checkout under test, wherever the venv's editable install points
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run(["bash", "-c", script(found)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    chunks = re.split(r"^@@@ step (\d+)\n", done.stdout, flags=re.M)
    outputs = {int(chunks[i]): chunks[i + 1] for i in range(1, len(chunks), 2)}
    commands = [(i, item) for i, item in enumerate(found) if isinstance(item, Command)]
    for n, (i, command) in enumerate(commands):
        output = outputs.get(i)
        assert output is not None, f"README tutorial line {command.line}: `{command.text}` did not run:\n{done.stderr}"
        status = int(re.findall(r"^@@@ status (\d+)$", output, flags=re.M)[-1])
        documented = n + 1 < len(commands) and commands[n + 1][1].text == "echo $?"
        where = f"README tutorial (section line {command.line}): `{command.text}`"
        assert status == 0 or documented, f"{where} exited {status}:\n{output[-4000:]}"
        missing = _appears_in_order(command.expected, output)
        assert missing is None, f"{where} did not print `{missing}` (documented) in order:\n{output[-4000:]}"


def ci_runs() -> list[str]:
    """The `run:` steps of the tutorial's GitHub Actions job."""
    section = tutorial()
    job = section[section.index("# .github/workflows/llm-gate.yml") :]
    return re.findall(r"^\s+- run: (.+)$", job, flags=re.M)


def test_the_ci_job_installs_the_distribution_then_gates():
    runs = ci_runs()
    assert runs[0] == f"pip install --find-links wheels/ {DISTRIBUTION}"
    assert runs[1].startswith("pytest suites/ ") and len(runs) == 2
