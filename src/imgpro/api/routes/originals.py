"""``GET /v1/images/{id}/original``: the stored original, byte for byte (an addition to the
img.pro API). The CDN serves re-encoded copies with metadata stripped; a backup
(``imgpro images export``) needs the file that was uploaded."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from imgpro.api.deps import CurrentPrincipal, Svc
from imgpro.api.routes.images import require
from imgpro.errors import NotFound
from imgpro.images.service import original_of
from imgpro.principal import Ability
from imgpro.storage.base import BlobNotFound

router = APIRouter(prefix="/v1", tags=["images"])

# What is stored (source_format) -> its media type. HEIC is stored as HEIC.
SOURCE_MEDIA = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
}
EXTENSION = {"jpeg": "jpg"}


@router.get(
    "/images/{image_id}/original",
    summary="Download the original file",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The uploaded file, byte for byte.",
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in sorted(set(SOURCE_MEDIA.values()))
            },
        }
    },
)
async def download_original(
    image_id: str, principal: CurrentPrincipal, services: Svc
) -> StreamingResponse:
    require(principal, Ability.READ)
    row = await original_of(services.images, principal, image_id)
    stream = services.blobs.stream(row.blob_key)
    try:
        first = await anext(aiter(stream))
    except BlobNotFound:
        raise NotFound("The original is missing from storage.") from None
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in stream:
            yield chunk

    ext = EXTENSION.get(row.source_format, row.source_format)
    return StreamingResponse(
        body(),
        media_type=SOURCE_MEDIA.get(row.source_format),
        headers={
            "Content-Length": str(row.bytes),
            "ETag": f'"{row.sha256}"',
            "X-Img-Sha256": row.sha256,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{row.id}.{ext}"',
        },
    )
