"""Jinja2 rendering in a metered sandbox (``llmeval.suite.sandbox``), strict about undefined variables.

Every error a template can raise (syntax, undefined name, sandbox refusal, include without a
loader, an exception inside an expression or filter, a spent budget) becomes a SuiteError at the
suite's line. Each render has a budget (``llmeval.suite.budget``) the suite may raise with ``limits:``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

from llmeval.errors import SuiteError
from llmeval.suite.budget import BudgetExceeded, Meter, TemplateLimit, metering
from llmeval.suite.sandbox import MAX_SIZE, make_env, range_left


@lru_cache(maxsize=1)
def _env() -> Any:
    return make_env()


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    with warnings.catch_warnings():  # Python's compile warns about e.g. `1[0]`: the render reports it as an error
        warnings.simplefilter("ignore", SyntaxWarning)
        return _env().from_string(source)


def render(source: str, variables: dict[str, Any], *, path: str, line: int, what: str) -> str:
    """Render a template; any error (syntax, undefined variable, runtime, budget) is a SuiteError at path:line."""
    if "{{" not in source and "{%" not in source:
        return source
    from jinja2 import UndefinedError

    token = range_left.set(MAX_SIZE)
    try:
        with metering() as meter:
            return _render_bounded(_compile(source), variables, meter)
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
        range_left.reset(token)


def _render_bounded(template: Any, variables: dict[str, Any], meter: Meter) -> str:
    parts: list[str] = []
    size, limit = 0, meter.budget.output
    for part in template.generate(**variables):
        size += len(part)
        if size > limit:
            raise BudgetExceeded("output", limit)
        parts.append(part)
    return "".join(parts)


def _template_error(exc: Exception, path: str, line: int, what: str) -> SuiteError:
    from jinja2 import TemplateSyntaxError

    if isinstance(exc, TemplateSyntaxError):
        where = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        message = f"the {what} is not a valid Jinja2 template{where}: {exc.message}"
        hint = "templates use {{ name }} for variables; write a literal brace as {{ '{{' }}"
    elif isinstance(exc, BudgetExceeded):
        message = f"the {what} template is too large: {exc}"
        raised = f"limits: {{{exc.key}: {_raised(exc.limit)}}}"
        hint = f"make the template do less, or raise this budget for the suite, e.g.\n    {raised}"
    elif isinstance(exc, TemplateLimit):
        message = f"the {what} template is too large: {exc}"
        hint = f"templates may ask for sizes up to {MAX_SIZE:,}; see README 'Limits'"
    elif isinstance(exc, MemoryError | RecursionError):
        message = f"the {what} template is too large: {type(exc).__name__}"
        hint = "make the template do less (no deep recursion in macros or recursive loops)"
    else:
        message = f"the {what} template failed while rendering: {type(exc).__name__}: {exc}"
        hint = "templates may use the case's vars, filters and simple expressions; no includes, imports or attribute tricks"
    return SuiteError(message, path=path, line=line, key=what, hint=hint)


def _raised(limit: float) -> str:
    return str(int(limit * 4)) if isinstance(limit, int) else f"{limit * 4:g}"
