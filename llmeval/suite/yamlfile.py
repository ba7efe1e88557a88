"""Line-aware, bounded YAML loading: plain Python data plus the line of every key and list item.

The data is built from the parser's event stream without recursion, so hostile documents stay
cheap: nesting depth, node count and alias expansion (billion laughs) are bounded, and every tag
outside the YAML core schema is refused at its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmeval.errors import SuiteError
from llmeval.suite.source import read_suite_text

Loc = tuple[Any, ...]

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a suite."""
MAX_NODES = 1_000_000
"""Most YAML nodes a suite may hold, aliases counted as the nodes they repeat."""
ALIAS_FACTOR = 10
"""Aliases may expand a document to this many times the nodes written in it (or to ALIAS_FLOOR)."""
ALIAS_FLOOR = 10_000

_CORE = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null"))
_COLLECTION_TAGS = {"mapping": _CORE + "map", "list": _CORE + "seq"}
_NO_KEY = object()


@dataclass
class LineMap:
    """Maps a path into the loaded data (keys and list indices) to its 1-based line in the file."""

    path: str
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Sequence[Any]) -> int:
        """The line of the deepest known prefix of `loc` (a missing key reports its parent's line)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def error(self, loc: Sequence[Any], message: str, *, key: str | None = None, hint: str | None = None) -> SuiteError:
        return SuiteError(message, path=self.path, line=self.line(loc), key=key, hint=hint)


def load_yaml(path: str | Path, text: str | None = None) -> tuple[Any, LineMap]:
    """Parse a YAML file into data and a LineMap; every problem is a SuiteError with the line."""
    import yaml

    if text is None:
        text = read_suite_text(path)
    builder = _Builder(LineMap(str(path)))
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _syntax_error(path, str(exc.problem or exc), mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise _syntax_error(path, f"control character U+{exc.character:04X} is not allowed", line) from None
    return builder.root, builder.linemap


def _syntax_error(path: str | Path, problem: str, line: int | None) -> SuiteError:
    return SuiteError(
        f"not valid YAML: {problem}",
        path=str(path),
        line=line,
        hint="check indentation and quoting near this line; quote strings that contain ': ' or start with '{'",
    )


@dataclass
class _Frame:
    obj: dict[Any, Any] | list[Any]
    loc: Loc
    anchor: str | None
    first_node: int
    key: Any = _NO_KEY


class _Builder:
    """Turns parser events into data, recording lines and refusing what a suite may not hold."""

    def __init__(self, linemap: LineMap) -> None:
        import yaml

        self.linemap = linemap
        self.root: Any = None
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int | None]] = {}  # name -> (data, expanded nodes; None while open)
        self.written = 0
        self.expanded = 0
        self.documents = 0
        self.loader = yaml.SafeLoader("")  # resolves plain scalars' implicit types and constructs them

    def feed(self, event: Any) -> None:
        import yaml

        line = event.start_mark.line + 1
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self._error(line, "a suite file holds one YAML document; this is a second one", "remove the '---'")
        elif isinstance(event, yaml.ScalarEvent):
            self._count(line)
            value = self._scalar(event, line)
            self._anchor(event.anchor, value, 1)
            self._place(value, line)
        elif isinstance(event, yaml.AliasEvent):
            self._place(self._alias(str(event.anchor), line), line)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._open(event, line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = self.stack.pop()
            if frame.anchor is not None:
                self.anchors[frame.anchor] = (frame.obj, self.expanded - frame.first_node)

    def _error(self, line: int, message: str, hint: str | None = None) -> SuiteError:
        return SuiteError(message, path=self.linemap.path, line=line, hint=hint)

    def _count(self, line: int, nodes: int = 1) -> None:
        self.written += 1
        self.expanded += nodes
        if self.expanded > MAX_NODES:
            raise self._error(line, f"the document holds more than {MAX_NODES:,} YAML nodes", "move case data into tables")

    def _open(self, event: Any, line: int) -> None:
        import yaml

        kind = "mapping" if isinstance(event, yaml.MappingStartEvent) else "list"
        self._check_tag(event.tag, line, {_COLLECTION_TAGS[kind]})
        if len(self.stack) >= MAX_DEPTH:
            raise self._error(line, f"mappings and lists are nested more than {MAX_DEPTH} deep")
        self._count(line)
        obj: dict[Any, Any] | list[Any] = {} if kind == "mapping" else []
        self._anchor(event.anchor, obj, None)
        loc = self._place(obj, line)
        self.stack.append(_Frame(obj, loc or (), event.anchor, self.expanded - 1))

    def _scalar(self, event: Any, line: int) -> Any:
        import yaml

        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        else:
            self._check_tag(tag, line, SCALAR_TAGS)
        if tag == _CORE + "merge":
            raise self._error(line, "YAML merge keys ('<<') are not supported in suites", "repeat the keys, or use `defaults:`")
        construct = self.loader.yaml_constructors.get(tag)
        if tag == _CORE + "value" or construct is None:
            raise self._error(line, f"{event.value!r} is not a plain value here", f"quote it: '{event.value}'")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return construct(self.loader, node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            raise self._error(line, f"{event.value!r} is not a valid {_short(tag)[2:]}") from None

    def _check_tag(self, tag: str | None, line: int, allowed: set[str] | frozenset[str]) -> None:
        if tag is None or tag == "!" or tag in allowed:
            return
        raise self._error(
            line,
            f"YAML tag '{_short(tag)}' is not allowed: suites are plain data",
            "remove the tag; only the core types (str, int, float, bool, null, map, seq) may be tagged",
        )

    def _anchor(self, name: str | None, value: Any, nodes: int | None) -> None:
        if name is not None:
            self.anchors[name] = (value, nodes)

    def _alias(self, name: str, line: int) -> Any:
        if name not in self.anchors:
            raise self._error(line, f"alias '*{name}' refers to no anchor defined above it")
        value, nodes = self.anchors[name]
        if nodes is None:
            raise self._error(line, f"alias '*{name}' refers to the structure it is inside (recursive data)")
        self.expanded += nodes
        budget = min(MAX_NODES, max(ALIAS_FLOOR, ALIAS_FACTOR * self.written))
        if self.expanded > budget:
            raise self._error(
                line,
                f"YAML aliases expand the document beyond {budget:,} nodes ('*{name}' alone repeats {nodes:,})",
                "aliases may repeat small parts only; write the data out, or use `defaults:` and tables",
            )
        return value

    def _place(self, value: Any, line: int) -> Loc | None:
        """Attach a value to the open mapping or list; returns its location (None for a mapping key)."""
        if not self.stack:
            self.root = value
            self.linemap.lines.setdefault((), line)
            return ()
        frame = self.stack[-1]
        if isinstance(frame.obj, list):
            loc = frame.loc + (len(frame.obj),)
            frame.obj.append(value)
            self.linemap.lines.setdefault(loc, line)
            return loc
        if frame.key is _NO_KEY:
            frame.key = self._key(frame, value, line)
            return None
        loc = frame.loc + (frame.key,)
        frame.obj[frame.key] = value
        frame.key = _NO_KEY
        return loc

    def _key(self, frame: _Frame, key: Any, line: int) -> Any:
        if not isinstance(key, (str, int, float, bool)):
            raise self._error(line, f"a mapping key must be a plain value, got {type(key).__name__}")
        if key in frame.obj:
            raise SuiteError(
                f"duplicate key '{key}'",
                path=self.linemap.path,
                line=line,
                key=str(key),
                hint="each key may appear once per mapping; remove or rename one",
            )
        self.linemap.lines[frame.loc + (key,)] = line
        return key


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
