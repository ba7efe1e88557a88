"""Servers the tests and benchmarks start on loopback: a free port, a bounded wait for health, a sure stop."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(process: subprocess.Popen, url: str, log: Path, *, name: str, timeout_s: float) -> str | None:
    """Poll `url`/health until it answers 200; else why not (exited, or not healthy in time) with the log's tail."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return f"{name} was not healthy within {timeout_s:g} s:\n{log.read_text()[-3000:]}"


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate, then kill what is still running after `grace_s`."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
