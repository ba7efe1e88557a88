"""One local Ray session for the whole test session (2 CPUs: 2 actors of 1 torch thread), shut down at the end.

These tests carry the `ray` marker: `make test` deselects them, `make test-ray` installs Ray and runs only them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address of a local Ray session this process started; llmeval joins it (and leaves it running)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: `make test-ray` installs it")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    env = pytest.MonkeyPatch()
    token = Path.home() / ".ray" / "auth_token"  # Ray's default token auth: drivers joining at the address need it
    if token.is_file():
        env.setenv("RAY_AUTH_TOKEN_PATH", str(token))  # pytester's inner runs get a HOME of their own
    yield ray.get_runtime_context().gcs_address
    env.undo()
    ray.shutdown()
