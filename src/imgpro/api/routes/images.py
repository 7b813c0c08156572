"""``/v1/images``: the edge parses input, checks abilities, calls ImageService, shapes output.

Bodies are read by hand, after the principal and its abilities are checked: a read-only key
posting an invalid body gets 403, not 422, and nothing is read or created.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from imgpro.api.bodies import body_schema, read_json
from imgpro.api.deps import CurrentPrincipal, Svc
from imgpro.errors import (
    ApiError,
    Forbidden,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from imgpro.images.fields import upload_options
from imgpro.images.fingerprint import import_fingerprint, upload_fingerprint
from imgpro.images.idempotency import Claim, Replay, check_key
from imgpro.images.import_gate import until_disconnect
from imgpro.images.intake import MULTIPART_OVERHEAD, Caps, SpooledFile, receive_multipart
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
from imgpro.imaging.probe import sniff
from imgpro.principal import Ability, Principal
from imgpro.services import Services

router = APIRouter(prefix="/v1", tags=["images"])

def require(principal: Principal, ability: Ability, *, anonymous_ok: bool = False) -> None:
    if principal.is_anonymous and not anonymous_ok:
        raise Unauthorized("This endpoint needs an API key.")
    if not principal.can(ability):
        raise Forbidden(f"This key does not have the '{ability.value}' ability.")


def _caps(services: Services, principal: Principal) -> Caps:
    limits = services.settings.limits
    if principal.is_anonymous:
        return Caps(limits.anon_max_bytes, min(limits.svg_max_bytes, limits.anon_max_bytes),
                    too_large_action={"type": "signup", "url": f"{services.settings.web_base}"
                                      "/signup", "label": "Sign up for 70 MB uploads"})
    return Caps(limits.key_max_bytes, limits.svg_max_bytes)


class _Received:
    """The create request's body: an uploaded file on disk, or the URL to import."""

    def __init__(self, fields: dict[str, Any], spooled: SpooledFile | None = None,
                 url: str | None = None, body: dict[str, Any] | None = None) -> None:
        self.fields = fields
        self.spooled = spooled
        self.url = url
        self.body = body  # the JSON body as parsed (imports)

    def fingerprint(self) -> str:
        """What tells a retry from a different request: the parsed request, not raw bytes."""
        if self.spooled is not None:
            return upload_fingerprint(file_sha256=self.spooled.sha256,
                                      filename=self.spooled.filename,
                                      content_type=self.spooled.content_type,
                                      fields=self.fields)
        return import_fingerprint(self.body or {})

    def discard(self) -> None:
        if self.spooled is not None:
            self.spooled.discard()


async def _receive(request: Request, caps: Caps, tmp: Path) -> _Received:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > caps.max_bytes + MULTIPART_OVERHEAD:
            raise caps.error(caps.max_bytes)  # refuse before reading a byte
        spooled, fields = await receive_multipart(content_type, request.stream(), tmp, caps)
        if spooled is None:
            raise ValidationFailed("A 'file' part is required.",
                                   details=[{"field": "file", "message": "required"}])
        return _Received(fields, spooled=spooled)
    if content_type.startswith("application/json"):
        data = await read_json(request, ImportBody)
        return _Received({k: v for k, v in data.items() if k != "url"}, url=data["url"],
                         body=data)
    raise UnsupportedMediaType()


# Import failures that cost the server work (lookups, connects, downloads) and count against
# the failed-imports rate limit.
_IMPORT_FAILURES = frozenset({"fetch_failed", "file_too_large", "unsupported_format",
                              "invalid_image", "image_too_large"})


def _importer_id(request: Request, principal: Principal, services: Services) -> str:
    if not principal.is_anonymous:
        return principal.idempotency_scope
    address = services.ratelimits.client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"))
    return f"anon:{address}"


async def _import(request: Request, url: str, services: Services, caps: Caps) -> SpooledFile:
    # Imported on the first URL import: httpx pulls in click, rich and pygments (its CLI),
    # ~8 MB of every server process's RSS that uploads and the CDN never use (measured).
    from imgpro.images.importer import fetch_to_file

    # The body was read already: a hang-up from here on cancels the fetch.
    fetched = await until_disconnect(
        fetch_to_file(url, services.images.tmp_dir, max_bytes=caps.max_bytes,
                      settings=services.settings.imports), request.receive)
    spooled = SpooledFile(path=fetched.path, size=fetched.size, head=fetched.head,
                          filename=fetched.filename, digest_hex=fetched.sha256)
    if sniff(spooled.head) == "svg" and spooled.size > caps.svg_max_bytes:
        spooled.discard()
        raise caps.error(caps.svg_max_bytes)
    return spooled


@router.post("/images", status_code=201, response_model=ImageOut, summary="Upload or import",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                    "properties": {
                     "file": {"type": "string", "format": "binary"},
                     "caption": {"type": "string"}, "public": {"type": "boolean"},
                     "ttl": {"type": "string"}, "metadata": {"type": "string"},
                     "labels": {"type": "string"}}}},
                 "application/json": {"schema": ImportBody.model_json_schema()}}}})
async def create_image(request: Request, principal: CurrentPrincipal,
                       services: Svc) -> JSONResponse:
    require(principal, Ability.WRITE, anonymous_ok=True)
    if not principal.is_anonymous:
        return await _create_image(request, principal, services)  # plan quotas, no rate limit
    # Anonymous: take a slot of the per-address rate limit before reading a byte of the body
    # (429 when none is left); every answer, 201 or error, carries the RateLimit headers.
    ratelimits = services.ratelimits
    address = ratelimits.client_address(request.client.host if request.client else None,
                                        request.headers.getlist("x-forwarded-for"))
    decision = await ratelimits.anonymous_upload(address)
    try:
        response = await _create_image(request, principal, services)
    except ApiError as e:
        e.headers.update(decision.headers())
        raise
    response.headers.update(decision.headers())
    return response


async def _create_image(request: Request, principal: Principal,
                        services: Services) -> JSONResponse:
    idem_key = request.headers.get("idempotency-key")
    if idem_key is not None:
        check_key(idem_key)
    caps = _caps(services, principal)
    received = await _receive(request, caps, services.images.tmp_dir)
    try:
        opts = upload_options(received.fields)
        claim = None
        if idem_key is not None:
            outcome = await services.idempotency.claim(
                principal.idempotency_scope, idem_key, received.fingerprint(),
                services.clock.now())
            if isinstance(outcome, Replay):
                received.discard()
                return JSONResponse(outcome.body, status_code=outcome.status,
                                    headers={"Idempotent-Replayed": "true"})
            claim = outcome
    except BaseException:
        received.discard()
        raise
    if claim is None:
        image = await _store(request, received, principal, services, caps, opts, None)
        return JSONResponse(image, status_code=201)
    try:
        async with claim.held():  # renews the lease while the upload is stored (or fetched)
            image = await _store(request, received, principal, services, caps, opts, claim)
    except BaseException:
        # Failed: free the key for a corrected retry. If even that fails (storage down, the
        # process dying), the lease runs out and the next retry takes the claim over.
        with contextlib.suppress(Exception):
            await claim.release()
        raise
    return JSONResponse(image, status_code=201)


async def _store(request: Request, received: _Received, principal: Principal,
                 services: Services, caps: Caps, opts: Any, claim: Claim | None) -> dict[str, Any]:
    """Fetch (imports) and create the image; with a claim, its "done" record commits in the
    image's own transaction."""
    on_commit = None
    if claim is not None:
        async def on_commit(conn: Any, image: dict[str, Any]) -> None:
            await claim.complete_in(conn, 201, image)
    if received.spooled is not None:
        try:
            return await services.images.create(principal, received.spooled, opts,
                                                 on_commit=on_commit)
        finally:
            received.discard()
    # A URL import: refused at once (no lookup, no socket) when the caller has failed too
    # often lately or has too many imports running; failures are counted.
    who = _importer_id(request, principal, services)
    await services.ratelimits.check_imports(who)
    with services.import_gate.admit(who):
        try:
            spooled = await _import(request, str(received.url), services, caps)
            return await services.images.create(principal, spooled, opts, on_commit=on_commit)
        except ApiError as e:
            if e.code in _IMPORT_FAILURES:
                await services.ratelimits.import_failed(who)
            raise


# The read routes return their JSON themselves: FastAPI skips response_model validation for a
# Response, and the service already builds exactly the documented shape. Re-validating a
# 100-image page with pydantic was ~19 % of its CPU. response_model stays for OpenAPI only.
@router.get("/images", response_model=ImageListOut, summary="List images, newest first")
async def list_images(request: Request, principal: CurrentPrincipal,
                      services: Svc) -> JSONResponse:
    require(principal, Ability.READ)
    query = request.query_params
    labels: list[tuple[str, str]] = []
    for key, value in query.multi_items():
        if key.startswith("label[") and key.endswith("]") and len(key) > 7:
            labels.append((key[6:-1], value))
    limit_text = query.get("limit", "20")
    if not limit_text.isdigit():
        raise ValidationFailed("limit must be a number from 1 to 100.",
                               details=[{"field": "limit", "message": "between 1 and 100"}])
    ids = None
    if query.get("ids"):
        ids = [i.strip() for i in query["ids"].split(",") if i.strip()]
    page = await services.images.list(principal, limit=int(limit_text),
                                      cursor=query.get("cursor"), labels=labels, only_ids=ids)
    return JSONResponse({"object": "list", "data": page.data, "pagination": {
        "next_cursor": page.next_cursor, "has_more": page.has_more}})


# Batch routes are declared before /images/{id} so "batch" is never taken for an id.
@router.delete("/images/batch", response_model=BatchResultOut, summary="Delete up to 100 images",
               openapi_extra=body_schema(BatchIds))
async def batch_delete(request: Request, principal: CurrentPrincipal,
                       services: Svc) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    data = await read_json(request, BatchIds)
    return await services.images.batch_delete(principal, data["ids"])


@router.patch("/images/batch", response_model=BatchResultOut, summary="Update up to 100 images",
              openapi_extra=body_schema(BatchUpdate))
async def batch_update(request: Request, principal: CurrentPrincipal,
                       services: Svc) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    data = await read_json(request, BatchUpdate)
    return await services.images.batch_update(principal, data["ids"], data["set"])


@router.get("/images/{image_id}", response_model=ImageOut, summary="Get one image")
async def get_image(image_id: str, principal: CurrentPrincipal, services: Svc) -> JSONResponse:
    require(principal, Ability.READ)
    return JSONResponse(await services.images.get(principal, image_id))


@router.patch("/images/{image_id}", response_model=ImageOut, summary="Update an image",
              openapi_extra=body_schema(ImageUpdate))
async def update_image(image_id: str, request: Request, principal: CurrentPrincipal,
                       services: Svc) -> JSONResponse:
    require(principal, Ability.WRITE)
    data = await read_json(request, ImageUpdate)
    return JSONResponse(await services.images.update(principal, image_id, data))


@router.delete("/images/{image_id}", response_model=DeletedOut, summary="Delete an image")
async def delete_image(image_id: str, principal: CurrentPrincipal,
                       services: Svc) -> dict[str, Any]:
    require(principal, Ability.WRITE)
    return await services.images.delete(principal, image_id)


__all__ = ["ApiError", "router"]
