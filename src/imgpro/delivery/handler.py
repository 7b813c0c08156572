"""The CDN face: ``GET|HEAD /i/{prefix}/{id}.{ext}`` (SPEC §5), as a plain ASGI app.

The URL is the capability: an image is found by id alone (its prefix must match), public or
not. Non-transformable formats (SVG, BMP, ICO) are served exactly as stored; everything else is
served as a rendered variant (orientation applied, metadata stripped, transforms from the
query), rendered once and then kept in the blob store.

``app.py`` sends every ``/i/`` request here before FastAPI sees it: no router walk, no
middleware stack, no dependency solving (together more than half the CPU of a cached hit;
measured, docs/transforms.md). The OpenAPI document still describes the route
(``routes.py``), and errors are the same JSON envelope as everywhere
(``imgpro.http.errors.render``).

Hot path (a cached variant): one indexed lookup by id (which brings the workspace's
signed-transform policy along), the signature check when that is on, the preset (cached per
process), parse + plan (cached), then a 304 (the ETag is computed, not stored) or the bytes from
memory; a colder one opens the stored file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from imgpro.delivery.asgi import CdnRequest, Reply
from imgpro.delivery.lookup import DeliveryLookup
from imgpro.errors import (
    ApiError,
    ImageTooLarge,
    InternalError,
    InvalidImage,
    MethodNotAllowed,
    NotFound,
)
from imgpro.http.errors import render
from imgpro.imaging.probe import MIME  # the served formats' media types: one table
from imgpro.ratelimit.addresses import rate_key
from imgpro.services import Services
from imgpro.storage import BlobNotFound
from imgpro.transforms import access
from imgpro.transforms.marks import mark_id
from imgpro.transforms.render import Blob, Renderer, Variant

log = logging.getLogger("imgpro.delivery")

IMMUTABLE = "public, max-age=31536000, immutable"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
EXT_ALIASES = {"jpeg": "jpg"}
MAX_IGNORED = 32
# Large files go out in 1 MB reads: a quarter of the thread hops of 256 KB, same throughput.
STREAM_CHUNK = 1024 * 1024
PREFIX = "/i/"
# Parameters that are not transforms: a signature and a preset name (transforms/access.py).
_POLICY_PARAMS = frozenset({access.PRESET_PARAM, "s"})


def _split(path: str) -> tuple[str, str, str]:
    """``/i/{prefix}/{id}.{ext}`` → (prefix, id, ext); anything else is a 404."""
    prefix, slash, name = path[len(PREFIX) :].partition("/")
    image_id, dot, ext = name.rpartition(".")
    if not prefix or not slash or "/" in name or not dot or not image_id or len(image_id) > 64:
        raise NotFound("Not found.")
    ext = ext.lower()
    return prefix, image_id, EXT_ALIASES.get(ext, ext)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _base_headers(row: Any, etag: str, fmt: str, micro_cache: int) -> dict[str, str]:
    headers = {
        "etag": etag,
        "cache-control": IMMUTABLE,
        "x-content-type-options": "nosniff",
        "content-type": MIME[fmt],
    }
    if micro_cache:
        # For an nginx proxy_cache in front: nginx takes X-Accel-Expires over the year-long
        # Cache-Control (meant for browsers and CDNs) and never forwards it, so a delete
        # reaches clients through nginx after at most this many seconds.
        headers["x-accel-expires"] = str(micro_cache)
    if not row.public:
        headers["x-robots-tag"] = "noindex"
    if fmt == "svg":
        headers["content-security-policy"] = SVG_CSP
    return headers


def _not_modified(headers: dict[str, str]) -> Reply:
    del headers["content-type"]
    return Reply(304, headers)


def _all_ignored(params: list[tuple[str, str]]) -> str | None:
    """Images served as stored take no parameters: every one is ignored."""
    names = sorted({quote(name, safe="-_.~[]")[:64] for name, _ in params if name})
    return ", ".join(names[:MAX_IGNORED]) or None


def _send(request: CdnRequest, blob: Blob, headers: dict[str, str]) -> ASGIApp:
    headers["content-length"] = str(blob.size)
    if request.method == "HEAD":
        if blob.file is not None:
            blob.file.close()
        return Reply(200, headers)
    if blob.data is not None:
        return Reply(200, headers, blob.data)
    if blob.chunks is not None:  # object storage: chunk by chunk from the bucket
        return StreamingResponse(blob.chunks, status_code=200, headers=headers)
    return StreamingResponse(_chunks(blob.file), status_code=200, headers=headers)


async def _chunks(f: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(f.read, STREAM_CHUNK):
            yield chunk
    finally:
        f.close()


class CdnHandler:
    """The ASGI app behind ``/i/``. One per app; reads settings at request time (tests and
    operators may change them on a running app)."""

    def __init__(self, services: Services, renderer: Renderer, lookup: DeliveryLookup) -> None:
        self.services = services
        self.renderer = renderer
        self.lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = CdnRequest.from_scope(scope)
        rendered: list[Variant] = []  # a render this request started or joined
        try:
            reply = await self._answer(request, rendered)
        except ApiError as exc:
            reply = render(exc)
        except Exception:
            # Never leak internals: log with the traceback, answer with the generic envelope.
            log.exception("unhandled error on %s %s", request.method, request.path)
            reply = render(InternalError())
        await reply(scope, receive, send)
        for variant in rendered:  # after answering: the blob store write overlapped with it
            await self.renderer.settle(variant)

    async def _lookup(self, image_id: str) -> Any:
        """The live image with this id, or None (missing, deleted or expired): one indexed read."""
        return await self.lookup.get(image_id, self.services.clock.now())

    async def _answer(self, request: CdnRequest, rendered: list[Variant]) -> ASGIApp:
        prefix, image_id, ext = _split(request.path)
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(headers={"Allow": "GET, HEAD"})
        row = await self._lookup(image_id)
        if row is None or row.prefix != prefix:
            raise NotFound("Not found.")
        if row.signed_transforms:  # the workspace's policy came in the same row
            access.check_signature(row, request.path, request.query)
        if not row.transformable:
            return await self._serve_stored(row, ext, request)

        params: list[tuple[str, str]] = request.query
        ignored: tuple[str, ...] = ()
        if any(name in _POLICY_PARAMS for name, _ in params):
            resolved = await access.resolve(self.services.presets, row.workspace_id, params)
            params, ignored = resolved.params, resolved.ignored
        limits = self.services.settings.limits
        mark_row = await self._mark_of(row, params)  # after the preset: a preset may name it
        variant = await self.renderer.plan(
            row, ext, params, request.accept, limits, ignored, mark_row
        )
        if variant is None:
            raise NotFound("Not found.")
        headers = _base_headers(row, variant.etag, variant.format, self._micro_cache())
        headers.update(variant.headers())
        if _etag_matches(request.if_none_match, variant.etag):
            return _not_modified(headers)
        accelerated = self._accel(request, variant.key, headers)
        if accelerated is not None:
            return accelerated
        redirected = await self._presigned(request, variant.key, headers)
        if redirected is not None:
            return redirected
        blob = await self.renderer.read(variant)
        if blob is None:
            rendered.append(variant)
            blob = await self._render(row, variant, request)
        return _send(request, blob, headers)

    async def _render(self, row: Any, variant: Variant, request: CdnRequest) -> Blob:
        # Cold renders wait their turn per client (the address, after trusted proxies), so
        # one client flooding the pool queues behind its own requests only.
        client = rate_key(
            self.services.ratelimits.client_address(request.peer, request.forwarded_for)
        )
        try:
            data = await self.renderer.render(row, variant, self.services.settings.limits, client)
        except (InvalidImage, ImageTooLarge, BlobNotFound):
            # Deleted while we rendered (the original is gone) looks like damage: it is a 404.
            if await self._lookup(row.id) is None:
                raise NotFound("Not found.") from None
            # The mark deleted between planning and rendering: this request answers 404, the
            # next one no longer finds the mark and renders without it (docs/transforms.md).
            if variant.mark_row is not None and await self._lookup(variant.mark_row.id) is None:
                raise NotFound("Not found.") from None
            raise
        # Deleted while we rendered: 404, like every request after the delete. (The renderer
        # re-checks after storing the variant and removes it; this check is for the answer.)
        if await self._lookup(row.id) is None:
            self.renderer.forget(variant)
            raise NotFound("Not found.")
        return Blob(size=len(data), data=data)

    async def _mark_of(self, row: Any, query: list[tuple[str, str]]) -> Any:
        """The watermark image that ``mark=`` names (its last value, as the parser reads it),
        when it is live, of ``row``'s workspace and transformable; None otherwise, and the
        renderer then lists ``mark`` as ignored. Another workspace's id answers exactly like a
        missing one, so a mark cannot probe for foreign ids."""
        wanted = next((value for name, value in reversed(query) if name == "mark"), None)
        if wanted is None or not mark_id(wanted):
            return None
        mark = row if wanted == row.id else await self._lookup(wanted)
        if mark is None or mark.workspace_id != row.workspace_id or not mark.transformable:
            return None
        return mark

    def _micro_cache(self) -> int:
        return self.services.settings.accel_cache_seconds

    def _accel(self, request: CdnRequest, key: str, headers: dict[str, str]) -> Reply | None:
        """The nginx fast path: for a GET of a blob that exists on local disk, let nginx send the
        file (``X-Accel-Redirect`` to an ``internal`` location aliasing the blob directory).
        Off unless ``accel_redirect_prefix`` is set; None means "send it ourselves"."""
        prefix = self.services.settings.accel_redirect_prefix
        if not prefix or request.method != "GET":
            return None
        path = self.services.blobs.local_path(key)
        if path is None or not path.is_file():
            return None
        headers["x-accel-redirect"] = prefix.rstrip("/") + "/" + quote(key)
        headers["content-length"] = "0"
        return Reply(200, headers)

    async def _presigned(
        self, request: CdnRequest, key: str, headers: dict[str, str], *, stored: bool = False
    ) -> Reply | None:
        """Object storage with ``s3.presign_seconds`` set: a GET of a blob already in the
        bucket is a 302 to a presigned URL, so the bytes go from the bucket to the client.
        The redirect itself is cached no longer than the URL lives. None = "send it ourselves"
        (another backend, off, HEAD, or a variant not rendered yet)."""
        seconds = self.services.settings.s3.presign_seconds
        if not seconds or request.method != "GET" or self.services.settings.storage != "s3":
            return None
        if not stored and await self.services.blobs.size(key) is None:
            return None
        url = await self.services.blobs.presigned_url(key, seconds)
        if url is None:
            return None
        keep = {
            k: v
            for k, v in headers.items()
            if k in ("etag", "vary", "x-img-ignored", "x-robots-tag")
        }
        keep.update(
            {
                "location": url,
                "content-length": "0",
                "cache-control": f"public, max-age={max(0, seconds - 60)}",
            }
        )
        return Reply(302, keep)

    async def _serve_stored(self, row: Any, ext: str, request: CdnRequest) -> ASGIApp:
        # Served as stored, under its own extension only.
        if ext != row.format:
            raise NotFound("Not found.")
        etag = f'"{row.sha256}"'
        headers = _base_headers(row, etag, row.format, self._micro_cache())
        ignored = _all_ignored(request.query)
        if ignored:
            headers["x-img-ignored"] = ignored
        if _etag_matches(request.if_none_match, etag):
            return _not_modified(headers)
        if request.method == "HEAD":
            return _send(request, Blob(size=row.bytes), headers)
        accelerated = self._accel(request, row.blob_key, headers)
        if accelerated is not None:
            return accelerated
        redirected = await self._presigned(request, row.blob_key, headers, stored=True)
        if redirected is not None:
            return redirected
        stream = self.services.blobs.stream(row.blob_key, STREAM_CHUNK)
        try:
            first = await anext(aiter(stream))
        except BlobNotFound:
            raise NotFound("Not found.") from None
        except StopAsyncIteration:
            first = b""

        async def body() -> AsyncIterator[bytes]:
            yield first
            async for chunk in stream:
                yield chunk

        headers["content-length"] = str(row.bytes)
        return StreamingResponse(body(), status_code=200, headers=headers)


__all__ = ["PREFIX", "CdnHandler"]
