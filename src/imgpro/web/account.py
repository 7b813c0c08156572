"""Account data the signed-in pages share, read through the billing domain's services."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from imgpro.web.sessions import services_of


async def usage_of(request: Request, workspace_id: str) -> dict[str, Any]:
    """The SPEC §3.5 usage object — the very one ``GET /v1/usage`` returns."""
    usage = await services_of(request).usage.for_workspace(workspace_id)
    return usage.as_object()
