"""Redaction benchmark: do PII values survive anywhere in a run's redacted records, and how many clean words go?

Each sentence of fixtures/pii/labeled.jsonl and heldout.jsonl becomes one case record as a run writes it: the PII
in vars, prompt (`Summarise: ...`), output, reference, an application error message and a scorer explanation that
quotes the output cut off (`…`) in the middle of a PII value. Old = the per-row `redact_row` of commit BASE
(extracted with `git archive`, run in a subprocess); new = one `Redactor` for the whole run.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/redaction_bench.py [--errors] [--no-write]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = {"labeled": ROOT / "fixtures/pii/labeled.jsonl", "heldout": ROOT / "fixtures/pii/heldout.jsonl"}
RESULTS = ROOT / "bench" / "RESULTS.md"
BASE = "3d974e1"  # the commit before the Redactor: its redact_row is the "old" row
COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python bench/redaction_bench.py"
WORD = re.compile(r"\w+")
NOTES = (
    "One case record per sentence of each set, the PII in vars, prompt (`Summarise: ...`), output, reference(s), "
    "an application error and a scorer explanation quoting the output cut off (`…`) two thirds into its first PII "
    "value. A value *survives* when it (any case), for a name any part of 3+ letters as a word, or its cut-off "
    "prefix before the `…`, is still in any string of the redacted record. *Clean words masked*: words outside "
    "the PII values of the original strings that are gone after redaction. texts/s: strings redacted per second, "
    "engine warm (old: one engine call per string; new: one call for the run). Survivors of the new redactor are "
    "listed: names the spaCy pipeline tags in no field at all, which no masking can then propagate."
)
CUT_MARK = "…"


def load(path: Path) -> list[dict[str, Any]]:
    """Rows of a labeled set, each with its PII values (text, type) in text order."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        spans = sorted(row["entities"], key=lambda e: e["start"])
        row["values"] = [(row["text"][e["start"] : e["end"]], e["type"]) for e in spans]
    return rows


def record(i: int, row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A case record carrying the row's PII in every field a run writes, and the cut-off quote in its explanation."""
    text, values = row["text"], row["values"]
    output = f"Sure. {text}"
    quote, cut = output, None
    if values:  # the explanation quotes the output cut off two thirds into its first PII value
        value = values[0][0]
        end = output.index(value) + max(1, 2 * len(value) // 3)
        quote, cut = output[:end] + CUT_MARK, value[: 2 * len(value) // 3 or 1]
    listed = ", ".join(v for v, _ in values) or "nothing personal"
    return {
        "kind": "case",
        "suite": "pii-bench",
        "case": f"row-{i}",
        "model": "python:app:echo",
        "prompt": f"Summarise: {text}\nSummary:",
        "output": output,
        "reference": f"The customer gave {listed}.",
        "references": [f"The customer gave {listed}."],
        "vars": {"message": text},
        "error": f"DeliveryError: could not send the reply about {listed}",
        "scores": {"contains": {"explanation": f'output "{quote}" lacks "refund"', "metadata": {"quote": quote}}},
    }, cut


def measure(impl: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Redact the records with one implementation; time it with a warm engine."""
    built = [record(i, row) for i, row in enumerate(rows)]
    records = [r for r, _ in built]
    redact = _implementation(impl)
    redact([record(0, {"text": "Warm up Jane Doe at jane@example.com", "values": []})[0]])
    start = time.perf_counter()
    redacted = redact(records)
    seconds = time.perf_counter() - start
    texts = sum(len(list(_strings(r))) for r in records)
    return {"redacted": redacted, "seconds": seconds, "texts": texts}


def _implementation(impl: str):
    if impl == "old":
        from llmeval.core.redactor import redact_row

        return lambda records: [redact_row(r) for r in records]
    from llmeval.core.redactor import Redactor

    return lambda records: Redactor(pii=True).redact_records(records)


def _strings(value: Any, path: str = "") -> Any:
    """(field path, string) for every string value of a record."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, path)


def score(rows: list[dict[str, Any]], redacted: list[dict[str, Any]], errors: list[str]) -> dict[str, Any]:
    """Survival of PII values (anywhere in a record) and the fraction of clean words masked."""
    counts: Counter[str] = Counter()
    for i, (row, after) in enumerate(zip(rows, redacted, strict=True)):
        before, cut = record(i, row)
        found = dict(_strings(after))
        for value, entity_type in row["values"]:
            where = [f for f, s in found.items() if _survives(value, entity_type, s)]
            if cut is not None and value.startswith(cut) and any(cut + CUT_MARK in s for s in found.values()):
                where.append("scores.contains (cut-off quote)")
            counts["values"] += 1
            counts["survived"] += bool(where)
            counts["survived_elsewhere"] += any(f != "error" for f in where)
            if where:
                errors.append(f"SURVIVED {entity_type:<13} {value!r} in {sorted(set(where))}")
        clean, masked = _clean_words(before, after, [v for v, _ in row["values"]] + ([cut] if cut else []))
        counts["clean"] += clean
        counts["masked"] += masked
    return counts


def _survives(value: str, entity_type: str, text: str) -> bool:
    """The value (any case), or for a name any part of it as a word, is still in the text."""
    if value.casefold() in text.casefold():
        return True
    parts = [p for p in re.split(r"[\s,.]+", value) if len(p) >= 3] if entity_type == "PERSON" else []
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p in parts)


def _clean_words(before: dict[str, Any], after: dict[str, Any], pii_values: list[str]) -> tuple[int, int]:
    """Words outside PII values in the original strings, and how many of them are gone after redaction."""
    clean = masked = 0
    redacted = dict(_strings(after))
    for path, text in _strings(before):
        taken = [m.span() for v in pii_values if v for m in re.finditer(re.escape(v), text)]
        words = Counter(m.group() for m in WORD.finditer(text) if not any(s < m.end() and m.start() < e for s, e in taken))
        left = Counter(WORD.findall(redacted.get(path, "")))
        clean += sum(words.values())
        masked += sum((words - left).values())
    return clean, masked


def run_impl(impl: str, name: str) -> dict[str, Any]:
    """Measure in this process (new) or in a subprocess on the BASE commit's code (old)."""
    if impl == "new":
        rows = load(SETS[name])
        result = measure("new", rows)
        return {**result, "rows": rows}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", BASE, "llmeval"], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": tmp, "HF_HUB_OFFLINE": "1"}
        code = [sys.executable, __file__, "--child", name]
        done = subprocess.run(code, cwd=tmp, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    return {**result, "rows": load(SETS[name])}


def child(name: str) -> None:
    """The old implementation's records, printed as one JSON line (runs on the BASE code)."""
    import llmeval

    assert str(llmeval.__file__).startswith(tempfile.gettempdir()), llmeval.__file__
    result = measure("old", load(SETS[name]))
    print(json.dumps(result))


def table(show_errors: bool) -> str:
    lines = [
        "| set | redactor | PII values | survived anywhere | survival | survived, `error` aside | clean words masked "
        "| texts | texts/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for name in SETS:
        for impl, label in (("old", f"old `redact_row` per row ({BASE})"), ("new", "new `Redactor`, one per run")):
            result = run_impl(impl, name)
            errors: list[str] = []
            c = score(result["rows"], result["redacted"], errors)
            rate = result["texts"] / result["seconds"]
            lines.append(
                f"| {name} | {label} | {c['values']} | {c['survived']} | {c['survived'] / c['values']:.1%} | "
                f"{c['survived_elsewhere']} | {c['masked']} of {c['clean']} ({c['masked'] / c['clean']:.2%}) | "
                f"{result['texts']} | {rate:.0f} |"
            )
            if show_errors or impl == "new":
                notes += [f"{name}/{impl}: {e}" for e in errors]
    return "\n".join(lines) + ("\n\n```\n" + "\n".join(notes) + "\n```" if notes else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="redaction benchmark")
    parser.add_argument("--errors", action="store_true", help="list the surviving values of the old redactor too")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md as it is")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    sys.path.insert(0, str(ROOT))  # this checkout's llmeval (the child imports the BASE commit's instead)
    body = table(args.errors)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    head = f"## Redaction\n\nCommand: `{COMMAND}` (2-core CPU shared, load average at end {load}, one process)"
    section = f"{head}\n\n{NOTES}\n\n{body}"
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(ROOT / "bench"))
        from _report import write_section

        write_section(RESULTS, section, name="redaction")


if __name__ == "__main__":
    main()
