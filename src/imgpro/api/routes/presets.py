"""``/v1/presets`` (named CDN parameter sets) and ``/v1/settings`` (signed transforms).

Reads need ``read``, writes need ``write``; both act on the caller's workspace only. The
abilities are checked before the body is read, as on ``/v1/images``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from imgpro.api.bodies import body_schema, read_json
from imgpro.api.deps import CurrentPrincipal, Svc
from imgpro.api.routes.images import require
from imgpro.errors import ValidationFailed
from imgpro.principal import Ability

router = APIRouter(prefix="/v1", tags=["presets"])


class PresetOut(BaseModel):
    object: str = "preset"
    name: str
    params: dict[str, str]
    created_at: str
    updated_at: str


class PresetListOut(BaseModel):
    object: str = "list"
    data: list[PresetOut]


class PresetDeletedOut(BaseModel):
    object: str = "preset"
    name: str
    deleted: bool = True


class SettingsOut(BaseModel):
    object: str = "settings"
    signed_transforms: bool
    signing_secret_set: bool
    signing_secret: str | None = None  # only in the answer that created it


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signed_transforms: bool


_PRESET_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number"]},
                    "minProperties": 1,
                    "maxProperties": 32,
                },
                "example": {"w": 400, "h": 300, "fit": "cover", "format": "webp"},
            }
        },
    }
}


@router.get("/presets", response_model=PresetListOut, summary="List presets")
async def list_presets(principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.READ)
    presets = await services.presets.list(principal.workspace_id)
    return {"object": "list", "data": [p.as_object() for p in presets]}


@router.get("/presets/{name}", response_model=PresetOut, summary="Get a preset")
async def get_preset(name: str, principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.READ)
    return (await services.presets.get(principal.workspace_id, name)).as_object()


@router.put(
    "/presets/{name}",
    response_model=PresetOut,
    summary="Create or replace a preset",
    responses={201: {"model": PresetOut, "description": "Created"}},
    openapi_extra=_PRESET_BODY,
)
async def put_preset(
    name: str, request: Request, principal: CurrentPrincipal, services: Svc
) -> JSONResponse:
    require(principal, Ability.WRITE)
    body = await read_json(request)
    preset, created = await services.presets.put(principal.workspace_id, name, body)
    return JSONResponse(preset.as_object(), status_code=201 if created else 200)


@router.delete("/presets/{name}", response_model=PresetDeletedOut, summary="Delete a preset")
async def delete_preset(name: str, principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    await services.presets.delete(principal.workspace_id, name)
    return {"object": "preset", "name": name, "deleted": True}


@router.get("/settings", response_model=SettingsOut, summary="Delivery settings", tags=["settings"])
async def get_settings(principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.READ)
    return (await services.transform_policy.get(principal.workspace_id)).as_object()


@router.patch(
    "/settings",
    response_model=SettingsOut,
    summary="Turn signed transforms on/off",
    tags=["settings"],
    openapi_extra=body_schema(SettingsUpdate),
)
async def patch_settings(
    request: Request, principal: CurrentPrincipal, services: Svc
) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    body = await read_json(request, SettingsUpdate)
    if not isinstance(body.get("signed_transforms"), bool):
        raise ValidationFailed(
            details=[{"field": "signed_transforms", "message": "expected true or false"}]
        )
    policy, secret = await services.transform_policy.set_signed(
        principal.workspace_id, body["signed_transforms"]
    )
    out = policy.as_object()
    if secret is not None:
        out["signing_secret"] = secret  # shown this once; rotate it from the dashboard
    return out
