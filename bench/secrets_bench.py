"""Cost of keeping secrets off disk: the plan masking API keys in every output, and the xdist controller
re-masking every record with the values all workers found.

Run: .venv/bin/python bench/secrets_bench.py [--outputs N] [--records N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmeval.backends.base import Generation  # noqa: E402
from llmeval.core.redaction import RunRedaction  # noqa: E402
from llmeval.engine.cache import Cache  # noqa: E402
from llmeval.engine.plan import GenerationPlan  # noqa: E402
from llmeval.records import CaseRecord  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
COMMAND = ".venv/bin/python bench/secrets_bench.py"
KEY = "sk-live-" + "".join(random.Random(1).choices(string.ascii_letters + string.digits, k=40))


def texts(n: int, seed: int = 0) -> list[str]:
    """n outputs of ~400 characters; one in a hundred quotes the key."""
    rng = random.Random(seed)
    words = ["refund", "order", "ship", "within", "days", "card", "account", "support", "thanks", "the", "a"]
    out = [" ".join(rng.choices(words, k=70)) for _ in range(n)]
    return [t + (f" your key is {KEY}" if i % 100 == 0 else "") for i, t in enumerate(out)]


class _Keyed:
    spec = label = "bench"

    def secrets(self) -> list[str]:
        return [KEY]

    def identity(self) -> str:
        return "bench"


def plan_masking(n: int) -> dict[str, float]:
    """Seconds to pass n generations through the plan's masking, with and without a key to mask."""
    gens = [Generation(t) for t in texts(n)]
    timings = {}
    for name, secrets in (("no key", False), ("one key", True)):
        plan = GenerationPlan(Cache(Path("."), "off"), lambda total: None)  # type: ignore[arg-type,return-value]
        if secrets:
            plan._learn_secrets(_Keyed())  # type: ignore[arg-type]
        start = time.perf_counter()
        masked = [plan.masked(g) for g in gens]
        timings[name] = time.perf_counter() - start
        assert not secrets or not any(KEY in g.text for g in masked)
    return timings


def controller_remask(n: int, values: int) -> float:
    """Seconds for the controller to re-mask n case records with `values` known PII values and one key."""
    run = RunRedaction(pii=True)
    rng = random.Random(2)
    found = [["PHONE_NUMBER", f"+1 212 555 {rng.randrange(1000, 9999)}"] for _ in range(values // 2)]
    found += [
        ["PERSON", f"{rng.choice(['Ada', 'Ben', 'Cleo'])} {''.join(rng.choices(string.ascii_lowercase, k=7)).title()}"]
        for _ in range(values - values // 2)
    ]
    run.learn({"values": found, "secrets": [KEY]})
    records = [
        CaseRecord(
            suite="s",
            case=f"c{i}",
            model="m",
            sample=0,
            prompt=f"Q{i}: {t[:120]}",
            output=t,
            status="passed",
            reference=t[:200],
            vars={"q": t[:80]},
        )
        for i, t in enumerate(texts(n, seed=3))
    ]
    start = time.perf_counter()
    masked = run.records(records)
    elapsed = time.perf_counter() - start
    assert len(masked) == n and not any(KEY in r.output for r in masked)
    return elapsed


def section(outputs: int, records: int, plan: dict[str, float], remask: float) -> str:
    per = {k: v / outputs * 1e6 for k, v in plan.items()}
    return (
        "<!-- secrets:start -->\n## Secrets off disk and redaction under xdist (issue 18)\n\n"
        f"Command: `{COMMAND}` (2-core CPU shared by other jobs, load average at end "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}, one process)\n\n"
        "| what | size | seconds | per item |\n|---|---|---|---|\n"
        f"| plan masks outputs, no key in the run | {outputs} outputs of ~400 chars | {plan['no key']:.3f} | "
        f"{per['no key']:.2f} µs |\n"
        f"| plan masks outputs, one 48-char key (1% quote it) | {outputs} outputs | {plan['one key']:.3f} | "
        f"{per['one key']:.2f} µs |\n"
        f"| xdist controller re-masks records (200 known values + key) | {records} case records | {remask:.3f} | "
        f"{remask / records * 1e3:.3f} ms |\n\n"
        "The plan's masking runs once per generated output and cache hit; the controller's re-mask runs once per "
        "run under xdist, before the results file, HTML and baseline are written (the first call compiles the "
        "known values' patterns: about 1 s of the figure for 200 values).\n<!-- secrets:end -->\n"
    )


def write(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- secrets:start -->.*?<!-- secrets:end -->\n", re.S)
    RESULTS.write_text(
        pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text, encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    text = section(args.outputs, args.records, plan_masking(args.outputs), controller_remask(args.records, 200))
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
