"""Rendering variants: request → plan (variant_plans.py), cache lookup, single-flight, a bounded
pool off the loop.

A variant is identified by (image id, the plan's canonical form); see pipeline.py for why the
*resolved plan* rather than the raw spec names it. The first request for a variant renders it
in the pool; identical concurrent requests in this process wait for that one render
(single-flight); every later request is a memory or blob read.

A render starts only when admitted (admission.py): it holds one of the host's render tokens,
shared by every server process, and waits for one in its client's round-robin turn; the CDN
answers 503 ``busy`` with Retry-After only when the expected wait passes
``render.max_wait_seconds``. Stored variants are counted against the variant budget
(variants.py), which evicts the least recently used; hits only note their key for it.

A render runs as a task of its own (a *flight*): a client that disconnects does not cancel it
(the pool thread cannot be interrupted anyway), so the capacity count always matches the work in
the pool. Its bytes go to the waiting requests as soon as they exist; writing them to the blob
store happens after that, overlapping with sending the response (``settle`` waits for it).
Once the write is done the image is looked up again (``is_live``): an image deleted meanwhile
had its variants swept before this one existed, so the flight deletes what it just wrote.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from imgpro.cpus import available_cpus
from imgpro.settings import LimitSettings, RenderSettings
from imgpro.storage import BlobNotFound, BlobStore
from imgpro.transforms import pipeline
from imgpro.transforms.admission import RenderAdmission
from imgpro.transforms.flight import SharedFlights
from imgpro.transforms.variant import (
    Blob,
    Variant,
    _Flight,
    _open_local,
    _read_all,
    probe_of,
)
from imgpro.transforms.variant_plans import VariantPlanner
from imgpro.transforms.variants import VariantBudget

T = TypeVar("T")
log = logging.getLogger("imgpro.render")
# Variants up to this size are read whole in one thread hop; larger ones are streamed.
SMALL_VARIANT = 1024 * 1024
# Hot variants are kept in memory, per process, up to ``RenderSettings.hot_cache_mb`` (least
# recently used go first). Exact, not a shortcut: a variant's bytes never change (its ETag
# hashes the original and the canonical spec), and every request still looks the image up
# first, so a deleted or expired image is a 404 at once whatever is cached here. A variant is
# admitted on its second request (the first read from the store), not when rendered: most
# renders are never asked for again by the same process, and caching them all would fill the
# budget with one-offs (a cold sweep of sizes would hold 64 MB of RSS for nothing).


async def _always_live(_: str) -> bool:
    return True


class Renderer:
    def __init__(
        self,
        blobs: BlobStore,
        settings: RenderSettings,
        tmp_dir: Path,
        *,
        is_live: Callable[[str], Awaitable[bool]] = _always_live,
        run_dir: Path | None = None,
        budget: VariantBudget | None = None,
        shared: SharedFlights | None = None,
    ) -> None:
        """``is_live(image_id)``: whether the image still exists (checked after each store).
        ``run_dir``: where the host-wide render tokens live (every process of a host must name
        the same one). ``budget``: the variant storage budget (None: variants count nothing).
        ``shared``: single-flight across processes and hosts (Redis), see flight.py."""
        self.blobs = blobs
        self.shared = shared
        self.is_live = is_live
        self.budget = budget
        # Every process may run a render per core; the host-wide tokens keep the host to
        # ``tokens`` at once (a process the kernel gave more connections uses more of them).
        self.workers = settings.workers or available_cpus()
        self.tokens = settings.host_renders or available_cpus()
        self.max_waiting = settings.queue_size or 32 * self.tokens
        self.admission = RenderAdmission(
            run_dir or tmp_dir / "run",
            self.tokens,
            max_wait_seconds=settings.max_wait_seconds,
            max_waiting=self.max_waiting,
        )
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="render")
        self.tmp_dir = tmp_dir
        self.hot_cache_bytes = settings.hot_cache_mb * 1024 * 1024
        self.planner = VariantPlanner(settings, self._with_source)
        # Which variant a request asks for is the planner's answer (VariantPlanner.plan).
        self.plan = self.planner.plan
        pipeline.configure(settings.vips_concurrency)
        self._inflight: dict[str, _Flight] = {}
        self._pending = 0  # flights: waiting for a token, rendering or storing
        self._hot: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._hot_bytes = 0
        self.renders = 0  # completed renders (tests and metrics count them)

    async def mark_bytes(self, variant: Variant, limits: LimitSettings, client: str) -> bytes:
        """The rendered mark of a marked variant: stored, or rendered now in a flight of its
        own — before the marked render takes its token, so one render never holds a token
        while waiting for another. Raises like :meth:`render` (a mark deleted meanwhile:
        ``BlobNotFound``/``InvalidImage``)."""
        assert variant.mark is not None
        blob = await self.read(variant.mark)
        if blob is None:
            data = await self.render(variant.mark_row, variant.mark, limits, client)
            await self.settle(variant.mark)
            return data
        if blob.data is not None:
            return blob.data
        if blob.file is not None:
            return await asyncio.to_thread(_read_all, blob.file)
        return b"".join([chunk async for chunk in blob.chunks])

    # -- serving --------------------------------------------------------------------------
    def _remember(self, variant: Variant, data: bytes) -> None:
        if len(data) > SMALL_VARIANT or len(data) > self.hot_cache_bytes:
            return
        key = (variant.key, variant.etag)
        if key in self._hot:
            self._hot.move_to_end(key)
            return
        self._hot[key] = data
        self._hot_bytes += len(data)
        while self._hot_bytes > self.hot_cache_bytes:
            _, old = self._hot.popitem(last=False)
            self._hot_bytes -= len(old)

    async def read(self, variant: Variant) -> Blob | None:
        """A stored variant (from memory when hot), or None."""
        hot = self._hot.get((variant.key, variant.etag))
        if hot is not None:
            self._hot.move_to_end((variant.key, variant.etag))
            if self.budget is not None:
                self.budget.touch(variant.key)
            return Blob(size=len(hot), data=hot)
        blob = await self._read_stored(variant.key)
        if blob is not None:
            if self.budget is not None:
                self.budget.touch(variant.key)
            if blob.data is not None:
                self._remember(variant, blob.data)
        return blob

    async def _read_stored(self, key: str) -> Blob | None:
        local = self.blobs.local_path(key)
        if local is not None:
            f = _open_local(local)
            if f is None:
                return None
            size = os.fstat(f.fileno()).st_size
            if size > SMALL_VARIANT:
                return Blob(size=size, file=f)  # streamed; stays readable if deleted meanwhile
            return Blob(size=size, data=await asyncio.to_thread(_read_all, f))
        stored = await self.blobs.size(key)
        if stored is None:
            return None
        size = stored
        if size > SMALL_VARIANT:  # object storage: streamed through, never whole in memory
            return Blob(size=size, chunks=self.blobs.stream(key, SMALL_VARIANT))
        try:
            return Blob(size=size, data=await self.blobs.get_bytes(key))
        except BlobNotFound:
            return None

    def forget(self, variant: Variant) -> None:
        """Drop a variant from the hot cache (its image is gone)."""
        data = self._hot.pop((variant.key, variant.etag), None)
        if data is not None:
            self._hot_bytes -= len(data)

    async def render(
        self,
        row: Any,
        variant: Variant,
        limits: LimitSettings,
        client: str = "",
        mark: bytes | None = None,
    ) -> bytes:
        """The variant's bytes, rendered once however many requests ask (single-flight).
        Call it after :meth:`read` missed; then :meth:`settle` once the answer is sent.
        ``client`` (an address) is whose turn the render waits for; raises ``Busy`` when the
        wait would be too long. ``mark``: :meth:`mark_bytes` of a marked variant (fetched
        here when not given)."""
        if variant.mark is not None and mark is None:
            mark = await self.mark_bytes(variant, limits, client)
        hot = self._hot.get((variant.key, variant.etag))
        if hot is not None:  # a flight finished while our read of the store was awaited
            return hot
        flight = self._inflight.get(variant.key)
        if flight is None:
            token = self.admission.admit(client)  # Busy: nothing started, nothing queued
            loop = asyncio.get_running_loop()
            result: asyncio.Future[bytes] = loop.create_future()
            flight = _Flight(
                result,
                loop.create_task(self._fly(row, variant, limits, result, client, token, mark)),
            )
            self._inflight[variant.key] = flight
            self._pending += 1
            flight.done.add_done_callback(functools.partial(self._landed, variant.key, flight))
        return await asyncio.shield(flight.result)

    async def settle(self, variant: Variant) -> None:
        """Wait until the flight of this variant (if one is still going) has stored it. The CDN
        calls it after answering, so the client never waits for the write; everyone else
        (tests, a graceful shutdown) sees the store in its final state."""
        flight = self._inflight.get(variant.key)
        if flight is not None:
            await asyncio.wait([flight.done])  # never raises, never cancels the flight

    def _landed(self, key: str, flight: _Flight, _: asyncio.Task[None]) -> None:
        self._pending -= 1
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        if not flight.result.done():  # the task was cancelled (loop shutdown): release waiters
            flight.result.cancel()
        elif not flight.result.cancelled():
            flight.result.exception()  # retrieved: waiters re-raise it; asyncio must not log it

    async def _fly(
        self,
        row: Any,
        variant: Variant,
        limits: LimitSettings,
        result: asyncio.Future[bytes],
        client: str,
        token: asyncio.Future[int],
        mark: bytes | None = None,
    ) -> None:
        slot: int | None = None
        claim = None
        try:
            if self.shared is not None:
                # Another host may be rendering it already: join that render (its bytes land
                # on ``result``) instead of taking a render token here.
                claimed = await self._claim_or_join(variant, result)
                if claimed is None:
                    return
                claim = claimed or None
            slot = await token
            await self._render_and_store(row, variant, limits, result, slot, mark)
        finally:
            if slot is None:  # cancelled or joined before our turn: give the place back
                self.admission.abandon(client, token)
            if claim is not None:
                await self._release(variant, claim)

    async def _claim_or_join(self, variant: Variant, result: asyncio.Future[bytes]) -> str | None:
        """A claim token (or "" when Redis failed: render here anyway), or None when another
        process's render was joined and its bytes set on ``result``."""
        assert self.shared is not None
        try:
            while True:
                token = await self.shared.claim(variant.key)
                if token is not None:
                    return token
                data = await self.shared.wait(variant.key, self.blobs)
                if data is not None:
                    result.set_result(data)
                    return None
        except Exception:  # Redis is down: a duplicate render beats an error
            log.warning(
                "shared single-flight unavailable; rendering %s here", variant.key, exc_info=True
            )
            return ""

    async def _release(self, variant: Variant, token: str) -> None:
        assert self.shared is not None
        try:
            await self.shared.release(variant.key, token)
        except Exception:  # the lease expires by itself
            log.warning("could not release the render claim on %s", variant.key, exc_info=True)

    async def _render_and_store(
        self,
        row: Any,
        variant: Variant,
        limits: LimitSettings,
        result: asyncio.Future[bytes],
        slot: int,
        mark: bytes | None = None,
    ) -> None:

        async def render_in_pool(path: Path) -> bytes:
            started = time.monotonic()
            try:
                render = functools.partial(pipeline.render, mark=mark)
                return await self._in_pool(
                    render, path, probe_of(row), variant.plan, self.planner.limits(limits)
                )
            finally:
                self.admission.observe(time.monotonic() - started)

        try:
            data = await self._with_source(row, render_in_pool)
        except Exception as exc:
            result.set_exception(exc)  # every waiter re-raises it
            return
        finally:
            self.admission.release(slot)  # the pool thread is done with it
        self.renders += 1
        result.set_result(data)
        # Stored before the claim is released: a waiting host reads it as soon as it sees the
        # claim gone.
        await self._store(row, variant, data)

    async def _store(self, row: Any, variant: Variant, data: bytes) -> None:
        try:
            await self.blobs.put_bytes(variant.key, data)
            if self.budget is not None:
                await self.budget.record(variant.key, row.id, len(data))
            # Checked after the write, never before: a delete that commits after this read
            # sweeps the variant itself; one that committed before it is seen here.
            if not await self.is_live(row.id):
                await self.blobs.delete(variant.key)
                if self.budget is not None:
                    await self.budget.forget(variant.key)
                self.forget(variant)
        except Exception:  # already answered from memory; the next process simply re-renders
            log.exception("could not store variant %s", variant.key)

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _with_source(self, row: Any, use: Callable[[Path], Awaitable[T]]) -> T:
        """Run ``use`` with a filesystem path to the original (a temp copy for blob stores
        without local files)."""
        local = self.blobs.local_path(row.blob_key)
        if local is not None:
            return await use(local)
        # Streamed to a temp file chunk by chunk: a 70 MB original never sits in memory whole.
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="src-")
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in self.blobs.stream(row.blob_key, SMALL_VARIANT):
                    await asyncio.to_thread(f.write, chunk)
            return await use(Path(name))
        finally:
            Path(name).unlink(missing_ok=True)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.admission.close()
