"""Run calls with bounded concurrency, a per-call timeout and the run deadline; a stuck call never blocks the run.

Work runs on daemon threads (or one event loop on a daemon thread): a call that never returns is
abandoned at its timeout, reported as an error on its request, and cannot hold up interpreter exit
(concurrent.futures would join its non-daemon workers at exit).
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from llmeval.backends.base import Generation, OnResult
from llmeval.backends.limits import Limits

Outcome = Generation | BaseException  # a KeyboardInterrupt travels back to be re-raised
Done = Callable[[Outcome], None]
Cancel = Callable[[], None]
Submit = Callable[[int, Done], Cancel]  # start request `index`; call done(outcome) once; return a canceller


class BoundedRun:
    """Drives `submit` for requests 0..n-1 from the calling thread, which also makes every on_result call."""

    def __init__(self, submit: Submit, *, concurrency: int, limits: Limits, what: str = "call") -> None:
        self.submit = submit
        self.concurrency = max(1, concurrency)
        self.limits = limits
        self.what = what
        self.done: queue.Queue[tuple[int, int, Outcome]] = queue.Queue()
        self.flying: dict[int, tuple[int, float, Cancel]] = {}  # index -> (token, started, cancel)
        self.abandoned = 0  # calls still running after their timeout (their threads are lost to the run)

    def run(self, count: int, on_result: OnResult) -> None:
        pending, tokens, attempts = deque(range(count)), itertools.count(), dict.fromkeys(range(count), 0)
        deadline = self.limits.deadline
        while pending or self.flying:
            if deadline is not None and deadline.out_of_time():
                self._stop_all(pending, on_result)
                return
            if deadline is not None and deadline.out_of_tokens():  # calls in flight finish; none start
                for index in pending:
                    on_result(index, Generation("", error=deadline.not_started))
                pending.clear()
            while pending and len(self.flying) < self.concurrency:
                self._start(pending.popleft(), next(tokens))
            for index, outcome in self._collect():
                if isinstance(outcome, BaseException):
                    raise outcome
                if outcome.meta.pop("retryable", False) and attempts[index] < (self.limits.retries or 0):
                    attempts[index] += 1
                    pending.appendleft(index)
                    continue
                on_result(index, outcome)
            self._expire(on_result)

    def _start(self, index: int, token: int) -> None:
        def done(outcome: Outcome) -> None:
            self.done.put((index, token, outcome))

        started = time.monotonic()
        self.flying[index] = (token, started, self.submit(index, done))

    def _collect(self) -> list[tuple[int, Outcome]]:
        """Wait for at least one result (or the next timeout/deadline check), then take all that are ready."""
        got: list[tuple[int, Outcome]] = []
        try:
            item = self.done.get(timeout=self._wait_s())
            while True:
                index, token, outcome = item
                if index in self.flying and self.flying[index][0] == token:
                    del self.flying[index]
                    got.append((index, outcome))
                item = self.done.get_nowait()
        except queue.Empty:
            return got

    def _wait_s(self) -> float:
        waits = [1.0]
        if self.limits.timeout is not None and self.flying:
            oldest = min(started for _, started, _ in self.flying.values())
            waits.append(oldest + self.limits.timeout - time.monotonic())
        if self.limits.deadline is not None:
            waits.append(self.limits.deadline.at - time.monotonic())  # the clock only: a spent budget waits for calls in flight
        return max(0.005, min(waits))

    def _expire(self, on_result: OnResult) -> None:
        timeout = self.limits.timeout
        if timeout is None:
            return
        now = time.monotonic()
        for index, (_token, started, cancel) in list(self.flying.items()):
            if now - started >= timeout:
                self._abandon(index, cancel)
                on_result(index, Generation("", latency_s=now - started, error=f"{self.what} timed out after {timeout:g} s"))

    def _stop_all(self, pending: deque[int], on_result: OnResult) -> None:
        deadline = self.limits.deadline
        assert deadline is not None
        for index, (_token, started, cancel) in list(self.flying.items()):
            self._abandon(index, cancel)
            on_result(index, Generation("", latency_s=time.monotonic() - started, error=deadline.stopped))
        for index in pending:
            on_result(index, Generation("", error=deadline.not_started))
        pending.clear()

    def _abandon(self, index: int, cancel: Cancel) -> None:
        del self.flying[index]
        self.abandoned += 1
        cancel()


class DaemonThreads:
    """Workers for sync calls: `concurrency` daemon threads, one more for each call abandoned while stuck."""

    def __init__(self, call: Callable[[int], Outcome]) -> None:
        self.call = call
        self.work: queue.Queue[tuple[int, Done] | None] = queue.Queue()
        self.threads = 0

    def submit(self, index: int, done: Done) -> Cancel:
        self.work.put((index, done))
        return self._replace

    def ensure(self, count: int) -> None:
        while self.threads < count:
            self.threads += 1
            threading.Thread(target=self._work, name=f"llmeval-call-{self.threads}", daemon=True).start()

    def _replace(self) -> None:
        """The call on one worker is stuck: add a worker so the run keeps its concurrency."""
        self.threads += 1
        threading.Thread(target=self._work, name=f"llmeval-call-{self.threads}", daemon=True).start()

    def _work(self) -> None:
        while (item := self.work.get()) is not None:
            index, done = item
            done(self.call(index))

    def close(self) -> None:
        for _ in range(self.threads):
            self.work.put(None)


class LoopThread:
    """One event loop on a daemon thread for async calls; cancelling a call cancels its task."""

    def __init__(self, call: Callable[[int], Coroutine[Any, Any, Outcome]]) -> None:
        self.call = call
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="llmeval-loop", daemon=True)
        self.thread.start()

    def submit(self, index: int, done: Done) -> Cancel:
        future = asyncio.run_coroutine_threadsafe(self.call(index), self.loop)

        def finished(f: Any) -> None:
            if not f.cancelled():
                done(f.result())

        future.add_done_callback(finished)

        def cancel() -> None:
            future.cancel()  # thread-safe: cancels the task on the loop

        return cancel

    def close(self) -> None:
        """Stop the loop; one blocked by a stuck coroutine is left to its daemon thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=1.0)
        if not self.thread.is_alive():
            self.loop.close()
