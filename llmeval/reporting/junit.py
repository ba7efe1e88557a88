"""JUnit properties from records: what each test case (or the test suite) carries in --junitxml."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.records import CaseRecord, GateRecord


def properties_of(records: Sequence[Any]) -> list[tuple[str, object]]:
    """Properties of one pytest item: a case's samples (means over them) or one gate."""
    cases = [r for r in records if isinstance(r, CaseRecord)]
    gates = [r for r in records if isinstance(r, GateRecord)]
    if gates:
        from llmeval.gate import gate_properties

        return [("llmeval.model", gates[0].model), *gate_properties(gates[0])]
    if not cases:
        return []
    ok = [r for r in cases if r.status != "error"]
    rate = sum(r.passed for r in ok) / len(ok) if ok else 0.0
    props: list[tuple[str, object]] = [("llmeval.model", cases[0].model), ("llmeval.pass_rate", round(rate, 4))]
    errors = len(cases) - len(ok)
    if errors:
        props.append(("llmeval.errors", errors))
    for name in sorted({n for r in cases for n in r.scores}):
        values = [r.scores[name]["value"] for r in cases if name in r.scores]
        props.append((f"llmeval.score.{name}", round(sum(values) / len(values), 6)))
    return props


def write_junit(path: Path, tests: Sequence[JUnitTest], *, suite_name: str = "llmeval") -> Path:
    """A JUnit XML file in pytest's shape (classname from the suite path, properties per testcase)."""
    import xml.etree.ElementTree as ET

    counts = {k: sum(1 for t in tests if t.outcome == k) for k in ("failure", "error", "skipped")}
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(tests)),
        failures=str(counts["failure"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time="0",
    )
    for test in tests:
        case = ET.SubElement(
            suite, "testcase", classname=test.classname, name=test.name, file=test.file, line=str(test.line), time="0"
        )
        if test.properties:
            props = ET.SubElement(case, "properties")
            for name, value in test.properties:
                ET.SubElement(props, "property", name=name, value=str(value))
        if test.outcome != "passed":
            element = ET.SubElement(case, test.outcome, message=_xml_safe(test.message.splitlines()[0] if test.message else ""))
            element.text = _xml_safe(test.message)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


@dataclass(frozen=True)
class JUnitTest:
    classname: str
    name: str
    file: str
    line: int
    outcome: str  # passed | failure | error | skipped
    message: str
    properties: Sequence[tuple[str, object]]


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot hold most control characters: show them escaped."""
    from llmeval.reporting.safe import display

    return display(text)
