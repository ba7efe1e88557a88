"""The Ray session of a run: joined if one is running, else started (locally or at an address), quietly.

Bounds: `ray.init` at an address keeps retrying for minutes when nothing listens there, so the address
is first checked with a TCP connection (CONNECT_CHECK_S); a local start has Ray's own timeouts.
`ray.init` runs on the calling thread: Ray's child processes die with the thread that started them.
A session this module started is shut down by `release()`; one it joined (a test fixture's, a user's
`ray.init`) is left running.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from typing import Any

from llmeval.errors import BackendError

CONNECT_CHECK_S = 10.0
INSTALL_HINT = "pip install 'pytest-llmeval-gate[ray]' (or `make ray` in a checkout)"

_started_here = False


def require_ray() -> None:
    """Fail early, without importing ray, when `ray[data]` is not installed."""
    if importlib.util.find_spec("ray") is None:  # ray.data's own needs (pandas, pyarrow) are llmeval's too
        raise BackendError(f"--llmeval-engine ray needs the package 'ray[data]', which is not installed: {INSTALL_HINT}")


def connect(address: str | None) -> Any:
    """The `ray` module with a session up: the running one, or one started here (local, or joined at `address`)."""
    require_ray()
    import ray

    if not ray.is_initialized():
        if address:
            check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:  # ray raises its own types (AuthenticationError, ...); the message says what to fix
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise BackendError(f"--llmeval-engine ray: cannot start or join {where}: {exc}") from None
        global _started_here
        _started_here = True
    _quiet_data()
    return ray


def release() -> None:
    """Shut down the session if this module started it (a joined one belongs to its owner)."""
    global _started_here
    if _started_here:
        import ray

        ray.shutdown()
        _started_here = False


def check_reachable(address: str) -> None:
    """Raise BackendError naming the address when no Ray head answers at HOST:PORT within CONNECT_CHECK_S."""
    if address == "auto":
        return  # ray reads the local cluster's address file and fails fast when there is none
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise BackendError(f"--llmeval-ray-address '{address}': write it as HOST:PORT (e.g. 10.0.0.5:6379) or 'auto'")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_CHECK_S).close()
    except OSError as exc:
        raise BackendError(
            f"--llmeval-ray-address {address}: no Ray head answers there ({exc}); start one with "
            f"`ray start --head --port={port}` on that machine, or leave the option out to start Ray locally"
        ) from None


def cluster_slots(ray: Any, threads: int) -> tuple[int, bool]:
    """How many model replicas the cluster holds, and whether they are GPU ones (one GPU each, else `threads` CPUs)."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return gpus, True
    return max(1, int(resources.get("CPU", 1)) // max(1, threads)), False


def actor_env(threads: int) -> dict[str, str]:
    """Environment of the actors: the driver's llmeval first on the path, offline hub, `threads` CPU threads."""
    import llmeval

    here = os.path.dirname(os.path.dirname(os.path.abspath(llmeval.__file__)))
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _quiet_data() -> None:
    """No progress bars or per-dataset log lines on the user's terminal (set when the engine is used, not at import)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
