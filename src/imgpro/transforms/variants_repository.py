"""SQL for the variant storage budget: every statement on ``variants`` and ``variant_totals``.

The budget's rules (what to keep, what to evict, when recency is written) are in
``variants.py``; these functions run in the transaction it opens (``conn``). ``variant_totals``
is one row (id 1) kept by the same statements that insert and delete variant rows, so the host
total is never a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.engine import Database
from imgpro.db.tables import variant_totals, variants

# Keys per recency UPDATE: a batch holds up to tens of thousands of keys; 500 keeps each
# statement's IN list well inside every engine's bind-parameter limit (SQLite's was 999).
TOUCH_CHUNK = 500


@dataclass
class Evicted:
    keys: list[str]
    bytes: int


async def mark_used(conn: AsyncConnection, keys: Sequence[str], now: int) -> None:
    """A batch of hits: one UPDATE per :data:`TOUCH_CHUNK` keys."""
    for i in range(0, len(keys), TOUCH_CHUNK):
        await conn.execute(
            sa.update(variants)
            .where(variants.c.key.in_(keys[i : i + TOUCH_CHUNK]))
            .values(last_used=now)
        )


async def add(conn: AsyncConnection, key: str, image_id: str, size: int, now: int) -> bool:
    """Count a stored variant unless its row exists already: True if it was new."""
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    inserted = await conn.execute(
        insert(variants)
        .values(key=key, image_id=image_id, bytes=size, last_used=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if inserted.rowcount:
        await _add_totals(conn, size, 1)
    return bool(inserted.rowcount)


async def refresh(conn: AsyncConnection, key: str, now: int) -> None:
    """One variant stored again (same bytes): a fresher last use."""
    await conn.execute(sa.update(variants).where(variants.c.key == key).values(last_used=now))


async def by_recency_of(conn: AsyncConnection, image_id: str) -> Sequence[sa.Row[Any, Any]]:
    """(key, bytes) of an image's variants, most recently used first."""
    return (
        await conn.execute(
            sa.select(variants.c.key, variants.c.bytes)
            .where(variants.c.image_id == image_id)
            .order_by(variants.c.last_used.desc(), variants.c.key)
        )
    ).all()


async def stored_bytes(conn: AsyncConnection) -> int:
    """The bytes of every variant stored (the totals row; 0 without one)."""
    total = (
        await conn.execute(sa.select(variant_totals.c.bytes).where(variant_totals.c.id == 1))
    ).scalar()
    return int(total or 0)


async def least_recent(conn: AsyncConnection, limit: int) -> Sequence[sa.Row[Any, Any]]:
    """(key, bytes) of the ``limit`` least recently used variants, oldest first."""
    return (
        await conn.execute(
            sa.select(variants.c.key, variants.c.bytes)
            .order_by(variants.c.last_used, variants.c.key)
            .limit(limit)
        )
    ).all()


async def claim_keys(conn: AsyncConnection, keys: Sequence[str]) -> Evicted:
    return await _claim(conn, variants.c.key.in_(keys))


async def claim_key(conn: AsyncConnection, key: str) -> Evicted:
    return await _claim(conn, variants.c.key == key)


async def forget_images(conn: AsyncConnection, image_ids: Sequence[str]) -> None:
    """The images are gone (their variants' blobs go by prefix): drop their rows, in the
    transaction that deletes the images."""
    if image_ids:
        await _claim(conn, variants.c.image_id.in_(list(image_ids)))


async def all_keys(db: Database) -> set[str]:
    return {r.key for r in await db.fetch(sa.select(variants.c.key))}


async def totals(db: Database) -> tuple[int, int]:
    """(bytes, count) of the variants stored."""
    row = await db.fetch_first(
        sa.select(variant_totals.c.bytes, variant_totals.c.count).where(variant_totals.c.id == 1)
    )
    # ``row.count`` would be the tuple method, not the column: read it by name.
    return (int(row.bytes), int(row._mapping["count"])) if row is not None else (0, 0)


async def _add_totals(conn: AsyncConnection, size: int, count: int) -> None:
    updated = await conn.execute(
        sa.update(variant_totals)
        .where(variant_totals.c.id == 1)
        .values(bytes=variant_totals.c.bytes + size, count=variant_totals.c.count + count)
    )
    if not updated.rowcount:  # the migration seeds the row; a database emptied by hand lacks it
        await conn.execute(variant_totals.insert().values(id=1, bytes=size, count=count))


async def _claim(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> Evicted:
    """Delete the matching rows and take their bytes off the totals; the caller deletes blobs."""
    rows = (
        await conn.execute(
            sa.delete(variants).where(where).returning(variants.c.key, variants.c.bytes)
        )
    ).all()
    freed = sum(int(r.bytes) for r in rows)
    if rows:
        await _add_totals(conn, -freed, -len(rows))
    return Evicted([r.key for r in rows], freed)
