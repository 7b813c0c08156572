"""``/settings``: signed transforms on/off, the signing secret (shown once), rotation, and the
workspace's presets — through the same services as ``/v1/settings`` and ``/v1/presets``.

As on ``/keys``, a secret is rendered only in the answer to the POST that created it (with
``no-store``): it is never put in a cookie or a redirect URL, and the page never shows it again.
The server must keep it readable (it verifies HMACs with it), so "once" is about the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts.sessions import SessionUser
from imgpro.web import csrf
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import CurrentViewer, services_of

router = web_router()

NOTICES = {
    "on": "Signed transforms are on: transform URLs outside the open set need a signature.",
    "off": "Signed transforms are off: every transform URL works without a signature.",
}


async def _settings_page(
    request: Request, viewer: SessionUser, *, status_code: int = 200, **context: Any
) -> Response:
    services = services_of(request)
    policy = await services.transform_policy.get(viewer.workspace_id)
    presets = await services.presets.list(viewer.workspace_id)
    response = page(
        request,
        "settings.html",
        {"current": "settings", "policy": policy, "presets": presets, **context},
        status_code=status_code,
    )
    if "new_secret" in context:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/settings")
async def settings_page(request: Request, viewer: CurrentViewer) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return await _settings_page(request, viewer, notice=notice)


@router.post("/settings/signing")
async def set_signing(request: Request, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    signed = form.get("signed_transforms") == "on"
    _, secret = await services_of(request).transform_policy.set_signed(viewer.workspace_id, signed)
    if secret is not None:  # the first time on: the secret, this once
        return await _settings_page(request, viewer, notice=NOTICES["on"], new_secret=secret)
    return redirect("/settings?notice=" + ("on" if signed else "off"))


@router.get("/settings/rotate")
async def confirm_rotate(request: Request, viewer: CurrentViewer) -> Response:
    return page(
        request,
        "confirm.html",
        {
            "current": "settings",
            "title": "Rotate the signing secret?",
            "message": "A new secret replaces the old one at once: every URL signed with the old "
            "secret answers 403 from its next request until you sign it again.",
            "action": "/settings/rotate",
            "button": "Rotate secret",
            "cancel": "/settings",
        },
    )


@router.post("/settings/rotate")
async def rotate(request: Request, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    secret = await services_of(request).transform_policy.rotate_secret(viewer.workspace_id)
    return await _settings_page(request, viewer, new_secret=secret, rotated=True)
