"""The run history: one SQLite file that each run appends to (its manifest, verdict, gates, aggregates, usage and
per-case summaries), read back for trends, accepted baselines and comparability checks.

Concurrent runs append safely: WAL journal, a busy timeout, and one ``BEGIN IMMEDIATE`` transaction per run
(a run is all in the history or not at all).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError

BUSY_TIMEOUT_S = 60.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, recorded TEXT NOT NULL, started TEXT,
    finished TEXT, verdict TEXT, accepted TEXT, manifest TEXT NOT NULL, cases TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aggregates (
    run_id TEXT NOT NULL REFERENCES runs(run_id), suite TEXT, model TEXT, metric TEXT, value REAL, low REAL, high REAL,
    pass_rate REAL, n INTEGER, units INTEGER, method TEXT);
CREATE TABLE IF NOT EXISTS gates (
    run_id TEXT NOT NULL REFERENCES runs(run_id), suite TEXT, model TEXT, gate TEXT, metric TEXT, stat TEXT, status TEXT,
    value REAL, low REAL, high REAL, bound REAL, threshold TEXT);
CREATE TABLE IF NOT EXISTS usage (run_id TEXT NOT NULL REFERENCES runs(run_id), suite TEXT, model TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS aggregates_run ON aggregates(run_id);
CREATE INDEX IF NOT EXISTS gates_run ON gates(run_id);
"""


@dataclass(frozen=True)
class RunEntry:
    """A run as the history holds it."""

    seq: int
    run_id: str
    recorded: str
    started: str
    verdict: str
    accepted: str | None
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Point:
    """One run's value of one series (suite, model, metric) in a trend."""

    seq: int
    run_id: str
    started: str
    verdict: str
    accepted: bool
    suite: str
    model: str
    metric: str
    value: float
    low: float | None
    high: float | None
    n: int


class History:
    """A history file; every method opens its own connection (the file may be shared by concurrent runs)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.is_file():
            raise LlmevalError(f"no run history at {self.path}; record one with --llmeval-history {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.row_factory = sqlite3.Row
            if write:
                db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer (a reader needs no write access)
                db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, SCHEMA.split(";")):
                        db.execute(statement)
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            else:
                yield db
        except sqlite3.DatabaseError as exc:
            raise LlmevalError(f"run history {self.path}: {exc}") from None
        finally:
            db.close()

    def append(self, record: Mapping[str, Any]) -> int:
        """Add one run (``run_record``'s dict) in one transaction; returns its sequence number."""
        manifest = record["manifest"]
        with self._connect(write=True) as db:
            try:
                cursor = db.execute(
                    "INSERT INTO runs (run_id, recorded, started, finished, verdict, manifest, cases) VALUES (?,?,?,?,?,?,?)",
                    (
                        record["run_id"],
                        _now(),
                        manifest.get("started", ""),
                        manifest.get("finished", ""),
                        record["verdict"],
                        json.dumps(manifest, default=str),
                        json.dumps(record["cases"], default=str),
                    ),
                )
            except sqlite3.IntegrityError:
                raise LlmevalError(f"run history {self.path} already holds run {record['run_id']}") from None
            aggregate_keys = ("suite", "model", "metric", "value", "low", "high", "pass_rate", "n", "units", "method")
            _insert(db, "aggregates", record["run_id"], aggregate_keys, record["aggregates"])
            gate_keys = ("suite", "model", "gate", "metric", "stat", "status", "value", "low", "high", "bound", "threshold")
            _insert(db, "gates", record["run_id"], gate_keys, record["gates"])
            db.executemany(
                "INSERT INTO usage (run_id, suite, model, data) VALUES (?, ?, ?, ?)",
                [(record["run_id"], u["suite"], u["model"], json.dumps(u)) for u in record["usage"]],
            )
            return int(cursor.lastrowid or 0)

    def runs(self, last: int | None = None) -> list[RunEntry]:
        """The runs, oldest first (the last `last` of them)."""
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT * FROM runs ORDER BY seq DESC" + (" LIMIT ?" if last else ""), (last,) if last else ()
            ).fetchall()
        return [_entry(r) for r in reversed(rows)]

    def accept(self, run_id: str) -> RunEntry:
        """Mark a run accepted (a baseline for `history:last-accepted`); an unknown id is an error listing the last ones."""
        with self._connect(write=True) as db:
            found = db.execute("UPDATE runs SET accepted = ? WHERE run_id = ?", (_now(), run_id)).rowcount
            if not found:
                ids = [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 5")]
                raise LlmevalError(f"run history {self.path} holds no run {run_id!r}; the last runs: {', '.join(ids) or 'none'}")
        return next(r for r in self.runs() if r.run_id == run_id)

    def accepted(self, last: int = 1) -> list[tuple[RunEntry, list[dict[str, Any]]]]:
        """The last `last` accepted runs (oldest first) with their per-case summaries."""
        with self._connect(write=False) as db:
            rows = db.execute("SELECT * FROM runs WHERE accepted IS NOT NULL ORDER BY seq DESC LIMIT ?", (last,)).fetchall()
        return [(_entry(r), json.loads(r["cases"])) for r in reversed(rows)]

    def trend(
        self, *, suite: str | None = None, metric: str | None = None, model: str | None = None, last: int | None = None
    ) -> list[Point]:
        """Aggregates of the last `last` runs (all runs when None), oldest first, filtered by suite, metric, model."""
        where, params = _filters(suite=suite, metric=metric, model=model)
        runs = [r.seq for r in self.runs(last)]
        if not runs:
            return []
        sql = (
            "SELECT r.seq, r.run_id, r.started, r.verdict, r.accepted, a.* FROM aggregates a JOIN runs r USING (run_id) "
            f"WHERE r.seq >= ? {where} ORDER BY a.suite, a.model, a.metric, r.seq"
        )
        with self._connect(write=False) as db:
            rows = db.execute(sql, (runs[0], *params)).fetchall()
        return [
            Point(
                r["seq"],
                r["run_id"],
                r["started"] or "",
                r["verdict"] or "",
                r["accepted"] is not None,
                r["suite"],
                r["model"],
                r["metric"],
                float(r["value"]),
                r["low"],
                r["high"],
                int(r["n"] or 0),
            )
            for r in rows
        ]

    def gates(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect(write=False) as db:
            return [dict(r) for r in db.execute("SELECT * FROM gates WHERE run_id = ?", (run_id,))]


def _insert(db: sqlite3.Connection, table: str, run_id: str, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    marks = ", ".join("?" * (len(keys) + 1))
    db.executemany(
        f"INSERT INTO {table} (run_id, {', '.join(keys)}) VALUES ({marks})", [(run_id, *(r.get(k) for k in keys)) for r in rows]
    )


def _filters(**values: str | None) -> tuple[str, list[str]]:
    names = {k: v for k, v in values.items() if v}
    return "".join(f" AND a.{k} = ?" for k in names), [v for v in names.values() if v]


def _entry(row: sqlite3.Row) -> RunEntry:
    return RunEntry(
        row["seq"],
        row["run_id"],
        row["recorded"],
        row["started"] or "",
        row["verdict"] or "",
        row["accepted"],
        json.loads(row["manifest"]),
    )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def run_record(
    cases: Sequence[Any], gates: Sequence[Any], verdict: Any, manifest: Any, *, aggregates: Sequence[Any], usage: Sequence[Any]
) -> dict[str, Any]:
    """What the history keeps of a run: plain JSON values."""
    from llmeval.gate.rows import summarize_cases

    gate_rows = []
    for g in gates:
        low, high = g.interval if g.interval else (None, None)
        gate_rows.append(
            {
                "suite": g.suite,
                "model": g.label,
                "gate": g.gate,
                "metric": g.metric,
                "stat": g.stat,
                "status": g.status,
                "value": g.value,
                "low": low,
                "high": high,
                "bound": g.bound,
                "threshold": g.threshold,
            }
        )
    return {
        "run_id": manifest.run_id if manifest is not None else verdict.run_id,
        "verdict": verdict.status,
        "manifest": manifest.to_json() if manifest is not None else {"run_id": verdict.run_id},
        "cases": summarize_cases(r.row() for r in cases),
        "aggregates": [a.to_json() for a in aggregates],
        "gates": gate_rows,
        "usage": [u.to_json() for u in usage],
    }
