"""The run manifest: suite files and their hashes, model identities, settings and package versions, and the
environment a run's figures depend on (git commit of the project under test, machine, GPU)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmeval.config import Settings
from llmeval.records import Manifest

PACKAGES = (
    "pytest",
    "torch",
    "transformers",
    "presidio-analyzer",
    "spacy",
    "fairlearn",
    "sacrebleu",
    "rouge-score",
    "vllm",
    "ray",
    "scipy",
    "numpy",
)


def build_manifest(
    settings: Settings, root: Path, models: Mapping[str, str], suite_paths: Mapping[str, str], *, started: str
) -> Manifest:
    """What this run was; suite paths are relative to the run's root, `models` maps each spec to its identity."""
    suites = {name: _suite(root / path, path) for name, path in sorted(suite_paths.items())}
    values = {k: sorted(v) if isinstance(v, set) else v for k, v in dataclasses.asdict(settings).items() if k != "run_id"}
    return Manifest(
        run_id=settings.run_id,
        suites=suites,
        models=dict(sorted(models.items())),
        settings=values,
        packages=package_versions(),
        started=started,
        finished=timestamp(),
        environment=environment(root),
        backends={spec: spec.partition(":")[0] for spec in sorted(models)},
    )


def timestamp() -> str:
    """Now in UTC, to the second; SOURCE_DATE_EPOCH (reproducible-builds.org) fixes it, so reruns can be diffed."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = _dt.datetime.fromtimestamp(int(fixed), _dt.UTC) if fixed.isdigit() else _dt.datetime.now(_dt.UTC)
    return moment.isoformat(timespec="seconds")


def _suite(path: Path, rel: str) -> dict[str, Any]:
    """A suite file's path, hash, and the generation settings and seeds it declares."""
    entry: dict[str, Any] = {"path": rel, "sha256": file_sha256(path)}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):  # the hash (None when unreadable) still identifies the file
        return entry
    if isinstance(data, dict):
        for key in ("version", "generation", "repeat", "model"):
            if data.get(key) is not None:
                entry[key] = data[key]
    return entry


def environment(root: Path) -> dict[str, Any]:
    """Python, OS, CPU, GPUs (when torch is already loaded: never imported for this) and the git commit of `root`."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count() or 0,
    }
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "cuda", None) is not None and torch.cuda.is_available():
        env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        env["gpus"] = []
    env["git"] = git_state(root)
    return env


def git_state(root: Path) -> dict[str, Any]:
    """The commit checked out at `root` and whether tracked files differ from it; {} outside a git work tree."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {}
        porcelain = ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"]
        status = subprocess.run(porcelain, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from llmeval.about import version as own_version

    out = {"llmeval": own_version()}  # the distribution is pytest-llmeval-gate; `llmeval` on the index is another project
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
