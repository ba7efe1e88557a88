"""Torch's CPU thread count: the cores this process may use that other processes are not busy on.

Why: torch defaults to one thread per core, and on a shared runner a second thread fighting another
process for its core made batched generation ~10x slower (200 prompts x 48 tokens: 1.3-2.3 s on one
thread, 15-22 s on two while the other core was busy). The generation backend and the scoring model
pool both call `use_torch_threads`, so one run uses one choice. `threads` (`--llmeval-threads N`)
overrides the choice. Nothing here sets environment variables.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

SAMPLE_S = 0.2  # /proc/stat window: 20 scheduler ticks per core at 100 Hz, cheap beside a model load
REUSE_S = 60.0  # a choice serves the loads that follow within this long (one run's models), then is made anew
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def choose_threads(cpus: int, busy_elsewhere: float) -> int:
    """Cores this process may use minus those other processes keep busy (rounded), at least 1."""
    return max(1, cpus - math.floor(busy_elsewhere + 0.5))


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, cut to the cgroup's CPU quota when one is set."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def busy_elsewhere(window: float = SAMPLE_S) -> float:
    """Cores other processes kept busy over `window` s, on the CPUs this process may use.

    Sampled from /proc/stat (busy ticks of those CPUs) minus this process's own ticks from /proc/self/stat,
    so a process that is itself generating does not count its own threads as load. Without /proc (not
    Linux), the 1-minute load average stands in.
    """
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    first = _busy_ticks(cpus), _own_ticks()
    if first[0] is None or first[1] is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    started = time.monotonic()
    time.sleep(window)
    busy, own = _busy_ticks(cpus), _own_ticks()
    elapsed = time.monotonic() - started
    if busy is None or own is None:
        return 0.0
    return max(0.0, (busy - first[0]) - (own - first[1])) / _TICKS_PER_S / elapsed


def torch_threads(setting: int | None) -> int:
    """The run's `threads` setting when given, else the user's OMP_NUM_THREADS, else the free cores now.

    OMP_NUM_THREADS is read, never set: a user (or a benchmark) who pinned the process to N threads gets N.
    """
    if setting:
        return setting
    pinned = _omp_threads()
    if pinned:
        return pinned
    return _free_cores()


_last_choice: tuple[float, int] | None = None  # (time.monotonic() when made, threads)


def _free_cores() -> int:
    """The free-core choice, sampled once for the model loads of one run (each sample sleeps SAMPLE_S).

    Without this the backend and every scoring model re-sampled /proc/stat: 0.6 s of a 10 s demo, and
    possibly a different choice per model within one run.
    """
    global _last_choice
    now = time.monotonic()
    if _last_choice is None or now - _last_choice[0] > REUSE_S:
        _last_choice = (now, choose_threads(usable_cpus(), busy_elsewhere()))
    return _last_choice[1]


def _omp_threads() -> int | None:
    """A positive integer OMP_NUM_THREADS (its first entry: OpenMP allows a list per nesting level), else None."""
    raw = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def use_torch_threads(setting: int | None, device: str) -> int:
    """Apply the thread choice to torch (process-wide) for CPU work; returns torch's thread count after."""
    import torch

    if not device.startswith("cuda"):
        torch.set_num_threads(torch_threads(setting))
    return int(torch.get_num_threads())


def _busy_ticks(cpus: set[int]) -> int | None:
    """Non-idle ticks summed over the given CPUs (all CPUs when the set is empty); None without /proc."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    total = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or (cpus and int(name[3:]) not in cpus):
            continue
        ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
        total += sum(ticks) - ticks[3] - ticks[4]
    return total


def _own_ticks() -> int | None:
    """User + system ticks of this process, all its threads; None without /proc."""
    try:
        stat = Path("/proc/self/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])


def _cgroup_quota() -> float | None:
    """The cgroup v2 CPU quota in cores (`cpu.max`), or None when unlimited or not readable."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)
