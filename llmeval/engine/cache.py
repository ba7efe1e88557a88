"""Persistent generation cache: SQLite in WAL mode, one row per (backend identity, request) key.

The same file holds the score cache's table (`scores`, read and written by llmeval.engine.score_cache): one
row per (scorer signature, inputs) digest, with the raw value, explanation and metadata, masked like outputs.

Format 2 (`PRAGMA user_version`): texts are stored with the run's secrets masked (the plan masks them before
`put`). A cache of an older format may hold API keys in full, so its entries are deleted on first open, with
SQLite's secure delete (freed pages zeroed) and the write-ahead log truncated: no key stays on disk.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmeval.backends.base import Generation

if TYPE_CHECKING:
    import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    created REAL NOT NULL
)
"""
SCORES_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    scorer TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
)
"""
MODES = ("on", "off", "refresh")
FORMAT = 2  # 1 (user_version 0): texts stored as generated, API keys included


class Cache:
    """Reads hits (mode on), writes every finished generation at once (on, refresh); off does neither.

    Each put is its own committed transaction, so a run killed mid-generation keeps what finished.
    Errors are never cached. Safe for several processes (pytest-xdist workers) at once.
    """

    def __init__(self, directory: Path, mode: str = "on", notify: Callable[[str], None] = lambda line: None) -> None:
        if mode not in MODES:
            raise ValueError(f"cache mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.directory = directory
        self.path = directory / "cache.sqlite"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._notify = notify

    @property
    def _db(self) -> sqlite3.Connection | None:
        """Opened on first use: a pytest run without suites never creates the cache folder."""
        if self._conn is None and self.mode != "off":
            self.directory.mkdir(parents=True, exist_ok=True)
            self._conn = _open(self.path)
            purged = _upgrade(self._conn)
            if purged:
                self._notify(
                    f"llmeval: {self.path}: deleted {purged} cached outputs written by an older llmeval "
                    f"that stored API keys unmasked (they are generated again)"
                )
        return self._conn

    def get_many(self, keys: list[str]) -> dict[str, Generation]:
        if self._db is None or self.mode != "on" or not keys:
            return {}
        found: dict[str, Generation] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, text, prompt_tokens, completion_tokens, latency_s FROM generations WHERE key IN ({marks})",
                    chunk,
                )
                for key, text, pt, ct, lat in rows:
                    found[key] = Generation(text, pt, ct, lat, cached=True)
        return found

    def put(self, key: str, backend: str, request: dict[str, object], gen: Generation) -> None:
        if self._db is None or gen.error is not None:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    backend,
                    json.dumps(request, sort_keys=True),
                    gen.text,
                    gen.prompt_tokens,
                    gen.completion_tokens,
                    gen.latency_s,
                    time.time(),
                ),
            )

    def get_scores(self, keys: list[str]) -> dict[str, str]:
        """Cached score results (JSON text) by key; {} unless the mode reads (on)."""
        if self._db is None or self.mode != "on" or not keys:
            return {}
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = self._db.execute(f"SELECT key, result FROM scores WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                found.update(rows)
        return found

    def put_scores(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """(key, scorer name, result JSON) rows, in one transaction (on, refresh)."""
        if self._db is None or not rows:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?)", [(*r, now) for r in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def stats(self) -> dict[str, int]:
        if self._db is None:
            return {"entries": 0, "scores": 0}
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM generations").fetchone()
            (scores,) = self._db.execute("SELECT COUNT(*) FROM scores").fetchone()
        return {"entries": int(count), "scores": int(scores)}

    def clear(self) -> int:
        """Delete every cached output and score; how many outputs."""
        if self._db is None:
            return 0
        with self._lock:
            self._db.execute("DELETE FROM scores")
            return self._db.execute("DELETE FROM generations").rowcount

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def key_extra(files: Sequence[str], version: str | None) -> str:
    """What a suite adds to its cache keys: a digest of its cache_key_files' contents and its cache_version.

    "" when it sets neither, so keys (and caches) of suites without them are unchanged.
    """
    if not files and version is None:
        return ""
    digest = hashlib.sha256(json.dumps({"version": version}).encode())
    for name in files:
        path = Path(name)
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    return digest.hexdigest()


def _upgrade(conn: sqlite3.Connection) -> int:
    """Bring the cache to FORMAT: an older one's entries are deleted for good (zeroed, WAL truncated); how many."""
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("BEGIN IMMEDIATE")  # one process upgrades; the others then see the new format
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        purged = conn.execute("DELETE FROM generations").rowcount if version < FORMAT else 0
        if version < FORMAT:
            conn.execute("DELETE FROM scores")
        if version < FORMAT:
            conn.execute(f"PRAGMA user_version = {FORMAT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if purged:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(purged)


def _open(path: Path, attempts: int = 12) -> sqlite3.Connection:
    """Connect, switch to WAL and create the table. Several processes opening a new file at once can get
    SQLITE_BUSY without sqlite's busy wait (the journal-mode switch), so that step is retried with backoff."""
    import sqlite3

    for attempt in range(attempts):
        conn = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(SCHEMA)
            conn.execute(SCORES_SCHEMA)
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    raise AssertionError("unreachable")
