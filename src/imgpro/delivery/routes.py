"""The CDN route as the OpenAPI document shows it.

Requests for ``/i/…`` never walk FastAPI's router: ``app.py`` hands them to the plain ASGI
:class:`~imgpro.delivery.handler.CdnHandler` first. These routes exist for the document (GET and
HEAD with their own operation ids), and should a request reach them anyway (the app mounted
under another router), they hand it to the same handler.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send


class HandOffRoute(APIRoute):
    """Documented like any route; handled by the app's CDN handler (``ImgproApp.cdn``)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].cdn(scope, receive, send)


router = APIRouter(tags=["delivery"], route_class=HandOffRoute)


@router.get(
    "/i/{prefix}/{name}",
    summary="Serve an image (CDN)",
    response_class=Response,
    operation_id="serve_image",
)
@router.head(
    "/i/{prefix}/{name}",
    summary="Headers of an image (CDN)",
    response_class=Response,
    operation_id="serve_image_head",
)
async def serve_image(prefix: str, name: str) -> Response:  # pragma: no cover - documentation
    """``name`` is ``{id}.{ext}``; the query holds the transforms (docs/transforms.md)."""
    # Unreachable: HandOffRoute.handle answers before FastAPI would call this body.
    raise RuntimeError("served by imgpro.delivery.handler.CdnHandler")


__all__ = ["router"]
