"""`--llmeval-engine ray`: a backend's generation spread over a Ray Data actor pool, one model replica per actor.

`on_ray` wraps a backend that can be rebuilt from (spec, options) in another process (it says so with
`distributable = True`: `hf:`); others stay in the driver: HTTP, python callables, replay, and `vllm:`,
which schedules its own engine and spreads it over GPUs itself (tensor/data parallel).
`RayBackend.generate` turns the requests into a Ray Dataset, maps it through `GenerateBlocks` actors
(ray_worker.py), and streams each finished block back to `on_result`, so the plan caches every
result as it arrives and a killed run keeps what finished. Identity and cache keys are the wrapped
backend's: a run on Ray and a local one share the cache.

Bounds: the run deadline, and a stall bound: when no block finishes for ACTOR_START_S plus the
per-request timeout (BLOCK_S without one), the requests not yet back become errors instead of a
wait. A dead actor (crash, OOM kill) is not restarted: the dataset stops, and every request not yet
back becomes an error naming the failure (the finished ones are kept).
"""

from __future__ import annotations

import gc
import math
import queue
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.backends.base import Backend, Generation, OnResult, Request
from llmeval.backends.limits import Limits
from llmeval.engine import ray_session
from llmeval.engine.ray_rows import decode_generation, encode_request, limits_to_row

MAX_BLOCK_ROWS = 64  # rows per actor call: small enough to stream results back, large enough to batch
ACTOR_START_S = 300.0  # import torch and load a replica on a cold node
BLOCK_S = 600.0  # one block's generation when no per-request timeout is set

_DONE = object()


def on_ray(backend: Backend, *, root: Path, options: dict[str, Any], address: str | None, actors: int | None) -> Backend:
    """The backend to use under the ray engine: `backend` wrapped when it can run in actors, else itself."""
    if not backend.distributable:
        return backend
    ray_session.require_ray()
    return RayBackend(backend, root=root, options=options, address=address, actors=actors)


class RayBackend(Backend):
    """Generates through a Ray actor pool; everything else (identity, label, secrets) is the wrapped backend's."""

    def __init__(
        self, inner: Backend, *, root: Path, options: dict[str, Any], address: str | None = None, actors: int | None = None
    ) -> None:
        self.inner = inner
        self.spec, self.label, self.sees_vars = inner.spec, inner.label, inner.sees_vars
        self.root = root
        self.run_options = options  # what the actors rebuild the backend with (resolve picks its own)
        self.address = address
        self.actors = actors
        self._ray: Any = None

    def identity(self) -> str:
        return self.inner.identity()

    def secrets(self) -> list[str]:
        return self.inner.secrets()

    def load(self) -> None:
        """Start or join the Ray session (the models load in the actors, not here)."""
        if self._ray is None:
            self._ray = ray_session.connect(self.address)

    def close(self) -> None:
        self.inner.close()
        if self._ray is not None:
            ray_session.release()
            self._ray = None

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        if not requests:
            return
        self.load()
        bounds = limits or Limits()
        pending = set(range(len(requests)))
        feed = _Feed(self._dataset(requests, bounds))
        stall = ACTOR_START_S + (bounds.timeout if bounds.timeout is not None else BLOCK_S)
        try:
            error = self._drain(feed, pending, on_result, bounds, stall)
        finally:
            feed.stop()
        for index in sorted(pending):
            on_result(index, Generation("", error=error))

    def _drain(self, feed: _Feed, pending: set[int], on_result: OnResult, bounds: Limits, stall: float) -> str:
        """Hand each arriving row to on_result; the error for the rows still pending when it stops."""
        deadline = bounds.deadline
        while pending:
            wait = stall if deadline is None else min(stall, deadline.remaining())
            item = feed.next(wait)
            if item is None:
                if deadline is not None and deadline.reached():
                    return deadline.stopped
                return f"ray engine: no result from the actors of '{self.spec}' within {stall:g} s (see `ray status`)"
            if isinstance(item, _Failed):
                return item.message
            if item is _DONE:
                return "ray engine: the dataset finished without this request's result"
            for index, blob in item:
                if index in pending:
                    pending.discard(index)
                    on_result(index, decode_generation(blob))
        return ""

    def _dataset(self, requests: Sequence[Request], bounds: Limits) -> Any:
        """The requests as a Dataset (longest prompts first, like the local length sort) mapped through the actors."""
        from ray.data import ActorPoolStrategy, from_items

        from llmeval.engine.ray_worker import GenerateBlocks

        threads = self.run_options.get("threads") or 1
        slots, gpu = ray_session.cluster_slots(self._ray, threads)
        order = sorted(range(len(requests)), key=lambda i: -len(requests[i].text()))
        blocks, size, actors = plan_blocks(len(requests), self.actors or slots)
        items = [{"index": i, "request": encode_request(requests[i])} for i in order]
        built = {
            "spec": self.spec,
            "root": str(self.root),
            "options": {**self.run_options, "threads": None if gpu else threads},
            "limits": limits_to_row(bounds),
        }
        with warnings.catch_warnings():  # max_restarts has no named parameter; Ray's docs pass it as a remote arg
            warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated")
            return from_items(items, override_num_blocks=blocks).map_batches(
                GenerateBlocks,
                batch_size=size,
                batch_format="numpy",
                compute=ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
                fn_constructor_kwargs=built,
                runtime_env={"env_vars": ray_session.actor_env(threads)},
                max_restarts=0,  # a dead actor's requests become errors rather than endless retries
                **({"num_gpus": 1} if gpu else {"num_cpus": threads}),
            )


def plan_blocks(rows: int, actors: int) -> tuple[int, int, int]:
    """(blocks, rows per block, actors): at most MAX_BLOCK_ROWS a block, a multiple of the actors, no idle actor."""
    actors = max(1, min(actors, rows))
    blocks = math.ceil(math.ceil(rows / MAX_BLOCK_ROWS) / actors) * actors
    size = math.ceil(rows / blocks)
    return math.ceil(rows / size), size, actors


def _failure(exc: BaseException) -> str:
    """The error of the requests a failed dataset left unfinished: the first line of Ray's own message."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"ray engine: {type(exc).__name__}: {first} (requests finished before it are kept)"


@dataclass(frozen=True)
class _Failed:
    """The dataset raised: only its message travels (the exception would keep the dataset's actors alive)."""

    message: str


class _Feed:
    """Iterates the dataset on a daemon thread, so the caller waits with a bound; `stop` ends it at its next block."""

    def __init__(self, dataset: Any) -> None:
        self.rows: queue.Queue[Any] = queue.Queue()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(dataset,), name="llmeval-ray-feed", daemon=True)
        self.thread.start()

    def _run(self, dataset: Any) -> None:
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                self.rows.put(list(zip((int(i) for i in batch["index"]), (str(g) for g in batch["generation"]), strict=True)))
                if self.stopped.is_set():
                    return  # closing the iterator shuts the dataset's actors down
            self.rows.put(_DONE)
        except BaseException as exc:
            self.rows.put(_Failed(_failure(exc)))
            del exc
            gc.collect()  # a failed dataset's frames may hold its actors in reference cycles: free them sooner

    def next(self, wait: float) -> Any:
        """The next block of (index, generation) rows, a _Failed, _DONE, or None when `wait` passed first."""
        try:
            return self.rows.get(timeout=max(0.01, wait))
        except queue.Empty:
            return None

    def stop(self) -> None:
        self.stopped.set()  # never joined: a thread blocked in Ray must not hold the run
