"""``/pricing``: the plans of the live configuration (the docs live in routes/docs.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from imgpro.web.pages import page, web_router
from imgpro.web.sessions import OptionalViewer, services_of

router = web_router()


@router.get("/pricing")
async def pricing(request: Request, viewer: OptionalViewer) -> Response:
    services = services_of(request)
    return page(
        request,
        "pricing.html",
        {
            "current": "pricing",
            "plans": services.plans.plans,
            "current_plan": services.plans.get(viewer.plan).name if viewer else None,
        },
    )
