"""Requests and generations as Ray Dataset rows: one JSON string column each, so Arrow never guesses types.

Both the driver and the actors import this module; it imports neither ray nor torch.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from llmeval.backends.base import Generation, GenerationConfig, Request
from llmeval.backends.limits import Deadline, Limits


def encode_request(request: Request) -> str:
    return json.dumps(
        {
            "prompt": request.prompt,
            "messages": [list(m) for m in request.messages] if request.messages is not None else None,
            "config": asdict(request.config),
            "sample": request.sample,
            "vars": request.vars,
        },
        ensure_ascii=False,
    )


def decode_request(blob: str) -> Request:
    data = json.loads(blob)
    config = data["config"]
    messages = data["messages"]
    return Request(
        data["prompt"],
        tuple((role, content) for role, content in messages) if messages is not None else None,
        GenerationConfig(**{**config, "stop": tuple(config["stop"])}),
        data["sample"],
        data["vars"],
    )


def encode_generation(gen: Generation) -> str:
    return json.dumps(asdict(gen), ensure_ascii=False, default=str)


def decode_generation(blob: str) -> Generation:
    return Generation(**json.loads(blob))


def limits_to_row(limits: Limits) -> dict[str, Any]:
    """Limits for an actor: the run deadline as wall-clock time (monotonic clocks differ between processes and nodes)."""
    deadline = limits.deadline
    return {
        "timeout": limits.timeout,
        "retries": limits.retries,
        "deadline_s": deadline.seconds if deadline is not None else None,
        "deadline_epoch": time.time() + deadline.remaining() if deadline is not None else None,
    }


def limits_from_row(data: dict[str, Any]) -> Limits:
    deadline = None
    if data["deadline_s"] is not None:
        left = data["deadline_epoch"] - time.time()
        deadline = Deadline(data["deadline_s"], time.monotonic() + left)
    return Limits(data["timeout"], data["retries"], deadline)
