"""``GET /v1/usage``: the calling workspace's plan, limits and counters (SPEC §3.5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from imgpro.api.deps import CurrentPrincipal, Svc
from imgpro.api.routes.images import require
from imgpro.principal import Ability

router = APIRouter(prefix="/v1", tags=["usage"])


class _Period(BaseModel):
    start: str
    end: str


class _Meter(BaseModel):
    used: int
    limit: int | None  # null = unlimited


class _Limits(BaseModel):
    uploads: _Meter
    storage_bytes: _Meter
    images: _Meter


class _Totals(BaseModel):
    images_stored: int


class UsageOut(BaseModel):
    object: str = "usage"
    plan: str
    period: _Period
    limits: _Limits
    totals: _Totals
    limits_enforced: bool


@router.get("/usage", response_model=UsageOut, summary="Plan, limits and usage this month")
async def get_usage(principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.READ)
    usage = await services.usage.for_workspace(principal.workspace_id)
    return usage.as_object()
