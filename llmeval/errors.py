"""The exceptions llmeval raises: one root, each with what went wrong and how to fix it."""

from __future__ import annotations


class LlmevalError(Exception):
    """Root of every error llmeval raises on purpose."""


class SuiteError(LlmevalError, ValueError):
    """A suite file (or a table it reads) is malformed; names file:line, the key and a fix."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        self.hint = hint
        super().__init__(self.render())

    @property
    def where(self) -> str:
        if self.path is None:
            return "<suite>"
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def render(self) -> str:
        text = f"{self.where}: "
        if self.key:
            text += f"'{self.key}': "
        text += self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ScorerError(SuiteError):
    """A scorer is unknown or configured wrongly."""


class BackendError(LlmevalError):
    """A model spec cannot be loaded, or a backend failed while generating."""


class MissingDependency(LlmevalError, ImportError):
    """An optional dependency is not installed; the message gives the pip line."""

    def __init__(self, package: str, purpose: str, extra: str | None = None) -> None:
        from llmeval.about import install_line

        line = install_line(extra) if extra else f"pip install {package}"
        super().__init__(f"{purpose} needs the package '{package}', which is not installed: {line}")


def unknown_name_hint(name: str, names: list[str]) -> str:
    """'did you mean X? available: ...' for an unknown name (a scorer, a setting, a key)."""
    import difflib

    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    suggestion = f"did you mean '{close[0]}'? " if close else ""
    return f"{suggestion}available: {', '.join(names)}"
