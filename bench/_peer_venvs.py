"""Throwaway venvs for the peers of bench/peers_bench.py (lm-evaluation-harness, DeepEval), never the project's.

Each peer gets its own venv under .bench-venvs/ (git-ignored), made by this module and reused while its stamp
matches what would be installed. torch is pinned to 2.13.0 (the CPU wheel on disk; unpinned, pip pulls a
multi-GB CUDA build) and transformers to the project venv's version, so a comparison is of the harnesses, not
of the library underneath. A peer whose install fails (a dependency conflict) is reported with pip's reason and
the next candidate is tried; with none left the bench carries on without that peer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".bench-venvs"
TORCH = "torch==2.13.0"
INSTALL_TIMEOUT_S = 600

# candidates per peer, newest first; `probe` is what must import for the peer's row to run
PEERS: dict[str, tuple[tuple[str, ...], str]] = {
    "lm-eval": (("lm-eval[hf]==0.4.13",), "lm_eval.models.huggingface"),
    # deepeval 4.3.1 pins click<8.4 while huggingface-hub >= 1.31 (needed by transformers 5.x) wants click>=8.4.2;
    # pip's resolver, left free, backtracks to 2.9.3, the newest release that installs beside transformers 5.23
    "deepeval": (("deepeval==4.3.1", "deepeval==2.9.3"), "deepeval"),
}


@dataclass
class Peer:
    """A peer's venv: its interpreter when usable, else None, with what happened on the way."""

    name: str
    python: Path | None = None
    spec: str | None = None
    version: str | None = None
    install_s: float | None = None  # how long its pip install took (on an earlier run when reused)
    reused: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def bin(self) -> Path | None:
        return self.python.parent if self.python else None


def pins() -> list[str]:
    """torch and transformers as in the project venv (transformers' version read from this interpreter)."""
    return [TORCH, f"transformers=={metadata.version('transformers')}"]


def _stamp(folder: Path) -> dict[str, object]:
    try:
        return dict(json.loads((folder / "bench-stamp.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _conflict(output: str) -> str:
    """Why pip failed: one "X depends on Y" line per package (pip repeats them per version tried) and its first
    ERROR line, or the output's last lines."""
    lines = [line.strip() for line in output.splitlines() if "is ignored: it is neither" not in line and line.strip()]
    first: dict[str, str] = {}
    for line in lines:
        if " depends on " in line:
            first.setdefault(line.split()[0], line)
    errors = [line for line in lines if line.startswith("ERROR")][:1]
    return "; ".join([*first.values(), *errors])[:800] or "; ".join(lines[-5:])[:800]


def _install(folder: Path, spec: str) -> tuple[bool, str, float]:
    """A fresh venv in `folder` with spec + pins; (ok, why not, seconds)."""
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    command = [str(folder / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", spec, *pins()]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, f"pip install ran past {INSTALL_TIMEOUT_S} s", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return False, _conflict(proc.stdout + proc.stderr), seconds
    return True, "", seconds


def _probe(python: Path, module: str) -> str:
    """'' when `module` imports in that venv, else the error's last line."""
    env = {**os.environ, "DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, text=True, env=env, timeout=300)
    return "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["import failed"])[-1]


def ensure(name: str, log: Callable[[str], None] = print) -> Peer:
    """The peer's venv, installed on first use (or when the pins changed), else reused as it is."""
    candidates, module = PEERS[name]
    folder = VENVS / name
    peer = Peer(name)
    stamp = _stamp(folder)
    if stamp.get("pins") == pins() and stamp.get("spec") in candidates and (folder / "bin" / "python").exists():
        peer.python, peer.spec, peer.version = folder / "bin" / "python", str(stamp["spec"]), str(stamp.get("version"))
        peer.install_s, peer.reused = float(str(stamp.get("install_s", "nan"))), True
        peer.notes = [str(n) for n in stamp.get("notes", [])]  # type: ignore[attr-defined]
        log(f"peers: reusing {folder.relative_to(ROOT)} ({peer.spec}, installed earlier in {peer.install_s:.0f} s)")
        return peer
    for spec in candidates:
        log(f"peers: installing {spec} + {' + '.join(pins())} into {folder.relative_to(ROOT)} (throwaway venv)")
        ok, why, seconds = _install(folder, spec)
        if not ok:
            peer.notes.append(f"{spec}: not installable beside {', '.join(pins())} ({seconds:.0f} s): {why}")
            log(f"peers: {peer.notes[-1]}")
            continue
        python = folder / "bin" / "python"
        broken = _probe(python, module)
        if broken:
            peer.notes.append(f"{spec}: installed but `import {module}` fails: {broken}")
            log(f"peers: {peer.notes[-1]}")
            continue
        peer.python, peer.spec, peer.install_s = python, spec, seconds
        peer.version = spec.split("==")[-1]
        log(f"peers: {spec} installed in {seconds:.0f} s")
        stamp = {"spec": spec, "version": peer.version, "pins": pins(), "install_s": round(seconds, 1), "notes": peer.notes}
        (folder / "bench-stamp.json").write_text(json.dumps(stamp), encoding="utf-8")
        return peer
    shutil.rmtree(folder, ignore_errors=True)
    return peer
