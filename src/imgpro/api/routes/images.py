"""``/v1/images``: the edge parses input, checks abilities, calls ImageService, shapes output.

Bodies are read by hand, after the principal and its abilities are checked: a read-only key
posting an invalid body gets 403, not 422, and nothing is read or created.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from imgpro.api.bodies import body_schema, read_json
from imgpro.api.deps import CurrentPrincipal, Svc
from imgpro.errors import ApiError, Forbidden, Unauthorized, ValidationFailed
from imgpro.http.uploads import upload_request
from imgpro.images.schemas import (
    BatchIds,
    BatchResultOut,
    BatchUpdate,
    DeletedOut,
    ImageListOut,
    ImageOut,
    ImageUpdate,
    ImportBody,
)
from imgpro.images.upload import API
from imgpro.principal import Ability, Principal

router = APIRouter(prefix="/v1", tags=["images"])


def require(principal: Principal, ability: Ability, *, anonymous_ok: bool = False) -> None:
    if principal.is_anonymous and not anonymous_ok:
        raise Unauthorized("This endpoint needs an API key.")
    if not principal.can(ability):
        raise Forbidden(f"This key does not have the '{ability.value}' ability.")


@router.post(
    "/images",
    status_code=201,
    response_model=ImageOut,
    summary="Upload or import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "caption": {"type": "string"},
                            "public": {"type": "boolean"},
                            "ttl": {"type": "string"},
                            "metadata": {"type": "string"},
                            "labels": {"type": "string"},
                        },
                    }
                },
                "application/json": {"schema": ImportBody.model_json_schema()},
            },
        }
    },
)
async def create_image(
    request: Request, principal: CurrentPrincipal, services: Svc
) -> JSONResponse:
    """A thin adapter over the upload use case (images/upload.py): the rate-limit slot, caps,
    idempotency, spooling or importing, probing and recording all happen there."""
    require(principal, Ability.WRITE, anonymous_ok=True)
    result = await services.uploads.upload(
        upload_request(request, principal, API, watch_disconnect=True)
    )
    answer_headers = dict(result.headers)
    if result.replayed:
        answer_headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.images[0], status_code=result.status, headers=answer_headers)


# The read routes return their JSON themselves: FastAPI skips response_model validation for a
# Response, and the service already builds exactly the documented shape. Re-validating a
# 100-image page with pydantic was ~19 % of its CPU. response_model stays for OpenAPI only.
@router.get("/images", response_model=ImageListOut, summary="List images, newest first")
async def list_images(request: Request, principal: CurrentPrincipal, services: Svc) -> JSONResponse:
    require(principal, Ability.READ)
    query = request.query_params
    labels: list[tuple[str, str]] = []
    for key, value in query.multi_items():
        if key.startswith("label[") and key.endswith("]") and len(key) > 7:
            labels.append((key[6:-1], value))
    limit_text = query.get("limit", "20")
    if not limit_text.isdigit():
        raise ValidationFailed(
            "limit must be a number from 1 to 100.",
            details=[{"field": "limit", "message": "between 1 and 100"}],
        )
    ids = None
    if query.get("ids"):
        ids = [i.strip() for i in query["ids"].split(",") if i.strip()]
    page = await services.images.list(
        principal, limit=int(limit_text), cursor=query.get("cursor"), labels=labels, only_ids=ids
    )
    return JSONResponse(
        {
            "object": "list",
            "data": page.data,
            "pagination": {"next_cursor": page.next_cursor, "has_more": page.has_more},
        }
    )


# Batch routes are declared before /images/{id} so "batch" is never taken for an id.
@router.delete(
    "/images/batch",
    response_model=BatchResultOut,
    summary="Delete up to 100 images",
    openapi_extra=body_schema(BatchIds),
)
async def batch_delete(
    request: Request, principal: CurrentPrincipal, services: Svc
) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    data = await read_json(request, BatchIds)
    return await services.images.batch_delete(principal, data["ids"])


@router.patch(
    "/images/batch",
    response_model=BatchResultOut,
    summary="Update up to 100 images",
    openapi_extra=body_schema(BatchUpdate),
)
async def batch_update(
    request: Request, principal: CurrentPrincipal, services: Svc
) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    data = await read_json(request, BatchUpdate)
    return await services.images.batch_update(principal, data["ids"], data["set"])


@router.get("/images/{image_id}", response_model=ImageOut, summary="Get one image")
async def get_image(image_id: str, principal: CurrentPrincipal, services: Svc) -> JSONResponse:
    require(principal, Ability.READ)
    return JSONResponse(await services.images.get(principal, image_id))


@router.patch(
    "/images/{image_id}",
    response_model=ImageOut,
    summary="Update an image",
    openapi_extra=body_schema(ImageUpdate),
)
async def update_image(
    image_id: str, request: Request, principal: CurrentPrincipal, services: Svc
) -> JSONResponse:
    require(principal, Ability.WRITE)
    data = await read_json(request, ImageUpdate)
    return JSONResponse(await services.images.update(principal, image_id, data))


@router.delete("/images/{image_id}", response_model=DeletedOut, summary="Delete an image")
async def delete_image(image_id: str, principal: CurrentPrincipal, services: Svc) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    return await services.images.delete(principal, image_id)


__all__ = ["ApiError", "router"]
