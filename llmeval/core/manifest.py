"""The run manifest: suite files and their hashes, model identities, settings and package versions."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmeval.records import Manifest

PACKAGES = ("pytest", "torch", "transformers", "presidio-analyzer", "spacy", "fairlearn", "sacrebleu",
            "rouge-score", "vllm", "ray")  # fmt: skip


def build_manifest(run: Any, suite_paths: Mapping[str, str]) -> Manifest:
    """What this run was; suite paths are relative to the run's root."""
    suites = {name: {"path": path, "sha256": _sha256(run.root / path)} for name, path in sorted(suite_paths.items())}
    settings = {k: sorted(v) if isinstance(v, set) else v for k, v in dataclasses.asdict(run.settings).items() if k != "run_id"}
    return Manifest(
        run_id=run.settings.run_id,
        suites=suites,
        models=run.identities(),
        settings=settings,
        packages=_versions(),
        started=run.started,
        finished=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from llmeval.about import version as own_version

    out = {"llmeval": own_version()}  # the distribution is pytest-llmeval-gate; `llmeval` on the index is another project
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
