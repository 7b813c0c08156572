"""Database engines: SQLite (WAL, embedded default) or PostgreSQL (asyncpg, scale-out).

:class:`Database` hands out connections in two flavours: ``read()`` for plain reads and
``write()`` for transactions that change rows. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so a read-then-write never fails half-way with "database is locked";
reads stay concurrent under WAL.

``fetch()`` / ``fetch_first()`` are the cheap path for a *single* SELECT (the API's hot reads):
one statement is atomic and sees the latest committed state on its own, so it needs no
``BEGIN`` … ``COMMIT`` around it. Use ``read()`` when several statements must see one
snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from imgpro.private_files import on_read_only_fs, sqlite_path

log = logging.getLogger("imgpro.db")
# After a failed bookkeeping write (Database.touch), how long to skip them.
TOUCH_PAUSE_SECONDS = 60.0


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# A pooled PostgreSQL connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0
# How long an SQLite writer (or reader, during a checkpoint) waits for the lock before failing.
SQLITE_BUSY_SECONDS = 30


def read_only_sqlite_url(url: str) -> str:
    """``url`` itself, or — for an SQLite file on a read-only mount — the same file opened
    ``immutable``: SQLite cannot otherwise open a WAL database it cannot write its ``-shm``
    beside, and a read-only store must keep serving reads (SPEC §6)."""
    path = sqlite_path(url)
    if path is None or not path.exists() or not on_read_only_fs(path.parent):
        return url
    log.warning("%s is on a read-only file system: serving reads only", path)
    return f"sqlite+aiosqlite:///file:{path}?mode=ro&immutable=1&uri=true"


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if not is_sqlite(url):
        return _postgres_engine(url, pool_size)
    # The pool's own reset (a ROLLBACK when a connection comes back) is done by _reset below.
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, pool_reset_on_return=None
    )

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        # We emit BEGIN ourselves (below), so the driver must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if "immutable=1" not in url:  # a read-only store keeps the journal mode it has
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Several processes may share one file: a writer waits for the lock instead of failing.
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("imgpro_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @sa.event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_conn: Any, _: Any, reset_state: Any) -> None:
        # SQLAlchemy's default reset (pool_reset_on_return="rollback") sends a ROLLBACK even
        # after a COMMIT, and on aiosqlite that is one more hop to the connection's thread per
        # transaction. Same rules as the default, but roll back only when a transaction is
        # really open (sqlite3's flag, read without a hop).
        if not reset_state.asyncio_safe or reset_state.transaction_was_reset:
            return
        if dbapi_conn.driver_connection.in_transaction:
            dbapi_conn.rollback()

    return engine


def _postgres_engine(url: str, pool_size: int) -> AsyncEngine:
    """Pooled asyncpg connections, checked cheaply on checkout.

    SQLAlchemy's ``pool_pre_ping`` pings on *every* checkout, and asyncpg's ping is three round
    trips (BEGIN, ``;``, ROLLBACK): ~0.15 ms of CPU and ~0.25 ms of latency on each read,
    measured — as much as the read itself. A connection the server closed (restart,
    ``pg_terminate_backend``, pgbouncer restart) is already known closed to asyncpg, which
    watches its socket, so that check costs nothing. Only a connection idle long enough to have
    been dropped silently (a NAT or firewall timeout) is pinged. Either way a dead connection
    is replaced before the request uses it (DisconnectionError makes the pool retry).
    """
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)

    @sa.event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_: Any, record: Any) -> None:
        record.info["imgpro_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _: Any) -> None:
        if dbapi_conn.driver_connection.is_closed():
            raise sa.exc.DisconnectionError("connection closed by the server")
        idle_since = record.info.get("imgpro_idle_since")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_conn.ping()
            except Exception as exc:
                raise sa.exc.DisconnectionError("ping failed") from exc

    return engine


class _SingleReads:
    """One SELECT, no transaction around it — measured per call (in process, 2 cores):

    - SQLite: ``read()`` costs ~0.5 ms of CPU for one indexed SELECT, because aiosqlite makes
      every step (BEGIN, cursor, execute, fetch, close, COMMIT, the pool's reset) a hop to its
      connection's thread. Here the whole SELECT runs in *one* hop, on a plain synchronous
      ``sqlite3`` connection (~0.1 ms). It is opened ``query_only``; with WAL a lone SELECT is
      its own read transaction and sees every commit made before it started, on any
      connection or process. It runs on a thread (never on the event loop) because a
      filtered list query has no upper bound on its cost and a reader may have to wait
      (``busy_timeout``) while a checkpoint or recovery holds the lock.
    - PostgreSQL: the pooled asyncpg connection in autocommit mode, so no ``BEGIN``/``COMMIT``
      round trips (~0.1 ms of CPU and ~0.2 ms of latency saved). One statement is one
      snapshot either way.
    - An in-memory SQLite database (other connections cannot see it): ``read()``.
    """

    THREADS = 4  # concurrent SQLite reads; each holds one connection of the sync pool

    def __init__(self, url: str, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sync: sa.Engine | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._sqlite_async = False  # SQLite that only the async engine's connections can see
        if is_sqlite(url):
            parsed = sa.engine.make_url(url)
            if not parsed.database or parsed.database == ":memory:" or parsed.query:
                self._sqlite_async = True  # in memory, or a URI form we do not second-guess
            else:
                self.sync = _sqlite_read_engine(
                    parsed.set(drivername="sqlite"), pool_size=self.THREADS
                )

    async def all(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        return await self._run(statement, first=False)

    async def first(self, statement: sa.Executable) -> sa.Row[Any] | None:
        return await self._run(statement, first=True)

    async def _run(self, statement: sa.Executable, *, first: bool) -> Any:
        if self.sync is not None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="imgpro-db")
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, _execute_sync, self.sync, statement, first
            )
        async with self.engine.connect() as conn:
            if self._sqlite_async:
                await conn.begin()  # our BEGIN listener runs; autocommit would not skip it
            else:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(statement)
            return result.first() if first else result.all()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None  # made again on next use, like the engines' pools
        if self.sync is not None:
            self.sync.dispose()


def _sqlite_read_engine(url: sa.URL, *, pool_size: int) -> sa.Engine:
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # never an implicit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")  # these connections can never write
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.close()

    return engine


def _execute_sync(engine: sa.Engine, statement: sa.Executable, first: bool) -> Any:
    with engine.connect() as conn:
        result = conn.execute(statement)
        return result.first() if first else result.all()


class Database:
    def __init__(self, url: str) -> None:
        url = read_only_sqlite_url(url)
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = is_sqlite(url)
        self._single = _SingleReads(url, self.engine)
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._touch_paused_until = 0.0

    async def touch(self, statement: sa.Executable) -> None:
        """A bookkeeping write on a read path (a key's ``last_used_at``, a session's
        ``last_seen_at``): best effort. On a full or read-only store it must never turn a
        read into an error, so a failure is logged and further touches pause for a minute
        (no failing write attempt on every request)."""
        if time.monotonic() < self._touch_paused_until:
            return
        try:
            async with self.write() as conn:
                await conn.execute(statement)
        except Exception as exc:
            self._touch_paused_until = time.monotonic() + TOUCH_PAUSE_SECONDS
            log.warning("bookkeeping write skipped (%s); reads go on", exc)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if not self.is_sqlite:
            async with self._write_connection() as conn:
                yield conn
            return
        # SQLite has one writer at a time. Left to SQLite, the writers of this process would
        # queue in BEGIN IMMEDIATE's busy handler, which sleeps and polls (up to 100 ms a
        # nap): at 8 concurrent uploads p95 was 5x p50. Queue them here instead, in order,
        # woken the moment the previous one commits; the busy handler is then only for
        # writers in other processes.
        lock = self._sqlite_write_lock()
        try:
            async with asyncio.timeout(SQLITE_BUSY_SECONDS):  # as long as the busy handler
                await lock.acquire()
        except TimeoutError:
            raise TimeoutError("waited too long for SQLite's write lock") from None
        try:
            async with self._write_connection() as conn:
                yield conn
        finally:
            lock.release()

    @asynccontextmanager
    async def _write_connection(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(imgpro_write=True)
            async with conn.begin():
                yield conn

    def _sqlite_write_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a CLI command may run several in turn.
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def fetch(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        """All rows of one SELECT, without a transaction around it."""
        return await self._single.all(statement)

    async def fetch_first(self, statement: sa.Executable) -> sa.Row[Any] | None:
        """The first row of one SELECT (or None), without a transaction around it."""
        return await self._single.first(statement)

    async def dispose(self) -> None:
        self._single.close()
        await self.engine.dispose()
