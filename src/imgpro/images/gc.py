"""Garbage collection: expired images, orphaned blobs, stale temp files, old idempotency keys.

Safe to run at any time and from several hosts: it only removes what no row points to, and an
orphan must be older than ``grace`` so an upload between "blob stored" and "row committed" is
never swept from under itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from imgpro.images import repository as repo
from imgpro.services import Services
from imgpro.storage import BlobStore
from imgpro.transforms.variants import VariantBudget


@dataclass
class GcReport:
    expired_images: int = 0
    orphan_originals: int = 0
    orphan_variants: int = 0
    adopted_variants: int = 0
    temp_files: int = 0
    idempotency_keys: int = 0

    def lines(self) -> list[str]:
        return [
            f"expired images removed: {self.expired_images}",
            f"orphan originals removed: {self.orphan_originals}",
            f"orphan variants removed: {self.orphan_variants}",
            f"untracked variants counted against the variant budget: {self.adopted_variants}",
            f"stale temp files removed: {self.temp_files}",
            f"expired idempotency keys and dead claims removed: {self.idempotency_keys}",
        ]


async def collect_garbage(
    services: Services, *, grace: dt.timedelta = dt.timedelta(hours=1)
) -> GcReport:
    report = GcReport()
    now = services.clock.now()
    db, blobs = services.db, services.blobs
    budget = VariantBudget(db, blobs, services.settings.variants, services.clock)

    while True:  # expired images, in batches
        async with db.write() as conn:
            rows = await repo.expired_rows(conn, now)
            await repo.delete_rows(conn, rows, now)
        await services.images.remove_blobs(rows)
        report.expired_images += len(rows)
        if len(rows) < 500:
            break

    async with db.read() as conn:
        live_keys = await repo.all_blob_keys(conn)
        live_ids = await repo.all_image_ids(conn)
    cutoff = time.time() - grace.total_seconds()
    async for key in blobs.iter_keys("originals/"):
        if key not in live_keys and await _blob_older_than(blobs, key, cutoff):
            # Re-check under a fresh read: the row may have been committed since the snapshot.
            async with db.read() as conn:
                if await repo.blob_key_in_use(conn, key):
                    continue
            await blobs.delete(key)
            report.orphan_originals += 1
    tracked = await budget.tracked_keys()
    async for key in blobs.iter_keys("variants/"):
        parts = key.split("/")
        if len(parts) >= 3 and parts[1] not in live_ids:
            async with db.read() as conn:
                if await repo.rows_by_ids(conn, [parts[1]]):
                    continue
            await blobs.delete(key)
            report.orphan_variants += 1
        elif len(parts) >= 3 and key not in tracked:
            # Stored before the variant budget existed (migration 0006): count it from now on.
            size = await blobs.size(key)
            if size is not None and await budget.adopt(key, parts[1], size):
                report.adopted_variants += 1

    tmp: Path = services.images.tmp_dir
    if tmp.is_dir():
        for path in tmp.iterdir():
            if path.is_file() and _older_than(path, cutoff):
                path.unlink(missing_ok=True)
                report.temp_files += 1

    sweep = getattr(blobs, "sweep_temp", None)  # backends with a local temp folder
    if sweep is not None:
        report.temp_files += await sweep(cutoff)

    report.idempotency_keys = await services.idempotency.purge_expired(now)
    # Space may have been freed: re-make the delete reserve if a full disk spent it.
    await asyncio.to_thread(services.images.reserve.restore)
    return report


async def _blob_older_than(blobs: BlobStore, key: str, cutoff: float) -> bool:
    """Written before ``cutoff`` (every backend says when: a file's mtime, an object's
    LastModified). A blob that vanished meanwhile is not ours to count."""
    modified = await blobs.modified(key)
    return modified is not None and modified < cutoff


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
