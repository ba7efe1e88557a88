"""The Ray actor: one model replica, rebuilt from (spec, options), running llmeval's own batched generation.

Each actor builds the backend once (as `llmeval run` would, through the registry) and generates every
block of rows it is handed with `Backend.generate`, so its outputs equal the local engine's. A backend
that cannot be built or fails is reported on each row of the block, never raised: a raised error would
make Ray restart the actor and retry, and the run would wait instead of reporting.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from llmeval.backends.base import Backend, Generation
from llmeval.engine.ray_rows import decode_request, encode_generation, limits_from_row


class GenerateBlocks:
    """A Ray Data class UDF: `__init__` loads the model, `__call__` generates one block of request rows."""

    def __init__(self, spec: str, root: str, options: dict[str, Any], limits: dict[str, Any]) -> None:
        self.spec = spec
        self.limits = limits
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.where = f"ray actor {self.worker}"
        self.backend: Backend | None = None
        self.broken: str | None = None
        try:
            self.backend = _build(spec, Path(root), options)
        except Exception as exc:  # reported on every row this actor is given
            self.broken = f"{self.where} could not load '{spec}': {type(exc).__name__}: {exc}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        indices = [int(i) for i in batch["index"]]
        done: dict[int, Generation] = {}
        error = self.broken if self.broken is not None else self._generate(batch, done)
        rows = [done.get(k, Generation("", error=error or "the backend returned no result")) for k in range(len(indices))]
        return {"index": indices, "generation": [encode_generation(g) for g in rows]}

    def _generate(self, batch: dict[str, Any], done: dict[int, Generation]) -> str | None:
        """Fill `done` by position in the block; the error for rows left without a result, if any."""
        assert self.backend is not None
        requests = [decode_request(str(blob)) for blob in batch["request"]]

        def on_result(k: int, gen: Generation) -> None:
            gen.meta["worker"] = self.worker  # which replica made it (host:pid)
            done[k] = gen

        try:
            self.backend.generate(requests, on_result, limits=limits_from_row(self.limits))
        except Exception as exc:
            return f"{self.where}: backend '{self.spec}' failed: {type(exc).__name__}: {exc}"
        return None


def _build(spec: str, root: Path, options: dict[str, Any]) -> Backend:
    from llmeval.backends import resolve

    backend = resolve(spec, root=root, **options)
    backend.load()
    return backend
