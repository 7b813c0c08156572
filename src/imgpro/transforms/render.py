"""Rendering variants: cache lookup, single-flight, and a bounded pool off the event loop.

A variant is identified by (image id, canonical spec, output format). The first request for it
renders in the pool and writes it to the blob store; identical concurrent requests wait for
that one render (single-flight, per process); every later request is a blob read. When more
renders are waiting than the queue allows, the CDN answers 503 ``busy`` with Retry-After
instead of piling up memory.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgpro.errors import Busy
from imgpro.imaging.probe import Probe
from imgpro.imaging.vips import render_original
from imgpro.settings import RenderSettings
from imgpro.storage import BlobStore
from imgpro.transforms.cache import etag_for, variant_key

OUTPUT_FORMATS = ("jpg", "png", "webp", "avif", "gif")
MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif",
        "gif": "image/gif"}


@dataclass(frozen=True)
class Variant:
    key: str
    etag: str
    format: str
    canonical: str
    extra_headers: dict[str, str] = field(default_factory=dict)


def probe_of(row: Any) -> Probe:
    return Probe(source_format=row.source_format, format=row.format, mime=MIME.get(row.format, ""),
                 width=row.width, height=row.height, frames=row.frames,
                 transformable=row.transformable)


class Renderer:
    def __init__(self, blobs: BlobStore, settings: RenderSettings, tmp_dir: Path) -> None:
        self.blobs = blobs
        self.workers = settings.workers or os.cpu_count() or 1
        self.max_waiting = settings.queue_size or 4 * self.workers
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="render")
        self.tmp_dir = tmp_dir
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._pending = 0

    def plan(self, row: Any, ext: str, params: Sequence[tuple[str, str]],
             accept: str | None) -> Variant | None:
        """Which variant a request asks for; None if the extension is not servable."""
        if ext not in OUTPUT_FORMATS:
            return None
        canonical = f"f={ext}"
        return Variant(key=variant_key(row.id, canonical, ext),
                       etag=etag_for(row.sha256, canonical), format=ext, canonical=canonical)

    async def render(self, row: Any, variant: Variant) -> None:
        existing = self._inflight.get(variant.key)
        if existing is not None:
            await asyncio.shield(existing)
            return
        if self._pending >= self.workers + self.max_waiting:
            raise Busy(headers={"Retry-After": "1"})
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[variant.key] = future
        self._pending += 1
        try:
            data = await self._render_bytes(row, variant)
            await self.blobs.put_bytes(variant.key, data)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs it twice
            raise
        finally:
            self._pending -= 1
            del self._inflight[variant.key]

    async def _render_bytes(self, row: Any, variant: Variant) -> bytes:
        loop = asyncio.get_running_loop()
        local = self.blobs.local_path(row.blob_key)
        if local is not None:
            return await loop.run_in_executor(self.pool, render_original, local, probe_of(row),
                                              variant.format)
        data = await self.blobs.get_bytes(row.blob_key)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="src-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return await loop.run_in_executor(self.pool, render_original, Path(name),
                                              probe_of(row), variant.format)
        finally:
            Path(name).unlink(missing_ok=True)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
