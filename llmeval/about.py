"""Who we are on the package index: the distribution name (`import llmeval` and the `llmeval` command stay) and its version.

The name `llmeval` on the package index belongs to an unrelated project, and `pytest-llmeval` is taken too; the
distribution follows pytest's naming convention for plugins (`pytest-*`). Standard library only: errors.py uses it.
"""

from __future__ import annotations

DISTRIBUTION = "pytest-llmeval-gate"
__version__ = "0.1.0"  # the distribution's version (pyproject.toml reads it from here); `llmeval.__version__` too


def install_line(extra: str | None = None) -> str:
    """The pip command that installs llmeval, with an extra (`pip install 'pytest-llmeval-gate[pii]'`)."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {DISTRIBUTION}"


def version() -> str:
    """The installed distribution's version; from a source tree that is not installed, the package's own."""
    from importlib.metadata import PackageNotFoundError, distribution

    # An environment set up before the rename has this package installed as `llmeval`: ours when it ships our plugin.
    for name in (DISTRIBUTION, "llmeval"):
        try:
            found = distribution(name)
        except PackageNotFoundError:
            continue
        if any(ep.group == "pytest11" and ep.name == "llmeval" and ep.value.startswith("llmeval.") for ep in found.entry_points):
            return found.version
    return f"{__version__} (not installed)"
