"""Labeled hallucination data for the bench: FaithBench's dev split (read in place, never copied) and our own set.

FaithBench (vectara/FaithBench, NAACL 2025, CC BY-NC-SA 4.0) batches b1-b8 live in ../shared/data/hallucination/.
We tune (weights, thresholds) on batches b1-b4 and report on b5-b8; claim labels come from the annotated spans.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data/hallucination relative to the repository root; LLMEVAL_HALLUCINATION_DATA names another folder.
DATA_DIR = Path(os.environ.get("LLMEVAL_HALLUCINATION_DATA") or ROOT.parent / "shared" / "data" / "hallucination")
FAITHBENCH = DATA_DIR / "faithbench-dev.jsonl"
OWN = ROOT / "fixtures" / "hallucination" / "labeled.jsonl"
TUNE_BATCHES = frozenset({"b1", "b2", "b3", "b4"})
BAD_LABELS = ("Unwanted", "Questionable")


@dataclass(frozen=True)
class Item:
    id: str
    source: str
    output: str
    label: int  # 1 = hallucinated
    spans: tuple[tuple[int, int], ...] = ()  # character spans of the output annotated as hallucinated
    kind: str = ""
    published: tuple[tuple[str, float], ...] = ()  # detectors' published scores (FaithBench only; 1 = consistent)


def faithbench(path: Path = FAITHBENCH) -> tuple[list[Item], list[Item]] | None:
    """(tune: b1-b4, report: b5-b8), or None when the data is absent."""
    if not path.exists():
        return None
    items = [_faithbench_item(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tune = [i for i in items if i.id.split("-")[0] in TUNE_BATCHES]
    return tune, [i for i in items if i.id.split("-")[0] not in TUNE_BATCHES]


def _faithbench_item(row: dict) -> Item:
    annotations = _literal(row.get("annotations"), [])
    bad = [a for a in annotations if any(str(label).startswith(BAD_LABELS) for label in a.get("label", []))]
    spans = tuple((int(a["start"]), int(a["end"])) for a in bad if a.get("start") is not None)
    detectors = _literal(row.get("detectors"), {})
    published = tuple((k, float(v)) for k, v in detectors.items() if v is not None)
    return Item(row["id"], row["source"], row["summary"], int(row["hallucinated"]), spans, "faithbench", published)


def _literal(value: object, default: object) -> object:
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return default
    return value if value is not None else default


def own(path: Path = OWN) -> list[Item]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Item(r["id"], r["source"], r["output"], int(r["label"]), kind=r["kind"]) for r in rows]


def claim_labels(item: Item, claims: list[str]) -> list[int]:
    """1 for a claim overlapping an annotated hallucinated span (found in order in the output), else 0."""
    labels, cursor = [], 0
    for claim in claims:
        start = item.output.find(claim, cursor)
        start = cursor if start < 0 else start
        end = start + len(claim)
        cursor = end
        labels.append(int(any(s < end and e > start for s, e in item.spans)))
    return labels
