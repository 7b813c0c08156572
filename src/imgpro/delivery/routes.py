"""The CDN face: ``GET|HEAD /i/{prefix}/{id}.{ext}``.

The URL is the capability: an image is found by id alone (its prefix must match), public or
not. Non-transformable formats (SVG, BMP, ICO) are served exactly as stored; everything else is
served as a re-encoded copy (orientation applied, metadata stripped), rendered once and then
kept in the blob store as a variant.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from imgpro.errors import NotFound
from imgpro.images import repository as repo
from imgpro.services import Services
from imgpro.storage import BlobNotFound
from imgpro.transforms.render import Renderer

router = APIRouter(tags=["delivery"])

IMMUTABLE = "public, max-age=31536000, immutable"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
MIME = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
        "avif": "image/avif", "svg": "image/svg+xml", "bmp": "image/bmp", "ico": "image/x-icon"}
EXT_ALIASES = {"jpeg": "jpg"}


def _split(name: str) -> tuple[str, str]:
    image_id, dot, ext = name.rpartition(".")
    if not dot or not image_id:
        raise NotFound("Not found.")
    ext = ext.lower()
    return image_id, EXT_ALIASES.get(ext, ext)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _base_headers(row: Any, etag: str, fmt: str) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff",
               "Content-Type": MIME[fmt]}
    if not row.public:
        headers["X-Robots-Tag"] = "noindex"
    if fmt == "svg":
        headers["Content-Security-Policy"] = SVG_CSP
    return headers


async def _stream_blob(services: Services, key: str, request: Request, headers: dict[str, str],
                       size: int) -> Response:
    headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    stream = services.blobs.stream(key)
    try:
        first = await anext(aiter(stream))
    except BlobNotFound:
        raise NotFound("Not found.") from None
    except StopAsyncIteration:
        first = b""

    async def body() -> Any:
        yield first
        async for chunk in stream:
            yield chunk

    return StreamingResponse(body(), status_code=200, headers=headers,
                             media_type=headers["Content-Type"])


@router.api_route("/i/{prefix}/{name}", methods=["GET", "HEAD"], include_in_schema=True,
                  summary="Serve an image (CDN)", response_class=Response)
async def serve_image(prefix: str, name: str, request: Request) -> Response:
    services: Services = request.app.state.services
    renderer: Renderer = request.app.state.renderer
    image_id, ext = _split(name)
    async with services.db.read() as conn:
        row = await repo.get_for_delivery(conn, image_id, services.clock.now())
    if row is None or row.prefix != prefix:
        raise NotFound("Not found.")

    if not row.transformable:
        # Served as stored, under its own extension only.
        if ext != row.format:
            raise NotFound("Not found.")
        etag = f'"{row.sha256}"'
        headers = _base_headers(row, etag, row.format)
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={k: v for k, v in headers.items()
                                                      if k != "Content-Type"})
        return await _stream_blob(services, row.blob_key, request, headers, row.bytes)

    variant = renderer.plan(row, ext, list(request.query_params.multi_items()),
                            request.headers.get("accept"))
    if variant is None:
        raise NotFound("Not found.")
    headers = _base_headers(row, variant.etag, variant.format)
    headers.update(variant.extra_headers)
    if _etag_matches(request.headers.get("if-none-match"), variant.etag):
        return Response(status_code=304, headers={k: v for k, v in headers.items()
                                                  if k != "Content-Type"})
    size = await services.blobs.size(variant.key)
    if size is None:
        await renderer.render(row, variant)
        size = await services.blobs.size(variant.key)
        if size is None:  # deleted while rendering
            raise NotFound("Not found.")
    return await _stream_blob(services, variant.key, request, headers, size)


__all__ = ["router"]
