"""``/keys``: create (shown once), list, revoke — through the keys domain service.

The new key's secret is rendered in the answer to the POST itself (with ``no-store``) and
nowhere else: it is never written to the database, a cookie or a redirect URL, so it truly
cannot be shown again. That is the one deliberate exception to post/redirect/get here; a
reload asks the browser to re-send the form, which would create another key, not reveal this
one.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts import notify
from imgpro.accounts.sessions import SessionUser
from imgpro.errors import ValidationFailed
from imgpro.keys.service import KeyNotFound, parse_abilities
from imgpro.web import csrf
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import VERIFY_FIRST, CurrentViewer, may_create, services_of

router = web_router()

NOTICES = {"revoked": "The key was revoked. Requests using it now answer 401."}


async def _keys_page(
    request: Request, viewer: SessionUser, *, status_code: int = 200, **context: Any
) -> Response:
    keys = await services_of(request).keys.of_user(viewer.user_id)
    # Least privilege: a fresh form offers Read only; Write (upload, update, delete) is a
    # deliberate tick. Pre-ticking it made "I ticked Read" produce a read+write key.
    context.setdefault("form_abilities", ["read"])
    return page(
        request, "keys.html", {"current": "keys", "keys": keys, **context}, status_code=status_code
    )


@router.get("/keys")
async def keys_page(request: Request, viewer: CurrentViewer) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return await _keys_page(request, viewer, notice=notice)


@router.post("/keys")
async def create(request: Request, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    name = str(form.get("name", ""))
    chosen = [a for a in form.getlist("abilities") if a in ("read", "write")]
    services = services_of(request)
    if not may_create(services, viewer):
        return await _keys_page(
            request,
            viewer,
            status_code=403,
            errors=[VERIFY_FIRST],
            form_name=name,
            form_abilities=chosen,
        )
    try:
        secret, info = await services.keys.create(
            user_id=viewer.user_id,
            workspace_id=viewer.workspace_id,
            name=name,
            abilities=parse_abilities(chosen),
        )
    except ValidationFailed as e:
        return await _keys_page(
            request,
            viewer,
            status_code=422,
            errors=[e.message],
            form_name=name,
            form_abilities=chosen,
        )
    await notify.key_created(
        services, viewer.user_id, info.name, info.display_prefix, info.abilities
    )
    response = await _keys_page(
        request, viewer, status_code=201, new_key={"secret": secret, "info": info}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/keys/{key_id}/revoke")
async def confirm_revoke(request: Request, key_id: str, viewer: CurrentViewer) -> Response:
    keys = {k.id: k for k in await services_of(request).keys.of_user(viewer.user_id)}
    key = keys.get(key_id)
    if key is None or key.revoked_at is not None:
        return redirect("/keys")
    return page(
        request,
        "confirm.html",
        {
            "current": "keys",
            "title": f"Revoke the key “{key.name}”?",
            "message": f"Programs using {key.display_prefix}… will get 401 from their next "
            "request. This cannot be undone; you can create a new key at any time.",
            "action": f"/keys/{key_id}/revoke",
            "button": "Revoke key",
            "cancel": "/keys",
        },
    )


@router.post("/keys/{key_id}/revoke")
async def revoke(request: Request, key_id: str, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    services = services_of(request)
    try:
        await services.keys.revoke(key_id, user_id=viewer.user_id)
    except KeyNotFound:
        return redirect("/keys")
    return redirect("/keys?notice=revoked")
