"""Jinja2 rendering in the sandbox, strict about undefined variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from llmeval.errors import SuiteError


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    return _env().from_string(source)


def render(source: str, variables: dict[str, Any], *, path: str, line: int, what: str) -> str:
    """Render a template; a syntax error or an undefined variable is a SuiteError at path:line."""
    if "{{" not in source and "{%" not in source:
        return source
    from jinja2 import TemplateError, UndefinedError

    try:
        return str(_compile(source).render(**variables))
    except UndefinedError as exc:
        defined = ", ".join(sorted(variables)) or "(none)"
        raise SuiteError(
            f"the {what} refers to an undefined variable: {exc.message}",
            path=path,
            line=line,
            key=what,
            hint=f"define it in this case's vars, in defaults.vars or as a table column; defined here: {defined}",
        ) from None
    except TemplateError as exc:
        raise SuiteError(
            f"the {what} is not a valid Jinja2 template: {exc}",
            path=path,
            line=line,
            key=what,
            hint="templates use {{ name }} for variables; write a literal brace as {{ '{{' }}",
        ) from None
