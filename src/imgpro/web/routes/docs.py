"""``/docs`` (the guides), ``/docs/api`` (Swagger UI from imgpro's own static files),
``/llms.txt`` and ``/llms-full.txt``. Every page is rendered from imgpro.docs' Markdown with this
server's own URLs, so a copied curl command works against the server that showed it."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from imgpro import ids
from imgpro.api.deps import ANONYMOUS
from imgpro.docs import pages
from imgpro.errors import ApiError, NotFound
from imgpro.images.fields import UploadOptions
from imgpro.images.intake import SpooledFile
from imgpro.imaging.probe import SNIFF_BYTES
from imgpro.web.pages import page, web_router
from imgpro.web.sessions import OptionalViewer, services_of

router = web_router()
SAMPLE = Path(pages.__file__).parent / "sample.jpg"
_sample_lock = asyncio.Lock()


def bases(request: Request) -> pages.Bases:
    """Configured base URLs win; otherwise the address this request reached (SPEC §1)."""
    settings = services_of(request).settings
    origin = str(request.base_url).rstrip("/")
    return pages.Bases(
        api=settings.api_base_url or origin,
        web=settings.web_base_url or origin,
        cdn=settings.cdn_base_url or f"{origin}/i",
    )


def _guide(request: Request, slug: str, extra: dict[str, object] | None = None) -> Response:
    guide = pages.BY_SLUG[slug]
    context = {
        "current": "docs",
        "guide": guide,
        "guides": pages.GUIDES,
        "body": pages.html(slug, bases(request)),
        **(extra or {}),
    }
    return page(request, "docs_page.html", context)


@router.get("/docs")
async def docs_index(request: Request, viewer: OptionalViewer) -> Response:
    return page(
        request,
        "docs_index.html",
        {"current": "docs", "guides": pages.GUIDES, "bases": bases(request)},
    )


@router.get("/docs/api")
async def api_reference(request: Request, viewer: OptionalViewer) -> Response:
    return page(
        request,
        "docs_api.html",
        {"current": "docs", "guides": pages.GUIDES, "openapi_url": "/openapi.json"},
    )


@router.get("/docs/transforms")
async def transforms_guide(request: Request, viewer: OptionalViewer) -> Response:
    sample = await sample_image(request)
    return _guide(request, "transforms", {"sample": sample})


@router.get("/docs/{slug}.md")
async def guide_markdown(request: Request, slug: str) -> Response:
    if slug not in pages.BY_SLUG:
        raise NotFound("No such page.")
    return PlainTextResponse(
        pages.markdown(slug, bases(request)), media_type="text/markdown; charset=utf-8"
    )


@router.get("/docs/{slug}")
async def guide(request: Request, slug: str, viewer: OptionalViewer) -> Response:
    if slug not in pages.BY_SLUG:
        raise NotFound("No such page.")
    return _guide(request, slug)


@router.get("/llms.txt")
async def llms_txt(request: Request) -> Response:
    return PlainTextResponse(pages.llms_txt(bases(request)))


@router.get("/llms-full.txt")
async def llms_full_txt(request: Request) -> Response:
    return PlainTextResponse(pages.llms_full_txt(bases(request)))


async def sample_image(request: Request) -> dict[str, object] | None:
    """The transforms preview's image: the sample JPEG shipped in the package, uploaded once as
    an anonymous image (public; it expires like any other, and is uploaded again after that).
    Its id is kept in the data directory, so a restart reuses it. None if it cannot be stored
    (the page then explains the parameters without a preview)."""
    services = services_of(request)
    marker = services.settings.data_dir / "docs-sample.id"
    async with _sample_lock:
        if marker.exists():
            try:
                return await services.images.get(ANONYMOUS, marker.read_text().strip())
            except ApiError:
                pass  # expired or deleted: upload it again
        tmp = services.images.tmp_dir / f"docs-sample-{ids.token(12)}.jpg"
        data = SAMPLE.read_bytes()
        tmp.write_bytes(data)
        upload = SpooledFile(
            path=tmp,
            size=len(data),
            head=data[:SNIFF_BYTES],
            filename="sample.jpg",
            digest_hex=hashlib.sha256(data).hexdigest(),
        )
        try:
            image = await services.images.create(
                ANONYMOUS, upload, UploadOptions(caption="imgpro docs sample")
            )
        except ApiError:
            upload.discard()
            return None
        marker.write_text(image["id"])
        return image
