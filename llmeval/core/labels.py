"""Short names that tell models (or files) apart: the trailing part of a spec that no other spec shares.

`python:app.bot:answer` and `python:app.bot_v2:answer` are both `answer` to a reader; qualified they are
`bot:answer` and `bot_v2:answer`. Specs split after `/ . : # ,`, so a name grows by whole components.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_AFTER_SEPARATOR = re.compile(r"(?<=[/.:#,])")


def _tail(text: str, parts: int) -> str:
    return "".join(_AFTER_SEPARATOR.split(text)[-parts:])


def qualified(spec: str, others: Sequence[str]) -> str:
    """The shortest trailing components of `spec` that none of `others` ends with (the whole spec when none do)."""
    pieces = len(_AFTER_SEPARATOR.split(spec))
    for n in range(1, pieces + 1):
        tail = _tail(spec, n).strip("/.:#,")
        if tail and all(_tail(other, n).strip("/.:#,") != tail for other in others):
            return tail
    return spec
