"""The image domain: create, read, list, update, delete — for the API and the dashboard alike.

Create is all-or-nothing: the file is probed and validated on disk, moved into the blob store,
and only then counted and recorded in one database transaction. If that transaction fails the
blob is deleted again; if the process dies in between, ``imgpro gc`` sweeps the orphan blob.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from imgpro import ids
from imgpro.billing.plans import PlanBook
from imgpro.billing.quotas import UploadQuota
from imgpro.clock import Clock
from imgpro.cpus import available_cpus
from imgpro.db.engine import Database
from imgpro.errors import InvalidImage, NotFound, UnsupportedFormat, ValidationFailed
from imgpro.images import repository as repo
from imgpro.images.fields import UploadOptions, changes_from, invalid
from imgpro.images.intake import SpooledFile
from imgpro.images.lifetime import check_expiry_change, expiry_at_upload
from imgpro.images.schemas import Links, image_object, image_objects
from imgpro.imaging.inspect import Inspected, inspect_upload
from imgpro.imaging.probe import sniff
from imgpro.principal import Principal
from imgpro.private_files import private_dir
from imgpro.settings import Settings
from imgpro.storage import BlobStore
from imgpro.storage.faults import is_storage_fault
from imgpro.storage.reserve import SpaceReserve
from imgpro.transforms.cache import variant_prefix

log = logging.getLogger("imgpro.images")

# Runs inside the image's insert transaction with (connection, Image object).
OnCommit = Callable[[Any, dict[str, Any]], Awaitable[None]]

T = TypeVar("T")

MAX_BATCH = 100
MAX_LIST_LIMIT = 100


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


class ImageService:
    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        clock: Clock,
        links: Links,
        plans: PlanBook,
        quota: UploadQuota | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.clock = clock
        self.links = links
        self.plans = plans
        self.quota = quota or UploadQuota(plans)
        # Called with the workspace id after an upload committed (quota notices); never fails it.
        self.after_upload: Callable[[str], Awaitable[None]] | None = None
        self.tmp_dir = settings.data_dir / "tmp"
        private_dir(self.tmp_dir)
        self.reserve = SpaceReserve(settings.data_dir, settings.disk_reserve_bytes)
        self.reserve.restore()
        # Upload-time decoding (probe, placeholder, HEIC) is bounded like rendering: as many
        # threads as the render pool, so N concurrent uploads never mean N full decodes.
        self.decode_pool = ThreadPoolExecutor(
            settings.render.workers or available_cpus(), thread_name_prefix="decode"
        )

    def close(self) -> None:
        self.decode_pool.shutdown(wait=False, cancel_futures=True)

    # -- create ---------------------------------------------------------------------------
    async def inspect(self, path: Path, head: bytes) -> Inspected:
        """Sniff, probe (header only, limits first), prove complete and decodable, clean
        metadata that is served as stored (ICO); no row, no blob. In the bounded decode pool."""
        source_format = sniff(head)
        if source_format is None:
            raise UnsupportedFormat()
        limits = self.settings.limits
        run = functools.partial(
            inspect_upload,
            path,
            source_format,
            max_pixels=limits.max_pixels,
            max_frames=limits.max_frames,
        )
        return await asyncio.get_running_loop().run_in_executor(self.decode_pool, run)

    async def create(
        self,
        principal: Principal,
        upload: SpooledFile,
        opts: UploadOptions,
        *,
        on_commit: OnCommit | None = None,
    ) -> dict[str, Any]:
        """Store and record one image. ``on_commit(conn, image)`` runs inside the insert
        transaction (the Idempotency-Key's "done" record commits with the row, or neither)."""
        now = self.clock.now()
        blob_key = f"originals/{ids.token(18)}"
        try:
            if upload.size == 0:
                # Nothing to decode: an empty file is no image (SPEC §3.1: 422 invalid_image).
                raise InvalidImage("The file is empty.")
            found = await self.inspect(upload.path, upload.head)
            if found.rewritten is not None:
                upload.size, upload.digest_hex = found.rewritten
            await self.blobs.put_file(blob_key, upload.path)
        finally:
            upload.discard()  # moved already on success; removes the temp file otherwise
        try:
            image = await self._record(principal, upload, opts, found, blob_key, now, on_commit)
        except BaseException:
            await self.blobs.delete(blob_key)
            raise
        if self.after_upload is not None and not principal.is_anonymous:
            await self.after_upload(principal.workspace_id)  # e.g. the quota notices
        return image

    async def _record(
        self,
        principal: Principal,
        upload: SpooledFile,
        opts: UploadOptions,
        found: Inspected,
        blob_key: str,
        now: dt.datetime,
        on_commit: OnCommit | None,
    ) -> dict[str, Any]:
        """Count and insert the row; returns its Image object (built from the values written:
        they *are* the new row).

        Everything slow happened before (probe, decode, blob move): on SQLite this transaction
        holds the database's one write lock, so it is kept to the quota UPDATE and the INSERTs,
        with no read-back of the row."""
        probe = found.probe
        values: dict[str, Any] = {
            "workspace_id": principal.workspace_id,
            "prefix": principal.workspace_prefix,
            "source_format": probe.source_format,
            "format": probe.format,
            "width": probe.width,
            "height": probe.height,
            "frames": probe.frames,
            "bytes": upload.size,
            "sha256": upload.sha256,
            "blob_key": blob_key,
            "transformable": probe.transformable,
            "status": "ready",
            "public": opts.public,
            "caption": opts.caption,
            "metadata": opts.metadata or {},
            "labels": opts.labels or {},
            "nsfw": False,
            "blurhash": found.blurhash,
            "color": found.color,
            "thumbhash": found.thumbhash,
            "published_at": now if opts.public else None,
            "expires_at": expiry_at_upload(
                principal, opts.ttl, now, anon_ttl=self.settings.limits.anon_ttl_seconds
            ),
            "created_at": now,
        }
        for _attempt in range(5):
            image_id = ids.image_id()
            values["id"] = image_id
            values["filename"] = opts.filename or upload.filename or f"{image_id}.{probe.format}"
            try:
                async with self.db.write() as conn:
                    # One conditional UPDATE in this transaction (billing/quotas.py): exact under
                    # concurrency, rolled back with the row if the insert fails. Anonymous
                    # uploads are counted but have no account quota (rate limits apply instead).
                    metered = not principal.is_anonymous
                    await self.quota.reserve(
                        conn, principal.workspace_id, upload.size, now, metered=metered
                    )
                    await repo.insert_image(conn, values)
                    image = image_object(SimpleNamespace(**values), self.links)
                    if on_commit is not None:
                        await on_commit(conn, image)
                return image
            except IntegrityError:
                continue  # an 8-char id collided (about 1 in 10^12): draw another
        raise RuntimeError("could not allocate an image id")

    # -- read -----------------------------------------------------------------------------
    async def get(self, principal: Principal, image_id: str) -> dict[str, Any]:
        row = await repo.object_row(self.db, principal.workspace_id, image_id, self.clock.now())
        if row is None:
            raise NotFound()
        return image_objects([row], self.links)[0]

    async def list(
        self,
        principal: Principal,
        *,
        limit: int = 20,
        cursor: str | None = None,
        labels: Sequence[tuple[str, str]] = (),
        only_ids: Sequence[str] | None = None,
    ) -> Page:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise invalid("limit", f"between 1 and {MAX_LIST_LIMIT}")
        before = None
        if cursor:
            before = repo.decode_cursor(cursor)
            if before is None:
                raise invalid("cursor", "not a cursor this API returned")
        if only_ids is not None and len(only_ids) > MAX_BATCH:
            raise invalid("ids", f"at most {MAX_BATCH} ids")
        rows = await repo.visible_page(
            self.db,
            principal.workspace_id,
            self.clock.now(),
            limit=limit + 1,
            before_seq=before,
            labels=labels,
            ids=only_ids,
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = repo.encode_cursor(rows[-1].seq) if has_more and rows else None
        return Page(image_objects(rows, self.links), next_cursor, has_more)

    # -- update ---------------------------------------------------------------------------
    async def _apply(
        self, conn: Any, principal: Principal, row: Any, changes: dict[str, Any], now: dt.datetime
    ) -> Any:
        check_expiry_change(row, changes, now, anon_ttl=self.settings.limits.anon_ttl_seconds)
        if changes:
            await repo.update_image(conn, row.seq, changes)
            if "labels" in changes:
                await repo.replace_labels(conn, row.seq, row.workspace_id, changes["labels"])
        return await repo.get_visible(conn, principal.workspace_id, row.id, now)

    async def update(
        self, principal: Principal, image_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        changes = changes_from(fields, anonymous=principal.is_anonymous)
        now = self.clock.now()
        async with self.db.write() as conn:
            row = await repo.get_visible(conn, principal.workspace_id, image_id, now)
            if row is None:
                raise NotFound()
            updated = await self._apply(conn, principal, row, changes, now)
        if updated is None:  # it expired by the new expires_at
            raise NotFound()
        return image_object(updated, self.links)

    async def batch_update(
        self, principal: Principal, image_ids: Sequence[str], fields: dict[str, Any]
    ) -> dict[str, Any]:
        changes = changes_from(fields, anonymous=principal.is_anonymous)
        now = self.clock.now()
        data, errors = [], []
        async with self.db.write() as conn:
            for image_id in _unique(image_ids):
                row = await repo.get_visible(conn, principal.workspace_id, image_id, now)
                if row is None:
                    errors.append(_not_found(image_id))
                    continue
                try:
                    updated = await self._apply(conn, principal, row, changes, now)
                except ValidationFailed as e:
                    errors.append({"id": image_id, "error": {"code": e.code, "message": e.message}})
                    continue
                if updated is None:
                    errors.append(_not_found(image_id))
                else:
                    data.append(image_object(updated, self.links))
        return {"object": "batch_result", "data": data, "errors": errors}

    # -- delete ---------------------------------------------------------------------------
    async def _freeing_space(self, delete: Callable[[], Awaitable[T]]) -> T:
        """Run a delete transaction; on a full disk, release the space reserve and retry once
        (a delete must be able to free space: storage/reserve.py)."""
        try:
            result = await delete()
        except Exception as exc:
            if not is_storage_fault(exc) or not await asyncio.to_thread(self.reserve.release):
                raise
            result = await delete()
        return result

    async def delete(self, principal: Principal, image_id: str) -> dict[str, Any]:
        async def transaction() -> Any:
            async with self.db.write() as conn:
                row = await repo.get_visible(
                    conn, principal.workspace_id, image_id, self.clock.now()
                )
                if row is None:
                    raise NotFound()
                await repo.delete_rows(conn, [row], self.clock.now())
            return row

        row = await self._freeing_space(transaction)
        await self.remove_blobs([row])
        return {"id": image_id, "object": "image", "deleted": True}

    async def batch_delete(self, principal: Principal, image_ids: Sequence[str]) -> dict[str, Any]:
        wanted = _unique(image_ids)
        now = self.clock.now()

        async def transaction() -> tuple[list[Any], set[str]]:
            async with self.db.write() as conn:
                rows = await repo.rows_by_ids(conn, wanted)
                # Expired images of this workspace are already gone for readers: delete them.
                mine = [r for r in rows if r.workspace_id == principal.workspace_id]
                await repo.delete_rows(conn, mine, now)
                gone = {r.id for r in mine} | await repo.tombstoned(
                    conn,
                    principal.workspace_id,
                    [i for i in wanted if i not in {r.id for r in rows}],
                )
            return mine, gone

        mine, gone = await self._freeing_space(transaction)
        await self.remove_blobs(mine)
        # Another workspace's id and an id that never existed answer alike: not_found.
        data = [{"id": i, "object": "image", "deleted": True} for i in wanted if i in gone]
        errors = [_not_found(i) for i in wanted if i not in gone]
        return {"object": "batch_result", "data": data, "errors": errors}

    async def remove_blobs(self, rows: Sequence[Any]) -> None:
        """After the rows are gone: the original and every variant. Failures leave orphans
        for ``imgpro gc``; they never resurrect an image (the row is what makes it exist)."""
        for row in rows:
            try:
                await self.blobs.delete(row.blob_key)
                await self.blobs.delete_prefix(variant_prefix(row.id))
            except Exception:  # pragma: no cover - storage outage; gc will retry
                log.exception("could not remove blobs of image %s", row.id)
        if rows:  # space was freed: re-make the reserve if it was spent (best effort)
            await asyncio.to_thread(self.reserve.restore)


def _unique(values: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def _not_found(image_id: str) -> dict[str, Any]:
    return {"id": image_id, "error": {"code": "not_found", "message": "No such image."}}


async def original_of(service: ImageService, principal: Principal, image_id: str) -> Any:
    """The stored row of one live image of the principal's workspace (its ``blob_key``,
    ``source_format``, ``bytes``, ``sha256``), for downloading the original; NotFound else."""
    async with service.db.read() as conn:
        row = await repo.get_visible(conn, principal.workspace_id, image_id, service.clock.now())
    if row is None:
        raise NotFound()
    return row
