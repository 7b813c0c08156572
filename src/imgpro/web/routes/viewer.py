"""``/{id}``: the viewer page of one image (SPEC §8).

The route only matches paths that look like image ids — 8 characters of ``[a-z0-9]`` with at
least one digit (``imgpro.ids.image_id``) — so it can never shadow a named page such as
``/pricing`` or ``/dashboard``, whatever order routers are added in. It is still mounted last.

Missing, expired, blocked and (to anyone but their owner) private images all answer the same
HTML 404 (``not_found.html``), so the page reveals nothing about an id it will not show. Which
rows those are is decided by the images repository (``repository.on_page``).
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from imgpro.errors import NotFound
from imgpro.images import repository as repo
from imgpro.images.schemas import image_object
from imgpro.transforms.sizes import SOCIAL_SIZE
from imgpro.web.pages import page, web_router
from imgpro.web.sessions import OptionalViewer, services_of

IMAGE_ID_PATTERN = "(?=[a-z]*[0-9])[a-z0-9]{8}"


class ImageIdConvertor(Convertor[str]):
    regex = IMAGE_ID_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("image_id", ImageIdConvertor())

router = web_router()


def _srcset(image: dict[str, Any]) -> str | None:
    """``url w`` candidates from the Image object's ``sizes`` plus the original when larger."""
    if not image["sizes"]:
        return None
    candidates: dict[int, str] = {}
    for size in image["sizes"].values():
        candidates.setdefault(size["width"], size["url"])
    if image["width"] and image["width"] not in candidates:
        candidates[image["width"]] = image["url"]
    return ", ".join(f"{url} {width}w" for width, url in sorted(candidates.items()))


def _markdown_text(text: str) -> str:
    return "".join(f"\\{c}" if c in "\\[]" else c for c in " ".join(text.split()))


def _view(image: dict[str, Any]) -> dict[str, Any]:
    shown = image["sizes"].get("medium") if image["sizes"] else None
    transformable = image["transformable"]
    title = image["caption"] or image["filename"]
    return {
        "image": image,
        "title": title,
        "alt": image["caption"] or f"Image {image['filename']}",
        "src": shown["url"] if shown else image["url"],
        "display": (shown["width"], shown["height"])
        if shown
        else (image["width"], image["height"]),
        "srcset": _srcset(image),
        "og_image": f"{image['url']}?size=social" if transformable else image["url"],
        "og_size": SOCIAL_SIZE if transformable else None,
        "html_embed": f'<img src="{image["url"]}" alt="{html.escape(title)}">',
        "markdown": f"![{_markdown_text(title)}]({image['url']})",
    }


@router.api_route("/{image_id:image_id}", methods=["GET", "HEAD"])
async def view_image(image_id: str, request: Request, viewer: OptionalViewer) -> Response:
    services = services_of(request)
    # Who may see which image is the images repository's rule (``repo.on_page``), not ours.
    visitor = viewer.workspace_id if viewer is not None else None
    async with services.db.read() as conn:
        row = await repo.get_on_page(conn, image_id, visitor, services.clock.now())
    if row is None:
        raise NotFound()
    response = page(request, "viewer.html", _view(image_object(row, services.links)))
    # Deleting or hiding an image must take its page down at once: caches revalidate.
    response.headers.setdefault("Cache-Control", "no-cache")
    return response
