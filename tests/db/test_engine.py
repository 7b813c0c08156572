"""Database: the cheap single-statement reads, and how writers of one process take turns."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from imgpro.db.engine import Database
from imgpro.db.tables import workspaces

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
THE_ROW = sa.select(workspaces.c.id).where(workspaces.c.id == "ws_test")


def _insert(workspace_id: str = "ws_test") -> sa.Insert:
    return workspaces.insert().values(id=workspace_id, kind="account", prefix="abc", created_at=NOW)


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path, sqlite_template):
    path = tmp_path / "imgpro.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


async def test_single_reads_see_every_commit_and_nothing_uncommitted(db):
    assert await db.fetch(THE_ROW) == [] and await db.fetch_first(THE_ROW) is None
    async with db.write() as conn:
        await conn.execute(_insert())
        # Another connection's lone SELECT: not blocked by the open write, blind to it.
        assert await asyncio.wait_for(db.fetch(THE_ROW), 10) == []
    assert [r.id for r in await db.fetch(THE_ROW)] == ["ws_test"]
    row = await db.fetch_first(THE_ROW)
    assert row is not None and row.id == "ws_test"


async def test_sqlite_single_reads_cannot_write(sqlite_db):
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        await sqlite_db.fetch(sa.text("DELETE FROM workspaces"))


async def test_in_memory_sqlite_reads_through_the_async_engine():
    db = Database("sqlite+aiosqlite:///:memory:")
    try:
        assert [tuple(r) for r in await db.fetch(sa.select(sa.literal(7)))] == [(7,)]
    finally:
        await db.dispose()


async def test_sqlite_writers_of_one_process_take_turns_in_order(sqlite_db):
    """They queue on a lock, first come first served (not in SQLite's busy handler, which
    naps and lets a late writer overtake); every read-modify-write sees the last one."""
    db = sqlite_db
    async with db.write() as conn:
        await conn.execute(_insert())
    entered: list[int] = []

    async def writer(n: int) -> None:
        async with db.write() as conn:
            entered.append(n)
            used = await conn.scalar(
                sa.select(workspaces.c.uploads_used).where(workspaces.c.id == "ws_test")
            )
            await asyncio.sleep(0)  # let the others try to get in
            await conn.execute(
                workspaces.update()
                .where(workspaces.c.id == "ws_test")
                .values(uploads_used=used + 1)
            )

    await asyncio.gather(*(writer(n) for n in range(12)))
    assert entered == list(range(12))
    assert (
        await db.fetch_first(
            sa.select(workspaces.c.uploads_used).where(workspaces.c.id == "ws_test")
        )
    ).uploads_used == 12


async def test_sqlite_writers_wait_no_longer_than_the_busy_timeout(sqlite_db, monkeypatch):
    from imgpro.db import engine as engine_module

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_SECONDS", 0.2)
    async with sqlite_db.write():
        with pytest.raises(TimeoutError, match="write lock"):
            async with sqlite_db.write():
                pass  # pragma: no cover
    async with sqlite_db.write() as conn:  # the lock was given back
        await conn.execute(_insert())


def test_the_write_lock_follows_the_event_loop(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")

    async def locks() -> tuple[asyncio.Lock, asyncio.Lock]:
        return db._sqlite_write_lock(), db._sqlite_write_lock()

    first, again = asyncio.run(locks())
    assert first is again
    other, _ = asyncio.run(locks())  # a CLI command may run several loops in turn
    assert other is not first
    asyncio.run(db.dispose())


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(sqlite_db):
    """The SQLite pool's reset skips the ROLLBACK only when no transaction is open."""
    db = sqlite_db
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("BEGIN")  # behind SQLAlchemy's back
        await raw.execute(
            "INSERT INTO workspaces (id, kind, prefix, created_at) "
            "VALUES ('ws_test', 'account', 'abc', '2026-11-15 12:00:00')"
        )
    assert await db.fetch(THE_ROW) == []
    async with db.write() as conn:  # the same pooled connection, not stuck in a transaction
        await conn.execute(_insert())
    assert len(await db.fetch(THE_ROW)) == 1


@pytest.mark.parametrize("ping_after", [10.0, 0.0])
async def test_postgres_replaces_connections_the_server_closed(
    postgres_url, monkeypatch, ping_after
):
    """No ping per checkout (it was three round trips): a connection the server closed is
    known closed to asyncpg, one idle too long is pinged; either way the read succeeds."""
    import asyncpg

    from imgpro.db import engine as engine_module

    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", ping_after)
    db = Database(postgres_url)
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for _ in range(2):
            assert [tuple(r) for r in await db.fetch(sa.select(sa.literal(1)))] == [(1,)]
            async with db.read() as conn:
                assert await conn.scalar(sa.select(sa.literal(2))) == 2
            killed = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert killed and all(r[0] for r in killed)
            await asyncio.sleep(0.2)  # the server's goodbye reaches asyncpg's protocol
    finally:
        await admin.close()
        await db.dispose()
