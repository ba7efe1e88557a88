"""The house rules, checked on every `make test`: no import cycle between llmeval's modules (lazy imports included,
`if TYPE_CHECKING:` ones not), and only the pytest front end imports pytest (import-linter, `[tool.importlinter]`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (scipy's csgraph), each sorted."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(set(edges) | {t for targets in edges.values() for t in targets})
    at = {name: i for i, name in enumerate(names)}
    pairs = [(at[a], at[b]) for a, targets in edges.items() for b in targets]
    rows, cols = [p[0] for p in pairs], [p[1] for p in pairs]
    matrix = coo_matrix(([1] * len(pairs), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels, strict=True):
        groups.setdefault(int(label), []).append(name)
    return sorted(group for group in groups.values() if len(group) > 1)


def test_cycles_finds_a_cycle_and_only_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    graph = grimp.build_graph("llmeval", exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert cycles(edges) == []


def test_only_the_pytest_front_end_imports_pytest():
    lint = subprocess.run(
        [sys.executable, "-m", "importlinter.cli", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
