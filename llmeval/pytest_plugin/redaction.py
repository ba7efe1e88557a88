"""Redaction decided over the whole run under pytest-xdist: what the controller masks in pytest's own outputs.

Each worker redacts its own suites and sends, with its item reports, the PII values and secrets its redactor
found (``llmeval.core.redaction.worker_payload``; in memory, over xdist's channel, never to disk). The controller
gathers them in a ``RunRedaction`` and, before writing anything, masks every record, the baseline comparison, every
JUnit entry and every failure text with their union — so `pytest -n 2` masks what a serial run masks. Case ids and
node ids stay as a serial run shows them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from llmeval.core.redaction import RunRedaction

PAYLOAD = "llmeval_redaction"  # the report attribute a worker's payload travels in
_JUNIT_IDS = frozenset({"classname", "name", "file", "line", "time"})  # pytest's own ids and numbers


def mask_shown(redaction: RunRedaction, config: pytest.Config) -> None:
    """Mask what pytest's JUnit writer and terminal hold of worker-made reports, before either writes."""
    if not redaction.redactor.active:
        return
    _mask_junit(config, redaction.redactor.mask_text)
    _mask_reports(config, redaction.redactor.mask_text)


def _mask_junit(config: pytest.Config, mask: Callable[[str], str]) -> None:
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    xml.global_properties = [(name, mask(value)) for name, value in xml.global_properties]
    for reporter in xml.node_reporters_ordered:
        element = reporter.to_xml()  # a finished test's element (pytest keeps it and returns the same one)
        _mask_element(element, mask)
        reporter.to_xml = lambda element=element: element  # type: ignore[method-assign,misc]


def _mask_element(element: ET.Element, mask: Callable[[str], str]) -> None:
    for node in element.iter():
        node.text = mask(node.text) if node.text else node.text
        node.tail = mask(node.tail) if node.tail else node.tail
        kept = {"name"} if node.tag == "property" else _JUNIT_IDS
        for name, value in node.attrib.items():
            if name not in kept:
                node.attrib[name] = mask(value)


def _mask_reports(config: pytest.Config, mask: Callable[[str], str]) -> None:
    terminal = config.pluginmanager.getplugin("terminalreporter")
    for reports in getattr(terminal, "stats", {}).values():
        for report in reports:
            longrepr = getattr(report, "longrepr", None)
            if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
                report.longrepr = (*longrepr[:2], mask(str(longrepr[2])))
            elif longrepr is not None and mask(str(longrepr)) != str(longrepr):
                report.longrepr = mask(str(longrepr))  # a rendered traceback becomes its (masked) text
            if getattr(report, "sections", None):
                report.sections = [(title, mask(content)) for title, content in report.sections]
