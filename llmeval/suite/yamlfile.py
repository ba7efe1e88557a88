"""Line-aware YAML loading: plain Python data plus the line of every key and list item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmeval.errors import SuiteError

Loc = tuple[Any, ...]


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
    """Parse a YAML file into data and a LineMap; syntax errors become SuiteError with the line."""
    import yaml

    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    linemap = LineMap(str(path))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SuiteError(
            f"not valid YAML: {exc.problem or exc}",
            path=str(path),
            line=line,
            hint="check indentation and quoting near this line; quote strings that contain ': ' or start with '{'",
        ) from None
    if node is None:
        return None, linemap
    constructor = yaml.SafeLoader("")
    return _build(node, (), linemap, constructor), linemap


def _build(node: Any, loc: Loc, linemap: LineMap, constructor: Any) -> Any:
    import yaml

    linemap.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if key == "<<":
                raise linemap.error(
                    loc, "YAML merge keys ('<<') are not supported in suites", hint="repeat the keys, or use `defaults:`"
                )
            if not isinstance(key, (str, int, float, bool)):
                raise linemap.error(loc, f"a mapping key must be a plain value, got {type(key).__name__}")
            if key in out:
                line = key_node.start_mark.line + 1
                raise SuiteError(
                    f"duplicate key '{key}'",
                    path=linemap.path,
                    line=line,
                    key=str(key),
                    hint="each key may appear once per mapping; remove or rename one",
                )
            linemap.lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, loc + (key,), linemap, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, loc + (i,), linemap, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
