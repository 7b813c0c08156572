"""Rendering variants: request → plan, cache lookup, single-flight, a bounded pool off the loop.

A variant is identified by (image id, the plan's canonical form); see pipeline.py for why the
*resolved plan* rather than the raw spec names it. The first request for a variant renders it
in the pool and writes it to the blob store; identical concurrent requests in this process
wait for that one render (single-flight); every later request is a blob read. When more
renders are running or waiting than ``workers + queue_size``, the CDN answers 503 ``busy``
with Retry-After instead of piling up memory.

A render runs as a task of its own: a client that disconnects does not cancel it (the pool
thread cannot be interrupted anyway), so the capacity count always matches the work in the
pool, and the variant still lands in the cache for the next request.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from imgpro.errors import Busy, InvalidImage, wait_action
from imgpro.imaging import vips
from imgpro.imaging.probe import MIME, Probe
from imgpro.settings import LimitSettings, RenderSettings
from imgpro.storage import BlobNotFound, BlobStore
from imgpro.transforms import pipeline
from imgpro.transforms.cache import etag_for, variant_key
from imgpro.transforms.negotiate import output_format
from imgpro.transforms.spec import OUTPUT_FORMATS, parse_query

T = TypeVar("T")
# Variants up to this size are read whole in one thread hop; larger ones are streamed.
SMALL_VARIANT = 1024 * 1024
# Hot variants are kept in memory, per process, up to this many bytes (least recently used
# go first). Exact, not a shortcut: a variant's bytes never change (its ETag hashes the
# original and the canonical spec), and every request still looks the image up first, so a
# deleted or expired image is a 404 at once whatever is cached here.
HOT_CACHE_BYTES = 64 * 1024 * 1024
_ALPHA_CACHE_SIZE = 4096
_PLAN_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Variant:
    key: str
    etag: str
    format: str
    plan: pipeline.RenderPlan
    ignored: str | None = None  # X-Img-Ignored
    vary_accept: bool = False

    @property
    def canonical(self) -> str:
        return self.plan.canonical

    @property
    def media_type(self) -> str:
        return MIME[self.format]

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.ignored:
            out["X-Img-Ignored"] = self.ignored
        if self.vary_accept:
            out["Vary"] = "Accept"
        return out


@dataclass
class Blob:
    """A variant's bytes: in memory (small or just rendered) or an open file to stream."""

    size: int
    data: bytes | None = None
    file: Any = None  # an open binary file positioned at 0, when data is None


def probe_of(row: Any) -> Probe:
    return Probe(source_format=row.source_format, format=row.format, mime=MIME.get(row.format, ""),
                 width=row.width, height=row.height, frames=row.frames,
                 transformable=row.transformable)


def _read_local(path: Path) -> Blob | None:
    """Open + size + (small) read in one go, so a hit costs one thread hop. The file stays
    readable once open even if the image is deleted meanwhile."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return None
    size = os.fstat(f.fileno()).st_size
    if size > SMALL_VARIANT:
        return Blob(size=size, file=f)
    with f:
        return Blob(size=size, data=f.read())


class Renderer:
    def __init__(self, blobs: BlobStore, settings: RenderSettings, tmp_dir: Path) -> None:
        self.blobs = blobs
        self.workers = settings.workers or os.cpu_count() or 1
        self.max_waiting = settings.queue_size or 4 * self.workers
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="render")
        self.tmp_dir = tmp_dir
        pipeline.configure(settings.vips_concurrency)
        self._inflight: dict[str, asyncio.Task[bytes]] = {}
        self._pending = 0
        self._avg_seconds = 0.5  # moving average of render time, for Retry-After
        self._alpha: OrderedDict[str, bool] = OrderedDict()
        self._plans: OrderedDict[tuple[Any, ...], Variant] = OrderedDict()
        self._hot: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._hot_bytes = 0
        self.renders = 0  # completed renders (tests and metrics count them)

    @property
    def capacity(self) -> int:
        return self.workers + self.max_waiting

    # -- planning -------------------------------------------------------------------------
    async def plan(self, row: Any, ext: str, params: Sequence[tuple[str, str]],
                   accept: str | None, limits: LimitSettings) -> Variant | None:
        """Which variant a request asks for; None if the extension is not servable.

        Cached: a variant depends only on the original (id + sha256: immutable), the extension,
        the parameters exactly as sent, the limits, and ``Accept`` when ``format=auto``."""
        if ext not in OUTPUT_FORMATS:
            return None
        params = tuple(params)
        auto = any(name == "format" and value.lower() == "auto" for name, value in params)
        key = (row.id, row.sha256, ext, params, accept if auto else None, limits.max_pixels,
               limits.max_frames)
        variant = self._plans.get(key)
        if variant is None:
            variant = await self._plan(row, ext, params, accept, limits)
            self._plans[key] = variant
            while len(self._plans) > _PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return variant

    async def _plan(self, row: Any, ext: str, params: Sequence[tuple[str, str]],
                    accept: str | None, limits: LimitSettings) -> Variant:
        parsed = parse_query(params)
        spec = parsed.spec
        fmt, vary = output_format(spec, path_ext=ext, source_format=row.source_format,
                                  accept=accept, animated=row.frames > 1)
        if vary and fmt == "jpg" and await self._has_alpha(row):
            # The fallback for clients without AVIF/WebP: PNG only if there is alpha to keep.
            fmt, vary = output_format(spec, path_ext=ext, source_format=row.source_format,
                                      accept=accept, animated=row.frames > 1, has_alpha=True)
        render_plan = pipeline.plan(
            spec, source=(row.width, row.height), frames=row.frames,
            source_format=row.source_format, out_format=fmt,
            limits=pipeline.Limits(limits.max_pixels, limits.max_frames))
        return Variant(key=variant_key(row.id, render_plan.canonical, fmt),
                       etag=etag_for(row.sha256, render_plan.canonical), format=fmt,
                       plan=render_plan, ignored=parsed.ignored_header, vary_accept=vary)

    async def _has_alpha(self, row: Any) -> bool:
        """Cached per original (immutable, so caching in-process is safe)."""
        cached = self._alpha.get(row.sha256)
        if cached is not None:
            return cached

        async def probe_alpha(path: Path) -> bool:
            return await asyncio.to_thread(vips.has_alpha, path, row.source_format)

        try:
            found = await self._with_source(row, probe_alpha)
        except (InvalidImage, BlobNotFound):
            return False  # gone meanwhile: the render that follows answers 404
        self._alpha[row.sha256] = found
        while len(self._alpha) > _ALPHA_CACHE_SIZE:
            self._alpha.popitem(last=False)
        return found

    # -- serving --------------------------------------------------------------------------
    def _remember(self, variant: Variant, data: bytes) -> None:
        if len(data) > SMALL_VARIANT:
            return
        key = (variant.key, variant.etag)
        if key in self._hot:
            self._hot.move_to_end(key)
            return
        self._hot[key] = data
        self._hot_bytes += len(data)
        while self._hot_bytes > HOT_CACHE_BYTES:
            _, old = self._hot.popitem(last=False)
            self._hot_bytes -= len(old)

    async def read(self, variant: Variant) -> Blob | None:
        """A stored variant (from memory when hot), or None."""
        hot = self._hot.get((variant.key, variant.etag))
        if hot is not None:
            self._hot.move_to_end((variant.key, variant.etag))
            return Blob(size=len(hot), data=hot)
        blob = await self._read_stored(variant.key)
        if blob is not None and blob.data is not None:
            self._remember(variant, blob.data)
        return blob

    async def _read_stored(self, key: str) -> Blob | None:
        local = self.blobs.local_path(key)
        if local is not None:
            return await asyncio.to_thread(_read_local, local)
        size = await self.blobs.size(key)
        if size is None:
            return None
        try:
            return Blob(size=size, data=await self.blobs.get_bytes(key))
        except BlobNotFound:
            return None

    def forget(self, variant: Variant) -> None:
        """Drop a variant from the hot cache (its blob was deleted)."""
        data = self._hot.pop((variant.key, variant.etag), None)
        if data is not None:
            self._hot_bytes -= len(data)

    async def fetch(self, row: Any, variant: Variant, limits: LimitSettings) -> Blob:
        """The variant's bytes: from the blob store, or rendered once (single-flight)."""
        stored = await self.read(variant)
        if stored is not None:
            return stored
        task = self._inflight.get(variant.key)
        if task is None:
            if self._pending >= self.capacity:
                retry = max(1, math.ceil(self._avg_seconds * self._pending / self.workers))
                raise Busy(action=wait_action(retry), headers={"Retry-After": str(retry)})
            task = asyncio.get_running_loop().create_task(self._produce(row, variant, limits))
            self._inflight[variant.key] = task
            self._pending += 1
            task.add_done_callback(functools.partial(self._finished, variant.key))
        data = await asyncio.shield(task)
        return Blob(size=len(data), data=data)

    def _finished(self, key: str, task: asyncio.Task[bytes]) -> None:
        self._pending -= 1
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every waiter re-raises it; asyncio must not log it

    async def _produce(self, row: Any, variant: Variant, limits: LimitSettings) -> bytes:
        # Another request (or process) may have stored it between our read and now.
        stored = await self._read_stored(variant.key)
        if stored is not None:
            if stored.data is not None:
                return stored.data
            with stored.file as f:
                return bytes(await asyncio.to_thread(f.read))
        started = time.monotonic()

        async def render_in_pool(path: Path) -> bytes:
            return await self._in_pool(pipeline.render, path, probe_of(row), variant.plan,
                                       pipeline.Limits(limits.max_pixels, limits.max_frames))

        data = await self._with_source(row, render_in_pool)
        await self.blobs.put_bytes(variant.key, data)
        self._remember(variant, data)
        self.renders += 1
        self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * (time.monotonic() - started)
        return data

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _with_source(self, row: Any, use: Callable[[Path], Awaitable[T]]) -> T:
        """Run ``use`` with a filesystem path to the original (a temp copy for blob stores
        without local files)."""
        local = self.blobs.local_path(row.blob_key)
        if local is not None:
            return await use(local)
        data = await self.blobs.get_bytes(row.blob_key)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="src-")
        try:
            with os.fdopen(fd, "wb") as f:
                await asyncio.to_thread(f.write, data)
            return await use(Path(name))
        finally:
            Path(name).unlink(missing_ok=True)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
