"""Jinja2 rendering in a bounded sandbox, strict about undefined variables.

Every error a template can raise (syntax, undefined name, sandbox refusal, include without a
loader, an exception inside an expression or filter) becomes a SuiteError at the suite's line.
Sizes are bounded: the output, string/list repetition, powers, format widths and `range`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from llmeval.errors import SuiteError

MAX_OUTPUT = 1_000_000
"""Most characters one template may render."""
MAX_SIZE = 100_000
"""Largest size a template may ask for: repetition length, format width, numeric call argument, total range."""
MAX_EXPONENT = 4096

_FORMAT_NUMBERS = re.compile(r"%[#0\- +]*(\d*)(?:\.(\d+))?|\{[^{}:]*:[^{}\d]*(\d*)(?:\.(\d+))?")
_SIZING_FILTERS = ("center", "indent", "wordwrap", "truncate", "slice", "batch", "format")
_range_left: ContextVar[int] = ContextVar("range_left", default=MAX_SIZE)


class TemplateLimit(Exception):
    """A template asked for more than the bounds allow."""


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            _check_args([__obj, *args, *kwargs.values()])
            return super().call(__context, __obj, *args, **kwargs)

    env = BoundedSandbox(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.globals.pop("lipsum", None)
    env.globals["range"] = _bounded_range
    env.filters.update({name: _bounded_filter(env.filters[name]) for name in _SIZING_FILTERS})
    return env


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    return _env().from_string(source)


def render(source: str, variables: dict[str, Any], *, path: str, line: int, what: str) -> str:
    """Render a template; any error (syntax, undefined variable, runtime) is a SuiteError at path:line."""
    if "{{" not in source and "{%" not in source:
        return source
    from jinja2 import UndefinedError

    token = _range_left.set(MAX_SIZE)
    try:
        return _render_bounded(_compile(source), variables)
    except UndefinedError as exc:
        defined = ", ".join(sorted(variables)) or "(none)"
        raise SuiteError(
            f"the {what} refers to an undefined variable: {exc.message}",
            path=path,
            line=line,
            key=what,
            hint=f"define it in this case's vars, in defaults.vars or as a table column; defined here: {defined}",
        ) from None
    except Exception as exc:  # noqa: BLE001  (any error inside user template code is the suite's error)
        raise _template_error(exc, path, line, what) from None
    finally:
        _range_left.reset(token)


def _render_bounded(template: Any, variables: dict[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    for part in template.generate(**variables):
        size += len(part)
        if size > MAX_OUTPUT:
            raise TemplateLimit(f"it renders more than {MAX_OUTPUT:,} characters")
        parts.append(part)
    return "".join(parts)


def _template_error(exc: Exception, path: str, line: int, what: str) -> SuiteError:
    from jinja2 import TemplateSyntaxError

    if isinstance(exc, TemplateSyntaxError):
        where = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        message = f"the {what} is not a valid Jinja2 template{where}: {exc.message}"
        hint = "templates use {{ name }} for variables; write a literal brace as {{ '{{' }}"
    elif isinstance(exc, TemplateLimit):
        message = f"the {what} template is too large: {exc}"
        hint = f"templates may build at most {MAX_OUTPUT:,} characters and sizes up to {MAX_SIZE:,}"
    else:
        message = f"the {what} template failed while rendering: {type(exc).__name__}: {exc}"
        hint = "templates may use the case's vars, filters and simple expressions; no includes, imports or attribute tricks"
    return SuiteError(message, path=path, line=line, key=what, hint=hint)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
        if isinstance(left, (int, float)) and abs(left) > 1:
            raise TemplateLimit(f"exponent {right} is larger than {MAX_EXPONENT}")
    elif operator == "*":
        _check_repeat(left, right)
        _check_repeat(right, left)
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


def _check_repeat(seq: Any, times: Any) -> None:
    if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_SIZE:
        raise TemplateLimit(f"repeating {len(seq)} items {times} times is larger than {MAX_SIZE:,}")


def _check_format(text: str) -> None:
    for match in _FORMAT_NUMBERS.finditer(text):
        if any(group and int(group) > MAX_SIZE for group in match.groups()):
            raise TemplateLimit(f"format width {match.group(0)!r} is larger than {MAX_SIZE:,}")


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
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
    left = _range_left.get() - len(result)
    if left < 0:
        raise TemplateLimit(f"range() calls in one template may produce at most {MAX_SIZE:,} numbers")
    _range_left.set(left)
    return result


def _bounded_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that sizes its output, with its arguments bounded (the value filtered is left alone)."""

    @functools.wraps(fn)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        params = [a for a in args if not _is_jinja_internal(a)]
        _check_args([*params[1:], *kwargs.values()])
        if fn.__name__ == "do_format" and params and isinstance(params[0], str):
            _check_format(params[0])
        return fn(*args, **kwargs)

    return bounded


def _is_jinja_internal(arg: Any) -> bool:
    from jinja2 import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(arg, (Environment, Context, EvalContext))
