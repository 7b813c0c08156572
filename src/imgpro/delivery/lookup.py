"""The CDN's one database read per request, made cheap.

Every CDN request needs the image's row (it may have been deleted, expired or made private a
moment ago, on any process), so rows are never cached here. What is cut is ceremony: the
app's ``Database.read()`` opens a transaction (``BEGIN`` … ``COMMIT``) around each read, and on
SQLite every step of that is a hop to aiosqlite's thread — ~1 ms of CPU for one indexed
SELECT, more than the rest of a cached response together (measured; docs/transforms.md).

- SQLite (the embedded default): the same SELECT, compiled once by SQLAlchemy (with its own
  bind and result processors for every column type), executed on a read-only ``sqlite3``
  connection. A lone SELECT needs no transaction; in WAL mode it sees the latest committed
  state. It runs right on the event loop: one unique-index probe is a few microseconds, less
  than handing it to a thread (~50-200 us, measured). It can never wait there: its connection
  has ``busy_timeout=0``, and if SQLite ever answers "busy"/"locked" (a checkpoint or recovery
  in progress) the read is retried through a SQLAlchemy engine on a worker thread that waits.
- PostgreSQL through asyncpg (the scale-out default): the same compiled SELECT on a small
  asyncpg pool of the lookup's own. Through the app's async engine one read cost ~360 us of CPU
  (greenlet hand-offs, SQLAlchemy's pool, and its pre-ping: a second round trip); raw asyncpg
  with its cached prepared statement costs ~40 us (measured). Any error on that path (a
  restarted server, a dropped connection) retries the read once through the app's engine.
- Anything else: the app's async engine, one statement without an explicit transaction.

The row carries the image's workspace delivery policy too (``signed_transforms``,
``signing_secret``: a LEFT JOIN on ``transform_settings`` by its primary key), so enforcing
signed transforms costs no second read. Like the image, the policy is never cached: turning
signing on, or rotating the secret, applies to the very next request on every process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa

from imgpro.db.engine import Database
from imgpro.db.tables import images, transform_settings
from imgpro.images import repository as repo

# Only the columns delivery and the viewer need: no JSON columns to decode on the hot path.
# The last two are NULL when the workspace never saved settings (signing off).
COLUMNS = (
    images.c.id,
    images.c.prefix,
    images.c.format,
    images.c.source_format,
    images.c.width,
    images.c.height,
    images.c.frames,
    images.c.bytes,
    images.c.sha256,
    images.c.blob_key,
    images.c.transformable,
    images.c.public,
    images.c.workspace_id,  # a watermark must be of the same workspace
    transform_settings.c.signed_transforms,
    transform_settings.c.signing_secret,
)


# Built once from the images repository's rule (``repo.by_link``: what a CDN URL may read),
# never written again here; executing the same statement object hits SQLAlchemy's
# compiled-SQL cache, and the raw paths below run its compiled text. The workspace's delivery
# policy (signed transforms) comes in the same row through the LEFT JOIN.
_LIVE_BY_ID = (
    sa.select(*COLUMNS)
    .select_from(
        images.outerjoin(
            transform_settings, transform_settings.c.workspace_id == images.c.workspace_id
        )
    )
    .where(
        images.c.id == sa.bindparam("image_id"),
        repo.by_link(sa.bindparam("now", type_=images.c.expires_at.type)),
    )
)


log = logging.getLogger("imgpro.delivery")

DeliveryRow = namedtuple("DeliveryRow", [c.name for c in COLUMNS])  # type: ignore[misc]
# Connections of the raw PostgreSQL path, per process: a read holds one for ~70 us.
PG_CONNECTIONS = 4


class _Compiled:
    """``_LIVE_BY_ID`` compiled for one dialect, with SQLAlchemy's own bind and result
    processing, so the raw paths return exactly what the engine would (tested)."""

    def __init__(self, dialect: sa.Dialect) -> None:
        compiled = _LIVE_BY_ID.compile(dialect=dialect)
        assert list(compiled.positiontup or []) == ["image_id", "now"], compiled.positiontup
        self.sql = str(compiled)
        self.bind_now: Callable[[Any], Any] = images.c.expires_at.type.bind_processor(dialect) or (
            lambda v: v
        )
        self.results = [c.type.result_processor(dialect, None) for c in COLUMNS]

    def row(self, raw: Any) -> DeliveryRow | None:
        if raw is None:
            return None
        return DeliveryRow(*(p(v) if p else v for p, v in zip(self.results, raw, strict=True)))


class _RawSqliteReader:
    """``_LIVE_BY_ID`` on one raw read-only connection that never waits for a lock."""

    def __init__(self, path: str, dialect: sa.Dialect) -> None:
        self.compiled = _Compiled(dialect)
        self.conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA query_only=ON")
        self.conn.execute("PRAGMA busy_timeout=0")
        weakref.finalize(self, self.conn.close)

    def read(self, image_id: str, now: dt.datetime) -> DeliveryRow | None:
        c = self.compiled
        return c.row(self.conn.execute(c.sql, (image_id, c.bind_now(now))).fetchone())


class _RawAsyncpgReader:
    """``_LIVE_BY_ID`` on a small asyncpg pool, made on first use (a pool belongs to the
    running event loop)."""

    def __init__(self, url: str, dialect: sa.Dialect) -> None:
        self.compiled = _Compiled(dialect)
        _, connect_args = dialect.create_connect_args(sa.engine.make_url(url))
        for sqlalchemy_only in (
            "prepared_statement_cache_size",
            "prepared_statement_name_func",
            "async_creator_fn",
        ):
            connect_args.pop(sqlalchemy_only, None)
        self.connect_args = connect_args
        self._pool: asyncio.Task[Any] | None = None

    async def read(self, image_id: str, now: dt.datetime) -> DeliveryRow | None:
        if self._pool is None:
            self._pool = asyncio.get_running_loop().create_task(self._connect())
        try:
            pool = await asyncio.shield(self._pool)
        except Exception:
            self._pool = None  # try again on a later request
            raise
        c = self.compiled
        return c.row(await pool.fetchrow(c.sql, image_id, c.bind_now(now)))

    async def _connect(self) -> Any:
        return await asyncpg.create_pool(min_size=1, max_size=PG_CONNECTIONS, **self.connect_args)

    async def close(self) -> None:
        task, self._pool = self._pool, None
        if task is not None:
            try:
                pool = await task
            except Exception:
                return
            await pool.close()


def _sqlite_reader(url: str, *, busy_ms: int) -> sa.Engine:
    sync_url = sa.engine.make_url(url).set(drivername="sqlite")
    engine = sa.create_engine(
        sync_url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")  # these connections can never write
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    return engine


class DeliveryLookup:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._fast: _RawSqliteReader | None = None  # on the loop, never waits
        self._patient: sa.Engine | None = None  # on a thread, may wait for a lock
        self._asyncpg: _RawAsyncpgReader | None = None
        url = sa.engine.make_url(db.url)
        database = url.database if db.is_sqlite else None
        if database and database != ":memory:":  # a file other connections can open
            self._patient = _sqlite_reader(db.url, busy_ms=30_000)
            weakref.finalize(self, self._patient.dispose)
            self._fast = _RawSqliteReader(database, self._patient.dialect)
        elif url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            self._asyncpg = _RawAsyncpgReader(db.url, db.engine.dialect)

    @staticmethod
    def _read(engine: sa.Engine, image_id: str, now: dt.datetime) -> Any:
        with engine.connect() as conn:
            return conn.execute(_LIVE_BY_ID, {"image_id": image_id, "now": now}).first()

    async def get(self, image_id: str, now: dt.datetime) -> Any:
        """The live image with this id (columns :data:`COLUMNS`), or None when it is missing,
        deleted, expired or blocked."""
        if self._fast is not None and self._patient is not None:
            try:
                return self._fast.read(image_id, now)
            except sqlite3.OperationalError:  # busy or locked: wait for it off the loop
                return await asyncio.to_thread(self._read, self._patient, image_id, now)
        if self._asyncpg is not None:
            try:
                return await self._asyncpg.read(image_id, now)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning(
                    "raw PostgreSQL read failed; retrying through the engine", exc_info=True
                )
        async with self.db.engine.connect() as conn:
            return (await conn.execute(_LIVE_BY_ID, {"image_id": image_id, "now": now})).first()

    async def close(self) -> None:
        if self._asyncpg is not None:
            await self._asyncpg.close()
