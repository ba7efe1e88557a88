"""Labeled hallucination data for the bench, read in place (never copied): FRANK valid, FaithBench dev, our own sets.

FRANK (artidoro/frank, Pagnoni et al., NAACL 2021, MIT License): CNN/DM and XSum/BBC summaries with human labels
and the published detectors' per-item outputs. FaithBench (vectara/FaithBench, NAACL 2025, CC BY-NC-SA 4.0): LLM
summaries, batches b1-b8. Both live in ../shared/data/hallucination/ (or LLMEVAL_HALLUCINATION_DATA).
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LLMEVAL_HALLUCINATION_DATA") or ROOT.parent / "shared" / "data" / "hallucination")
FAITHBENCH = DATA_DIR / "faithbench-dev.jsonl"
FRANK = DATA_DIR / "frank-valid.jsonl"
OWN = ROOT / "fixtures" / "hallucination" / "labeled.jsonl"
PARAPHRASES = ROOT / "fixtures" / "hallucination" / "paraphrases.jsonl"


@dataclass(frozen=True)
class Item:
    id: str
    source: str
    output: str
    label: int  # 1 = hallucinated
    kind: str = ""
    anchors: dict[str, float] = field(default_factory=dict)  # published detectors' scores, higher = more faithful


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def frank(path: Path = FRANK) -> dict[str, list[Item]]:
    """FRANK valid by half: {"FRANK CNN/DM": [...], "FRANK XSum/BBC": [...]}; empty when the data is absent."""
    if not path.exists():
        return {}
    out: dict[str, list[Item]] = {"FRANK CNN/DM": [], "FRANK XSum/BBC": []}
    for row in _rows(path):
        anchors = {k: float(v) for k, v in (row.get("anchors") or {}).items() if v is not None}
        name = "FRANK CNN/DM" if row["dataset"] == "cnndm" else "FRANK XSum/BBC"
        out[name].append(Item(row["id"], row["source"], row["summary"], int(row["hallucinated"]), row["dataset"], anchors))
    return out


def faithbench(path: Path = FAITHBENCH) -> list[Item] | None:
    """FaithBench dev (b1-b8), with the published detectors' predictions (1 = consistent); None when absent."""
    if not path.exists():
        return None
    out = []
    for row in _rows(path):
        detectors = _literal(row.get("detectors"), {})
        anchors = {k: float(v) for k, v in detectors.items() if v is not None}  # type: ignore[union-attr]
        out.append(Item(row["id"], row["source"], row["summary"], int(row["hallucinated"]), "faithbench", anchors))
    return out


def _literal(value: object, default: object) -> object:
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return default
    return value if value is not None else default


def own(path: Path = OWN) -> list[Item]:
    """Our seeded synthetic set: one planted error (or a paraphrase) per item, labelled by kind."""
    return [Item(r["id"], r["source"], r["output"], int(r["label"]), r["kind"]) for r in _rows(path)]


def paraphrases(path: Path = PARAPHRASES) -> list[Item]:
    """Our faithful paraphrases (number, date and name formats varied): all label 0."""
    return [Item(r["id"], r["source"], r["output"], int(r["label"]), "paraphrase") for r in _rows(path)]
