"""The variant storage budget: which variants are stored, how big, how recently used.

Rendered variants used to count against nothing and stay until their image was deleted: three
GETs of ``?w=7000&h=7000&fit=contain`` on a 2 MB noise PNG stored 425 MB (issue 12). Now every
stored variant has a row (``variants``: key, image, bytes, last use), and the blob store keeps
at most ``max_bytes`` of them in all and ``max_bytes_per_image`` / ``max_per_image`` per image,
evicting the least recently used.

Why rows in the database rather than something each blob store keeps (file times, object
metadata): it works the same on every backend with no new store methods (the S3 store included),
it is exact across processes and hosts, and the host total is one row (``variant_totals``) kept
by the same statements that insert and delete variant rows — never a scan of the store.

The costs stay where they are cheap:
- a render (tens of ms to seconds) writes one short transaction after storing its variant;
- a hit writes nothing: it notes the key in a set (~100 ns), and each process writes the set
  as one batched ``UPDATE`` every ``touch_seconds``. Recency is thus coarse (30 s by default),
  which is all LRU eviction of a disk cache needs;
- eviction claims its victims with ``DELETE … RETURNING`` (so two processes never free the same
  bytes twice) and deletes their blobs after the commit. A reader that opened an evicted file
  still sends it; the next request re-renders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.db.tables import variant_totals, variants
from imgpro.settings import VariantSettings
from imgpro.storage import BlobStore

log = logging.getLogger("imgpro.variants")
EVICT_BATCH = 100
MAX_TOUCHED = 20_000  # keys noted before a batch is written early (bounds memory)
HOST_LOW_WATER = 0.9  # evict down to 90 % of the budget, not on every render once full


@dataclass
class Evicted:
    keys: list[str]
    bytes: int


class VariantBudget:
    def __init__(
        self, db: Database, blobs: BlobStore, settings: VariantSettings, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.clock = clock or Clock()
        self.blobs = blobs
        self.settings = settings
        self._touched: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.evicted = 0  # variants this process evicted (tests, metrics)

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    # -- hits -----------------------------------------------------------------------------
    def touch(self, key: str) -> None:
        """A hit: remembered here, written with the next batch (never a write per hit)."""
        self._touched.add(key)
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(self.settings.touch_seconds, self._start_flush)
        elif len(self._touched) >= MAX_TOUCHED:  # a sweep over many variants: write early
            self._flush.cancel()
            self._start_flush()

    def _start_flush(self) -> None:
        self._flush = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self.flush_touches())

    async def close(self) -> None:
        """Write what is noted (at shutdown)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._flushing is not None:
            await asyncio.wait([self._flushing])
        await self.flush_touches()

    async def flush_touches(self) -> None:
        keys, self._touched = sorted(self._touched), set()
        if not keys:
            return
        now = self._now()
        try:
            async with self.db.write() as conn:
                for i in range(0, len(keys), 500):
                    await conn.execute(
                        sa.update(variants)
                        .where(variants.c.key.in_(keys[i : i + 500]))
                        .values(last_used=now)
                    )
        except Exception:  # recency is advisory: losing one batch only makes LRU coarser
            log.exception("could not record the recency of %d variants", len(keys))

    # -- renders --------------------------------------------------------------------------
    async def record(self, key: str, image_id: str, size: int) -> None:
        """A variant was stored: count it, then keep the image and the host within budget."""
        now = self._now()
        evicted: list[str] = []
        async with self.db.write() as conn:
            inserted = await conn.execute(_insert_new(self.db, key, image_id, size, now))
            if inserted.rowcount:
                await _add_totals(conn, size, 1)
            else:  # stored again (evicted meanwhile, or raced): same bytes, fresher use
                await conn.execute(
                    sa.update(variants).where(variants.c.key == key).values(last_used=now)
                )
            evicted += (await self._trim_image(conn, image_id)).keys
            evicted += (await self._trim_host(conn)).keys
        await self._delete_blobs(evicted)

    async def _trim_image(self, conn: Any, image_id: str) -> Evicted:
        s = self.settings
        if not s.max_bytes_per_image and not s.max_per_image:
            return Evicted([], 0)
        rows = (
            await conn.execute(
                sa.select(variants.c.key, variants.c.bytes)
                .where(variants.c.image_id == image_id)
                .order_by(variants.c.last_used.desc(), variants.c.key)
            )
        ).all()
        keep_bytes, keep, doomed = 0, 0, []
        for row in rows:  # newest first: keep while within both limits
            fits = (not s.max_per_image or keep < s.max_per_image) and (
                not s.max_bytes_per_image or keep_bytes + row.bytes <= s.max_bytes_per_image
            )
            if fits:
                keep, keep_bytes = keep + 1, keep_bytes + row.bytes
            else:
                doomed.append(row.key)
        return await _claim(conn, variants.c.key.in_(doomed)) if doomed else Evicted([], 0)

    async def _trim_host(self, conn: Any) -> Evicted:
        budget = self.settings.max_bytes
        if not budget:
            return Evicted([], 0)
        total = (
            await conn.execute(sa.select(variant_totals.c.bytes).where(variant_totals.c.id == 1))
        ).scalar() or 0
        if total <= budget:
            return Evicted([], 0)
        out = Evicted([], 0)
        target = int(budget * HOST_LOW_WATER)
        while total > target:
            oldest = (
                await conn.execute(
                    sa.select(variants.c.key, variants.c.bytes)
                    .order_by(variants.c.last_used, variants.c.key)
                    .limit(EVICT_BATCH)
                )
            ).all()
            doomed, freeing = [], 0
            for row in oldest:  # just enough of the oldest to get under the low-water mark
                if total - freeing <= target:
                    break
                doomed.append(row.key)
                freeing += int(row.bytes)
            if not doomed:
                break
            batch = await _claim(conn, variants.c.key.in_(doomed))
            out.keys += batch.keys
            total -= batch.bytes
        return out

    async def _delete_blobs(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                await self.blobs.delete(key)
            except Exception:  # the row is gone: gc's orphan sweep cannot see it, log it
                log.exception("could not delete evicted variant %s", key)
        self.evicted += len(keys)

    async def forget(self, key: str) -> None:
        """A stored variant was removed again (its image was deleted meanwhile)."""
        async with self.db.write() as conn:
            await _claim(conn, variants.c.key == key)

    async def adopt(self, key: str, image_id: str, size: int) -> bool:
        """Count a variant stored before the budget existed (``imgpro gc``); True if new."""
        async with self.db.write() as conn:
            inserted = await conn.execute(_insert_new(self.db, key, image_id, size, self._now()))
            if inserted.rowcount:
                await _add_totals(conn, size, 1)
            return bool(inserted.rowcount)

    async def tracked_keys(self) -> set[str]:
        return {r.key for r in await self.db.fetch(sa.select(variants.c.key))}

    async def usage(self) -> tuple[int, int]:
        """(bytes, count) of the variants stored."""
        row = await self.db.fetch_first(
            sa.select(variant_totals.c.bytes, variant_totals.c.count).where(
                variant_totals.c.id == 1
            )
        )
        # ``row.count`` would be the tuple method, not the column: read it by name.
        return (int(row.bytes), int(row._mapping["count"])) if row is not None else (0, 0)


async def forget_images(conn: Any, image_ids: Sequence[str]) -> None:
    """The images are gone (their variants' blobs go by prefix): drop their rows, in the
    transaction that deletes the images."""
    if image_ids:
        await _claim(conn, variants.c.image_id.in_(list(image_ids)))


def _insert_new(db: Database, key: str, image_id: str, size: int, now: int) -> Any:
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    return (
        insert(variants)
        .values(key=key, image_id=image_id, bytes=size, last_used=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def _add_totals(conn: Any, size: int, count: int) -> None:
    updated = await conn.execute(
        sa.update(variant_totals)
        .where(variant_totals.c.id == 1)
        .values(bytes=variant_totals.c.bytes + size, count=variant_totals.c.count + count)
    )
    if not updated.rowcount:  # the migration seeds the row; a database emptied by hand lacks it
        await conn.execute(variant_totals.insert().values(id=1, bytes=size, count=count))


async def _claim(conn: Any, where: Any) -> Evicted:
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
