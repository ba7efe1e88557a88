"""The run manifest: suite files and their hashes, model identities, settings and package versions."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from llmeval.config import Settings
from llmeval.records import Manifest

PACKAGES = ("pytest", "torch", "transformers", "presidio-analyzer", "spacy", "fairlearn", "sacrebleu",
            "rouge-score", "vllm", "ray")  # fmt: skip


def build_manifest(
    settings: Settings, root: Path, models: Mapping[str, str], suite_paths: Mapping[str, str], *, started: str
) -> Manifest:
    """What this run was; suite paths are relative to the run's root, `models` maps each spec to its identity."""
    suites = {name: {"path": path, "sha256": _sha256(root / path)} for name, path in sorted(suite_paths.items())}
    values = {k: sorted(v) if isinstance(v, set) else v for k, v in dataclasses.asdict(settings).items() if k != "run_id"}
    return Manifest(
        run_id=settings.run_id,
        suites=suites,
        models=dict(sorted(models.items())),
        settings=values,
        packages=_versions(),
        started=started,
        finished=timestamp(),
    )


def timestamp() -> str:
    """Now in UTC, to the second; SOURCE_DATE_EPOCH (reproducible-builds.org) fixes it, so reruns can be diffed."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = _dt.datetime.fromtimestamp(int(fixed), _dt.UTC) if fixed.isdigit() else _dt.datetime.now(_dt.UTC)
    return moment.isoformat(timespec="seconds")


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
