"""PII guardrail benchmark: per-entity precision/recall/F1 (spaCy-sm and pattern-only), hard-negative FP rate,
throughput and first-use cost. Writes its tables into bench/RESULTS.md between the pii markers.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/pii_bench.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmeval import pii  # noqa: E402

LABELED = ROOT / "fixtures" / "pii" / "labeled.jsonl"
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- pii:start -->", "<!-- pii:end -->"
COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python bench/pii_bench.py"
THROUGHPUT_TEXTS = 600


def modes() -> dict[str, dict]:
    sm = pii.resolve_spacy_model(None)
    out = {"pattern-only": {"spacy_model": pii.PATTERN_ONLY, "entities": list(pii.STRUCTURED_ENTITIES)}}
    if sm:
        out[f"spaCy ({sm})"] = {"spacy_model": sm, "entities": [*pii.STRUCTURED_ENTITIES, "PERSON"]}
    return out


def evaluate(rows: list[dict], options: dict) -> tuple[dict[str, Counter], float]:
    """Per-type TP/FP/FN counts (same type, overlapping span) and the hard-negative sentence FP rate."""
    predicted = pii.analyze([r["text"] for r in rows], **options)
    counts: dict[str, Counter] = {t: Counter() for t in options["entities"]}
    flagged = negatives = 0
    for row, found in zip(rows, predicted, strict=True):
        gold = [g for g in row["entities"] if g["type"] in counts]
        matched: set[int] = set()
        for e in found:
            hit = next((i for i, g in enumerate(gold) if i not in matched and g["type"] == e.type
                        and g["start"] < e.end and e.start < g["end"]), None)  # fmt: skip
            if hit is None:
                counts[e.type]["fp"] += 1
            else:
                matched.add(hit)
                counts[e.type]["tp"] += 1
        for i, g in enumerate(gold):
            if i not in matched:
                counts[g["type"]]["fn"] += 1
        if row["group"] == "hard_negative":
            negatives += 1
            flagged += any(e.type in pii.STRUCTURED_ENTITIES for e in found)
    return counts, flagged / max(negatives, 1)


def prf(c: Counter) -> tuple[float, float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def forty_word_texts(rows: list[dict], n: int) -> list[str]:
    """~40-word texts made by joining consecutive labeled sentences."""
    texts, current, i = [], [], 0
    while len(texts) < n:
        current.append(rows[i % len(rows)]["text"])
        i += 1
        if sum(len(t.split()) for t in current) >= 36:
            texts.append(" ".join(current))
            current = []
    return texts


def throughput(texts: list[str], options: dict) -> float:
    pii.analyze(texts[:20], **options)  # warm
    start = time.perf_counter()
    pii.analyze(texts, **options)
    return len(texts) / (time.perf_counter() - start)


def first_use(options: dict) -> float:
    """Seconds from a fresh interpreter to the first analysed text (imports + engine build + one call)."""
    code = (
        "import time; t=time.perf_counter(); from llmeval import pii; "
        f"pii.analyze(['Mail jane@example.com'], **{options!r}); print(time.perf_counter()-t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def run() -> str:
    rows = [json.loads(line) for line in LABELED.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = forty_word_texts(rows, THROUGHPUT_TEXTS)
    words = sum(len(t.split()) for t in texts) / len(texts)
    groups = Counter(r["group"] for r in rows)
    lines = [
        f"Labeled set: `fixtures/pii/labeled.jsonl`, {len(rows)} sentences ({groups['generated']} generated, "
        f"{groups['tricky']} hand-written tricky, {groups['hard_negative']} hard negatives). A prediction is correct "
        "when its type matches and its span overlaps a gold span.",
        "",
    ]
    summary = [f"| mode | hard negatives flagged | texts/s (~{words:.0f} words, engine reused) | first use (s) |",
               "|---|---|---|---|"]  # fmt: skip
    for label, options in modes().items():
        counts, fp_rate = evaluate(rows, options)
        lines += [f"**{label}**", "", "| entity | precision | recall | F1 | TP | FP | FN |", "|---|---|---|---|---|---|---|"]
        for entity, c in counts.items():
            p, r, f = prf(c)
            lines.append(f"| {entity} | {p:.3f} | {r:.3f} | {f:.3f} | {c['tp']} | {c['fp']} | {c['fn']} |")
        lines.append("")
        rate = throughput(texts, options)
        summary.append(f"| {label} | {fp_rate:.1%} | {rate:.0f} | {first_use(options):.2f} |")
    body = "\n".join([*lines, *summary])
    return f"## PII guardrail\n\nCommand: `{COMMAND}` (2-core CPU, one process)\n\n{body}\n"


def write(section: str) -> None:
    block = f"{START}\n{section}{END}"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    section = run()
    print(section)
    write(section)


if __name__ == "__main__":
    main()
