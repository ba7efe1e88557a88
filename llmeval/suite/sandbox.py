"""Jinja's immutable sandbox, metered: every loop iteration, call, filter and built value is charged.

The template's syntax tree is rewritten before compiling: each ``{% for %}`` iterable goes through a
counting filter and each ``~`` operand through a measuring one (names a template cannot shadow).
Binary operators, calls and filters are checked before they run where their result can be much
larger than their inputs (repetition, ``replace``, ``expandtabs``, ``join``, ``indent``, format
strings, integer powers), and measured after; output values are measured before they become text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from llmeval.suite.budget import Meter, TemplateLimit, current, measure

MAX_SIZE = 100_000
"""Largest size a template may ask for: repetition length, format width, numeric call argument, total range."""
MAX_EXPONENT = 4096
MAX_INT_BITS = 65_536
"""Largest integer (in bits) a product or power may make."""

_FORMAT_NUMBERS = re.compile(r"%[#0\- +]*(\d*)(?:\.(\d+))?|\{[^{}:]*:[^{}\d]*(\d*)(?:\.(\d+))?")
_STAR_WIDTH = re.compile(r"%[#0\- +]*(?:\*|\d*\.\*)")
_NESTED_FIELD = re.compile(r"\{[^{}]*:[^{}]*\{")
_SIZING_FILTERS = ("center", "indent", "wordwrap", "truncate", "slice", "batch", "format")
_LOOP, _PIECE = "_llmeval_loop", "_llmeval_piece"
range_left: ContextVar[int] = ContextVar("range_left", default=MAX_SIZE)


def make_env() -> Any:
    from jinja2 import StrictUndefined, pass_context
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return _built(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            current().step()
            _check_args([__obj, *args, *kwargs.values()])
            args = _check_method(__obj, args, kwargs)
            return _built(super().call(__context, __obj, *args, **kwargs))

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            return _metered_tree(super()._parse(source, name, filename))

    env = BoundedSandbox(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False, finalize=_finalize)
    env.globals.pop("lipsum", None)
    env.globals["range"] = _bounded_range
    env.filters = {name: _metered_filter(name, fn) for name, fn in env.filters.items()}
    env.filters[_LOOP] = pass_context(_loop)
    env.filters[_PIECE] = pass_context(_piece)
    return env


def _metered_tree(tree: Any) -> Any:
    """The parsed template with loop iterables counted and ``~`` operands measured."""
    from jinja2 import nodes
    from jinja2.visitor import NodeTransformer

    def wrap(node: Any, name: str) -> Any:
        return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)

    class Metered(NodeTransformer):
        def visit_For(self, node: Any) -> Any:  # noqa: N802  (jinja's visitor naming)
            node = self.generic_visit(node)
            node.iter = wrap(node.iter, _LOOP)
            return node

        def visit_Concat(self, node: Any) -> Any:  # noqa: N802
            node = self.generic_visit(node)
            node.nodes = [wrap(n, _PIECE) for n in node.nodes]
            return node

    return Metered().visit(tree)


def _loop(_context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    meter = current()
    for item in iterable:
        meter.step()
        yield item


def _piece(_context: Any, value: Any) -> Any:
    meter = current()
    meter.build(measure(value, meter, meter.chars))
    return value


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` value is measured (and charged) before it becomes text."""
    return _piece(None, value)


def _built(value: Any) -> Any:
    if value is not None and not isinstance(value, (bool, int, float)):
        meter = current()
        meter.build(measure(value, meter, meter.chars))
    return value


def _metered_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The filter as one step: arguments bounded, growth estimated before, the result measured after."""

    @functools.wraps(fn)
    def metered(*args: Any, **kwargs: Any) -> Any:
        params = [a for a in args if not _is_jinja_internal(a)]
        meter = current()
        meter.step()
        if name in _SIZING_FILTERS:
            _check_args([*params[1:], *kwargs.values()])
        if params:
            meter.allow(measure(params[0], meter, meter.chars))
            _estimate_filter(name, meter, params, kwargs)
        return _built(fn(*args, **kwargs))

    return metered


def _estimate_filter(name: str, meter: Meter, params: list[Any], kwargs: dict[str, Any]) -> None:
    estimate = _FILTER_SIZES.get(name)
    if estimate is not None:
        meter.allow(estimate(params[0], params[1:], kwargs, meter))


def _replace_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    return _replaced_size(value, str(rest[0]), str(rest[1])) if isinstance(value, str) and len(rest) >= 2 else 0


def _join_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    sep = rest[0] if rest else kwargs.get("d", "")
    return len(str(sep)) * (len(value) if isinstance(value, (list, tuple, str)) else 0)


def _indent_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    if not isinstance(value, str):
        return 0
    width = rest[0] if rest else kwargs.get("width", 4)
    return len(value) + (value.count("\n") + 1) * (len(width) if isinstance(width, str) else int(width))


def _wordwrap_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    if not isinstance(value, str):
        return 0
    width = int(rest[0] if rest else kwargs.get("width", 79))
    wrap = rest[3] if len(rest) > 3 else kwargs.get("wrapstring") or "\n"
    return len(value) + (len(value) // max(width, 1) + 1) * len(str(wrap))


def _batch_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    fill = rest[1] if len(rest) > 1 else kwargs.get("fill_with")
    size = int(rest[0] if rest else kwargs.get("linecount", 1))
    return measure(fill, meter, meter.chars) * size if fill is not None else 0


def _sum_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    """Summing lists or strings copies the running total each time: quadratic."""
    if isinstance(value, (list, tuple)) and value and not isinstance(value[0], (int, float)):
        return len(value) * measure(value, meter, meter.chars)
    return 0


def _format_filter(value: Any, rest: list[Any], kwargs: dict[str, Any], meter: Meter) -> int:
    if not isinstance(value, str):
        return 0
    _check_format(value)
    return _formatted_size(value, value.count("%"), [*rest, *kwargs.values()], meter)


_FILTER_SIZES: dict[str, Callable[[Any, list[Any], dict[str, Any], Meter], int]] = {
    "replace": _replace_filter,
    "join": _join_filter,
    "indent": _indent_filter,
    "wordwrap": _wordwrap_filter,
    "batch": _batch_filter,
    "sum": _sum_filter,
    "format": _format_filter,
}


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Estimate what a str/bytes method will build before it runs (``join`` gets its items as a list)."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(owner, (str, bytes)):
        return args
    meter = current()
    for arg in (*args, *kwargs.values()):
        meter.allow(measure(arg, meter, meter.chars))
    if name == "join" and args:
        items = list(args[0])
        meter.allow(len(owner) * len(items) + sum(measure(i, meter, meter.chars) for i in items))
        return (items, *args[1:])
    estimate = _METHOD_SIZES.get(name)
    if estimate is not None:
        meter.allow(estimate(owner, args, kwargs, meter))
    return args


def _replace_method(owner: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any], meter: Meter) -> int:
    return _replaced_size(owner, str(args[0]), str(args[1])) if isinstance(owner, str) and len(args) >= 2 else 0


def _expandtabs_method(owner: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any], meter: Meter) -> int:
    tab = args[0] if args else kwargs.get("tabsize", 8)
    tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
    return len(owner) + tabs * int(tab)


def _translate_method(owner: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any], meter: Meter) -> int:
    table = args[0] if args else {}
    widest = max((len(str(v)) for v in table.values()), default=1) if isinstance(table, dict) else 1
    return len(owner) * max(widest, 1)


def _format_method(owner: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any], meter: Meter) -> int:
    if not isinstance(owner, str):
        return 0
    _check_format(owner)
    return _formatted_size(owner, owner.count("{"), [*args, *kwargs.values()], meter)


_METHOD_SIZES: dict[str, Callable[[str | bytes, tuple[Any, ...], dict[str, Any], Meter], int]] = {
    "replace": _replace_method,
    "expandtabs": _expandtabs_method,
    "translate": _translate_method,
    "format": _format_method,
    "format_map": _format_method,
}


def _replaced_size(text: str, old: str, new: str) -> int:
    hits = len(text) + 1 if not old else text.count(old)
    return len(text) + hits * max(0, len(new) - len(old))


def _formatted_size(fmt: str, fields: int, args: list[Any], meter: Meter) -> int:
    """At most: the format string, each field as wide as the largest argument, plus the widths written."""
    widest = max((measure(a, meter, meter.chars) for a in args), default=0)
    widths = sum(int(g) for m in _FORMAT_NUMBERS.finditer(fmt) for g in m.groups() if g)
    return len(fmt) + fields * widest + widths


def _check_binop(operator: str, left: Any, right: Any) -> None:
    meter = current()
    if operator == "**" and isinstance(right, (int, float)) and isinstance(left, (int, float)) and abs(left) > 1:
        if abs(right) > MAX_EXPONENT:
            raise TemplateLimit(f"exponent {right} is larger than {MAX_EXPONENT}")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > MAX_INT_BITS:
            raise TemplateLimit(f"the power makes an integer larger than {MAX_INT_BITS:,} bits")
    elif operator == "*":
        _check_repeat(left, right, meter)
        _check_repeat(right, left, meter)
        if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimit(f"the product makes an integer larger than {MAX_INT_BITS:,} bits")
    elif operator == "%" and isinstance(left, str):
        _check_format(left)
        values = list(right.values()) if isinstance(right, dict) else list(right) if isinstance(right, tuple) else [right]
        meter.allow(_formatted_size(left, left.count("%"), values, meter))
    elif operator == "+" and not (_is_number(left) and _is_number(right)):
        meter.allow(measure(left, meter, meter.chars) + measure(right, meter, meter.chars))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_repeat(seq: Any, times: Any, meter: Meter) -> None:
    if isinstance(seq, (str, bytes, list, tuple)) and _is_int(times) and times > 0:
        if len(seq) * times > MAX_SIZE:
            raise TemplateLimit(f"repeating {len(seq)} items {times} times is larger than {MAX_SIZE:,}")
        meter.allow(measure(seq, meter, meter.chars) * times)


def _check_format(text: str) -> None:
    if _STAR_WIDTH.search(text) or _NESTED_FIELD.search(text):
        raise TemplateLimit(f"format {text[:40]!r} takes its width from an argument; write the width in the format")
    for match in _FORMAT_NUMBERS.finditer(text):
        if any(group and int(group) > MAX_SIZE for group in match.groups()):
            raise TemplateLimit(f"format width {match.group(0)!r} is larger than {MAX_SIZE:,}")


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if _is_int(arg) and abs(arg) > MAX_SIZE:
            raise TemplateLimit(f"argument {arg} is larger than {MAX_SIZE:,}")
        if isinstance(arg, str) and ("{" in arg or "%" in arg):
            _check_format(arg)
        bound_to = getattr(getattr(arg, "__wrapped__", arg), "__self__", None)  # "...".format, sandbox-wrapped
        if isinstance(bound_to, str):
            _check_format(bound_to)


def _bounded_range(*args: int) -> range:
    """range() whose total length over one render is at most MAX_SIZE (nested loops included)."""
    _check_args(args)
    result = range(*args)
    left = range_left.get() - len(result)
    if left < 0:
        raise TemplateLimit(f"range() calls in one template may produce at most {MAX_SIZE:,} numbers")
    range_left.set(left)
    return result


def _is_jinja_internal(arg: Any) -> bool:
    from jinja2 import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(arg, (Environment, Context, EvalContext))
