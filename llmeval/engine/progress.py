"""Generation progress: a live bar on a terminal, one summary line otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


class Progress:
    """Counts finished generations and tokens; draws a rich bar when `live`, else reports once at the end."""

    def __init__(self, total: int, *, live: bool, write_line: Callable[[str], None], label: str = "generating") -> None:
        self.total = total
        self.done = 0
        self.tokens = 0
        self.errors = 0
        self.start = time.perf_counter()
        self.write_line = write_line
        self._bar: Any = None
        if live and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]llmeval[/] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=sys.stdout),
                transient=False,
            )
            self._task = self._bar.add_task(label, total=total, rate="")
            self._bar.start()

    def advance(self, tokens: int, error: bool = False) -> None:
        self.done += 1
        self.tokens += tokens
        self.errors += int(error)
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self.start, 1e-9)
            rate = f"{self.done / elapsed:.1f} cases/s  {self.tokens / elapsed:.0f} tok/s"
            self._bar.update(self._task, completed=self.done, rate=rate)

    def finish(self, cached: int, load_s: float = 0.0) -> str:
        if self._bar is not None:
            self._bar.stop()
        elapsed = time.perf_counter() - self.start
        shown = f"{elapsed:.2f}" if elapsed < 10 else f"{elapsed:.1f}"
        line = (
            f"llmeval: {self.done + cached} outputs ({cached} from cache, {self.done} generated"
            f"{f', {self.errors} failed' if self.errors else ''}) in {shown} s"
        )
        if self.done:
            line += f" - {self.done / max(elapsed, 1e-9):.1f} cases/s, {self.tokens / max(elapsed, 1e-9):.0f} tokens/s"
        if load_s >= 0.01:
            line += f" (model load {load_s:.2f} s)"
        self.write_line(line)
        return line
