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

This module is the budget's rules; its statements are in ``variants_repository.py``, run in the
transactions opened here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.settings import VariantSettings
from imgpro.storage import BlobStore
from imgpro.transforms import variants_repository as repo
from imgpro.transforms.variants_repository import Evicted

log = logging.getLogger("imgpro.variants")
EVICT_BATCH = 100
MAX_TOUCHED = 20_000  # keys noted before a batch is written early (bounds memory)
HOST_LOW_WATER = 0.9  # evict down to 90 % of the budget, not on every render once full


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
                await repo.mark_used(conn, keys, now)
        except Exception:  # recency is advisory: losing one batch only makes LRU coarser
            log.exception("could not record the recency of %d variants", len(keys))

    # -- renders --------------------------------------------------------------------------
    async def record(self, key: str, image_id: str, size: int) -> None:
        """A variant was stored: count it, then keep the image and the host within budget."""
        now = self._now()
        evicted: list[str] = []
        async with self.db.write() as conn:
            if not await repo.add(conn, key, image_id, size, now):
                # Stored again (evicted meanwhile, or raced): same bytes, fresher use.
                await repo.refresh(conn, key, now)
            evicted += (await self._trim_image(conn, image_id)).keys
            evicted += (await self._trim_host(conn)).keys
        await self._delete_blobs(evicted)

    async def _trim_image(self, conn: Any, image_id: str) -> Evicted:
        s = self.settings
        if not s.max_bytes_per_image and not s.max_per_image:
            return Evicted([], 0)
        rows = await repo.by_recency_of(conn, image_id)
        keep_bytes, keep, doomed = 0, 0, []
        for row in rows:  # newest first: keep while within both limits
            fits = (not s.max_per_image or keep < s.max_per_image) and (
                not s.max_bytes_per_image or keep_bytes + row.bytes <= s.max_bytes_per_image
            )
            if fits:
                keep, keep_bytes = keep + 1, keep_bytes + row.bytes
            else:
                doomed.append(row.key)
        return await repo.claim_keys(conn, doomed) if doomed else Evicted([], 0)

    async def _trim_host(self, conn: Any) -> Evicted:
        budget = self.settings.max_bytes
        if not budget:
            return Evicted([], 0)
        total = await repo.stored_bytes(conn)
        if total <= budget:
            return Evicted([], 0)
        out = Evicted([], 0)
        target = int(budget * HOST_LOW_WATER)
        while total > target:
            oldest = await repo.least_recent(conn, EVICT_BATCH)
            doomed, freeing = [], 0
            for row in oldest:  # just enough of the oldest to get under the low-water mark
                if total - freeing <= target:
                    break
                doomed.append(row.key)
                freeing += int(row.bytes)
            if not doomed:
                break
            batch = await repo.claim_keys(conn, doomed)
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
            await repo.claim_key(conn, key)

    async def adopt(self, key: str, image_id: str, size: int) -> bool:
        """Count a variant stored before the budget existed (``imgpro gc``); True if new."""
        async with self.db.write() as conn:
            return await repo.add(conn, key, image_id, size, self._now())

    async def tracked_keys(self) -> set[str]:
        return await repo.all_keys(self.db)

    async def usage(self) -> tuple[int, int]:
        """(bytes, count) of the variants stored."""
        return await repo.totals(self.db)
