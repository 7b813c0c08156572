"""``/pricing`` (the plans of the live configuration) and ``/docs`` (short human docs; the
interactive API reference stays at ``/docs/api``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from imgpro.web.pages import page, web_router
from imgpro.web.sessions import OptionalViewer, services_of

router = web_router()


@router.get("/pricing")
async def pricing(request: Request, viewer: OptionalViewer) -> Response:
    services = services_of(request)
    return page(request, "pricing.html", {
        "current": "pricing", "plans": services.plans.plans,
        "current_plan": services.plans.get(viewer.plan).name if viewer else None,
    })


@router.get("/docs")
async def docs(request: Request, viewer: OptionalViewer) -> Response:
    return page(request, "docs.html", {"current": "docs"})
