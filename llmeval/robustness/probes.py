"""Prompt-injection and system-prompt extraction probes: JSONL data files, built in and user-supplied.

A probe row has `id`, `category`, `task` (what the user asks), `document` (untrusted content that may
carry an injected instruction), `history` (earlier turns, for multi-turn probes), `canary` (the string
that appears in the output only if the model obeyed the injection) and, for extraction probes,
`system` (a system prompt holding the canary). Suites read them with `cases_from: probes:<name>`
(built in) or `cases_from: <path>.jsonl` (your own, same columns).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

PREFIX = "probes:"
BUILTIN = Path(__file__).parent / "probes"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN.glob("*.jsonl"))


def resolve(cases_from: str) -> Path | None:
    """The file a `probes:<name>` reference names (None when `cases_from` is an ordinary path)."""
    if not cases_from.startswith(PREFIX):
        return None
    return BUILTIN / f"{cases_from[len(PREFIX) :]}.jsonl"


def load(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def describe(paths: list[Path]) -> list[str]:
    """Lines for `llmeval probes list`: each file, its probe count and its categories."""
    lines = []
    for path in paths:
        rows = load(path)
        counts = Counter(r.get("category", "?") for r in rows)
        name = f"{PREFIX}{path.stem}" if path.parent == BUILTIN else str(path)
        lines.append(f"{name:<22} {len(rows):>3} probes  " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return lines
