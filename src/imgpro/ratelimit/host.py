"""Host-wide rate-limit counters without Redis: one small SQLite file in the data directory.

``imgpro serve`` runs several processes by default. Counters kept in each process's memory let
an address through once per process (two processes: ~37 anonymous uploads an hour instead of
20). Every process of one host opens the same file instead, and each acquisition is one
``BEGIN IMMEDIATE`` transaction (count the window, insert if it fits), which SQLite serialises
across processes: N+k simultaneous requests with N slots left admit exactly N.

Why a file of its own and not the metadata database: it works the same whichever engine holds
the metadata (with PostgreSQL and no Redis the limits are still exact per host), it never
competes with upload transactions for SQLite's single writer, and losing it loses only
rate-limit history. Why SQLite: it is in the standard library and its locking is exactly the
cross-process mutual exclusion this needs. Scaling out past one host is Redis's job
(``IMGPRO_REDIS_URL``).

The calls are short (an index probe and an insert) but synchronous, so they run on a worker
thread, one at a time per process (one connection, one lock); other processes wait on SQLite's
lock with a busy timeout.

Timestamps come from the app's clock (``now``), as with the other storages in ``ratelimit.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from limits.aio.storage import MovingWindowSupport, Storage

T = TypeVar("T")

_SCHEMA = (
    # One row per acquired entry of a moving window; a key holds at most `limit` live rows.
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at)",
    "CREATE INDEX IF NOT EXISTS hits_expires ON hits (expires)",
    # Fixed-window counters (the library's other strategies; imgpro uses the moving window).
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, "
    "expires REAL NOT NULL)",
)


class HostFileStorage(Storage, MovingWindowSupport):
    """A `limits` storage in one SQLite file shared by every process of the host."""

    STORAGE_SCHEME = None  # built directly by ratelimit.make_storage, never from a URI
    PRUNE_EVERY = 1024  # acquisitions between sweeps of every key's expired rows
    BUSY_TIMEOUT_S = 10.0

    def __init__(self, path: Path, now: Callable[[], float]) -> None:
        super().__init__()
        self.path = path
        self._now = now
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._since_prune = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    # -- the connection ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self.BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            # WAL: readers never wait for the writer; NORMAL sync: a power cut may forget the
            # last hits, which only ever lets a few more requests through.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one IMMEDIATE transaction: the write lock is taken before the first
        read, so no other process can insert between our count and our insert."""
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return work(self._connect())

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    # -- moving window (what imgpro's limiter uses) ------------------------------------------
    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._now()

        def work(conn: sqlite3.Connection) -> bool:
            # Entries older than the window can never matter again for this key.
            conn.execute("DELETE FROM hits WHERE key = ? AND at < ?", (key, now - expiry))
            (inside,) = conn.execute("SELECT count(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if inside + amount > limit:
                return False
            conn.executemany(
                "INSERT INTO hits (key, at, expires) VALUES (?, ?, ?)",
                [(key, now, now + expiry)] * amount,
            )
            self._since_prune += 1
            if self._since_prune >= self.PRUNE_EVERY:  # addresses that never came back
                self._since_prune = 0
                conn.execute("DELETE FROM hits WHERE expires < ?", (now,))
                conn.execute("DELETE FROM counters WHERE expires < ?", (now,))
            return True

        return await self._run(self._write, work)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._now()

        def work(conn: sqlite3.Connection) -> tuple[float, int]:
            rows = conn.execute(
                "SELECT at FROM hits WHERE key = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                (key, now - expiry, limit),
            ).fetchall()
            if not rows:
                return now, 0
            return float(rows[-1][0]), len(rows)

        return await self._run(self._read, work)

    # -- fixed-window counters (the rest of the Storage interface) ---------------------------
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now()

        def work(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            conn.execute(
                "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            (value,) = conn.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()
            return int(value)

        return await self._run(self._write, work)

    async def get(self, key: str) -> int:
        now = self._now()

        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT value FROM counters WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._run(self._read, work)

    async def get_expiry(self, key: str) -> float:
        now = self._now()

        def work(conn: sqlite3.Connection) -> float:
            row = conn.execute(
                "SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            return float(row[0]) if row else now

        return await self._run(self._read, work)

    async def check(self) -> bool:
        try:
            await self._run(self._read, lambda conn: conn.execute("SELECT 1").fetchone())
        except sqlite3.Error:
            return False
        return True

    async def reset(self) -> int | None:
        def work(conn: sqlite3.Connection) -> int:
            removed = conn.execute("DELETE FROM hits").rowcount
            return int(removed + conn.execute("DELETE FROM counters").rowcount)

        return await self._run(self._write, work)

    async def clear(self, key: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM hits WHERE key = ?", (key,))
            conn.execute("DELETE FROM counters WHERE key = ?", (key,))

        await self._run(self._write, work)

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
