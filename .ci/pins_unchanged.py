"""Exit 0 when a `pip install --dry-run --report FILE` would only add packages, 1 when it would change an installed one.

`make ray` uses it to decide where Ray goes: into the main venv when nothing pinned there moves, else its own venv.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata


def changed(report: dict) -> list[str]:
    """`name old -> new` for each package the install would replace (pip lists only what it would install)."""
    out = []
    for item in report.get("install", []):
        name, new = item["metadata"]["name"], item["metadata"]["version"]
        try:
            old = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if old != new:
            out.append(f"{name} {old} -> {new}")
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        moves = changed(json.load(fh))
    for line in moves:
        print(f"   would change {line}")
    sys.exit(1 if moves else 0)
