"""The CDN's row lookup: exact (no caching), never stuck behind a SQLite lock, and on
PostgreSQL a raw asyncpg read that falls back to the engine."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest

import imagegen
from imgpro.db.tables import images
from imgpro.delivery.lookup import DeliveryLookup

from .support import new_image, owner


@pytest.fixture
async def lookup(services) -> AsyncIterator[DeliveryLookup]:
    found = DeliveryLookup(services.db)
    yield found
    await found.close()


async def test_lookup_sees_changes_at_once(client, services, clock, lookup):
    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(32, 24), headers=headers)
    row = await lookup.get(image["id"], clock.now())
    assert (row.id, row.public, row.width) == (image["id"], True, 32)
    await client.patch(f"/v1/images/{image['id']}", headers=headers, json={"public": False})
    assert (await lookup.get(image["id"], clock.now())).public is False
    await client.delete(f"/v1/images/{image['id']}", headers=headers)
    assert await lookup.get(image["id"], clock.now()) is None
    assert await lookup.get("zz99zz99", clock.now()) is None


async def test_an_open_write_transaction_does_not_block_reads(client, services, clock, lookup):
    image = await new_image(client, imagegen.jpeg(32, 24))
    async with services.db.write() as conn:  # holds SQLite's write lock until the end
        await conn.execute(
            images.update().where(images.c.id == image["id"]).values(caption="pending")
        )
        row = await lookup.get(image["id"], clock.now())
        assert row is not None and row.id == image["id"]


async def test_busy_sqlite_falls_back_to_a_thread(client, services, clock, monkeypatch, lookup):
    if not services.db.is_sqlite:
        pytest.skip("SQLite only")
    image = await new_image(client, imagegen.jpeg(32, 24))
    fast = await lookup.get(image["id"], clock.now())
    calls = []

    def busy(image_id, now):
        calls.append(image_id)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(lookup._fast, "read", busy)
    slow = await lookup.get(image["id"], clock.now())
    assert calls == [image["id"]]
    # Both paths give the same row: the raw reader applies SQLAlchemy's own type processing.
    assert tuple(fast) == tuple(slow) and fast.public is True and slow.transformable is True


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.InterfaceError("pool is closed"),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        ConnectionResetError("reset"),
    ],
)
async def test_a_failed_raw_postgres_read_falls_back_to_the_engine(
    client, services, clock, monkeypatch, lookup, failure
):
    if services.db.is_sqlite:
        pytest.skip("PostgreSQL only")
    image = await new_image(client, imagegen.jpeg(32, 24))
    fast = await lookup.get(image["id"], clock.now())
    assert lookup._asyncpg is not None and lookup._asyncpg._pool is not None  # raw path taken

    async def broken(image_id, now):
        raise failure

    monkeypatch.setattr(lookup._asyncpg, "read", broken)
    slow = await lookup.get(image["id"], clock.now())
    # Both paths give the same row: the raw reader applies SQLAlchemy's own type processing.
    assert tuple(fast) == tuple(slow) and fast.public is True and slow.transformable is True


async def test_the_row_brings_the_workspace_signing_policy(client, services, clock, lookup):
    """One read: the LEFT JOIN on transform_settings, the same on the raw and engine paths."""
    from imgpro.delivery.lookup import _LIVE_BY_ID

    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(32, 24), headers=headers)
    row = await lookup.get(image["id"], clock.now())
    assert not row.signed_transforms and row.signing_secret is None  # never saved: NULLs
    secret = (
        await client.patch("/v1/settings", json={"signed_transforms": True}, headers=headers)
    ).json()["signing_secret"]
    row = await lookup.get(image["id"], clock.now())
    assert row.signed_transforms is True and row.signing_secret == secret
    assert row.workspace_id
    async with services.db.engine.connect() as conn:
        by_engine = (
            await conn.execute(_LIVE_BY_ID, {"image_id": image["id"], "now": clock.now()})
        ).first()
    assert tuple(by_engine) == tuple(row)
    await client.patch("/v1/settings", json={"signed_transforms": False}, headers=headers)
    assert (await lookup.get(image["id"], clock.now())).signed_transforms is False
