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
- Anything else (PostgreSQL): the app's async engine, one statement without an explicit
  transaction (saves the BEGIN and COMMIT round trips).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from imgpro.db.engine import Database
from imgpro.db.tables import images

# Only the columns delivery and the viewer need: no JSON columns to decode on the hot path.
COLUMNS = (images.c.id, images.c.prefix, images.c.format, images.c.source_format,
           images.c.width, images.c.height, images.c.frames, images.c.bytes, images.c.sha256,
           images.c.blob_key, images.c.transformable, images.c.public)


# Built once: executing the same statement object hits SQLAlchemy's compiled-SQL cache.
_LIVE_BY_ID = sa.select(*COLUMNS).where(
    images.c.id == sa.bindparam("image_id"),
    sa.or_(images.c.expires_at.is_(None),
           images.c.expires_at > sa.bindparam("now", type_=images.c.expires_at.type)))


DeliveryRow = namedtuple("DeliveryRow", [c.name for c in COLUMNS])  # type: ignore[misc]


class _RawSqliteReader:
    """``_LIVE_BY_ID`` on one raw read-only connection that never waits for a lock."""

    def __init__(self, path: str, dialect: sa.Dialect) -> None:
        compiled = _LIVE_BY_ID.compile(dialect=dialect)
        assert list(compiled.positiontup or []) == ["image_id", "now"], compiled.positiontup
        self.sql = str(compiled)
        self.bind_now: Callable[[Any], Any] = (
            images.c.expires_at.type.bind_processor(dialect) or (lambda v: v))
        self.results = [c.type.result_processor(dialect, None) for c in COLUMNS]
        self.conn = sqlite3.connect(path, timeout=0, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA query_only=ON")
        self.conn.execute("PRAGMA busy_timeout=0")
        weakref.finalize(self, self.conn.close)

    def read(self, image_id: str, now: dt.datetime) -> DeliveryRow | None:
        raw = self.conn.execute(self.sql, (image_id, self.bind_now(now))).fetchone()
        if raw is None:
            return None
        return DeliveryRow(*(p(v) if p else v for p, v in zip(self.results, raw, strict=True)))


def _sqlite_reader(url: str, *, busy_ms: int) -> sa.Engine:
    sync_url = sa.engine.make_url(url).set(drivername="sqlite")
    engine = sa.create_engine(sync_url, connect_args={"check_same_thread": False,
                                                      "timeout": busy_ms / 1000})

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
        database = sa.engine.make_url(db.url).database if db.is_sqlite else None
        if database and database != ":memory:":  # a file other connections can open
            self._patient = _sqlite_reader(db.url, busy_ms=30_000)
            weakref.finalize(self, self._patient.dispose)
            self._fast = _RawSqliteReader(database, self._patient.dialect)

    @staticmethod
    def _read(engine: sa.Engine, image_id: str, now: dt.datetime) -> Any:
        with engine.connect() as conn:
            return conn.execute(_LIVE_BY_ID, {"image_id": image_id, "now": now}).first()

    async def get(self, image_id: str, now: dt.datetime) -> Any:
        """The live image with this id (columns :data:`COLUMNS`), or None when it is missing,
        deleted or expired."""
        if self._fast is not None and self._patient is not None:
            try:
                return self._fast.read(image_id, now)
            except sqlite3.OperationalError:  # busy or locked: wait for it off the loop
                return await asyncio.to_thread(self._read, self._patient, image_id, now)
        async with self.db.engine.connect() as conn:
            return (await conn.execute(_LIVE_BY_ID, {"image_id": image_id, "now": now})).first()


def lookup_for(app_state: Any, db: Database) -> DeliveryLookup:
    """One per app, made on first use (the app's lifespan owns the async engine; this one
    closes its connections when the app goes away)."""
    found = getattr(app_state, "delivery_lookup", None)
    if found is None or found.db is not db:
        found = DeliveryLookup(db)
        app_state.delivery_lookup = found
    return found
