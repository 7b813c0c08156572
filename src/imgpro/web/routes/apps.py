"""``/apps``: register an app, see its users and images, rotate its secret, edit redirect URIs,
pause and resume — through the apps domain service. Paid plans only; a free account sees an
upgrade prompt.

A new or rotated secret is rendered in the answer to the POST itself (``no-store``) and nowhere
else, exactly like a new API key: imgpro keeps only its hash.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts.sessions import SessionUser
from imgpro.apps.service import AppNotFound
from imgpro.errors import Forbidden, ValidationFailed
from imgpro.web import csrf
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import VERIFY_FIRST, CurrentViewer, may_create, services_of

router = web_router()

NOTICES = {
    "paused": "The app is paused: its requests answer 403 app_suspended until you resume it.",
    "resumed": "The app is active again.",
    "redirects": "Redirect URIs saved.",
}


def _uris(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


async def _apps_page(request: Request, viewer: SessionUser, *, status_code: int = 200,
                     **context: Any) -> Response:
    services = services_of(request)
    plan = services.plans.get(viewer.plan)
    upgrade_url = None
    if not plan.apps:
        target = next((p for p in services.plans.plans[services.plans.rank(plan.name) + 1:]
                       if p.apps), None)
        if target is not None:
            upgrade_url = services.billing.links.url(viewer.workspace_id, target.name,
                                                     services.clock.now())
    apps = await services.apps.list_owned(viewer.user_id)
    return page(request, "apps.html", {"current": "apps", "allowed": plan.apps, "apps": apps,
                                       "upgrade_url": upgrade_url, **context},
                status_code=status_code)


@router.get("/apps")
async def apps_page(request: Request, viewer: CurrentViewer) -> Response:
    return await _apps_page(request, viewer,
                            notice=NOTICES.get(request.query_params.get("notice", "")))


def _secret_response(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/apps")
async def register(request: Request, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    services = services_of(request)
    name, uris = str(form.get("name", "")), str(form.get("redirect_uris", ""))
    if not may_create(services, viewer):
        return await _apps_page(request, viewer, status_code=403, errors=[VERIFY_FIRST],
                                form_name=name, form_uris=uris)
    try:
        app, secret = await services.apps.register(
            owner_user_id=viewer.user_id, name=name, redirect_uris=_uris(uris),
            plan_allows_apps=services.plans.get(viewer.plan).apps, now=services.clock.now())
    except (ValidationFailed, Forbidden) as e:
        return await _apps_page(request, viewer, status_code=e.status, errors=[e.message],
                                form_name=name, form_uris=uris)
    return _secret_response(await _apps_page(request, viewer, status_code=201,
                                             new_secret={"app": app, "secret": secret}))


async def _owned_action(request: Request) -> Any:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    return form


@router.post("/apps/{app_id}/rotate")
async def rotate(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    await _owned_action(request)
    services = services_of(request)
    try:
        secret = await services.apps.rotate_secret(viewer.user_id, app_id, services.clock.now())
        app = await services.apps.owned(viewer.user_id, app_id)
    except AppNotFound:
        return redirect("/apps")
    return _secret_response(await _apps_page(request, viewer, new_secret={
        "app": app, "secret": secret, "rotated": True}))


@router.post("/apps/{app_id}/redirects")
async def set_redirects(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    form = await _owned_action(request)
    try:
        await services_of(request).apps.set_redirect_uris(
            viewer.user_id, app_id, _uris(str(form.get("redirect_uris", ""))))
    except AppNotFound:
        return redirect("/apps")
    except ValidationFailed as e:
        return await _apps_page(request, viewer, status_code=422, errors=[e.message])
    return redirect("/apps?notice=redirects")


@router.post("/apps/{app_id}/pause")
async def pause(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    return await _set_paused(request, app_id, viewer, True)


@router.post("/apps/{app_id}/resume")
async def resume(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    return await _set_paused(request, app_id, viewer, False)


async def _set_paused(request: Request, app_id: str, viewer: SessionUser,
                      paused: bool) -> Response:
    await _owned_action(request)
    try:
        await services_of(request).apps.set_paused(viewer.user_id, app_id, paused)
    except AppNotFound:
        return redirect("/apps")
    return redirect("/apps?notice=" + ("paused" if paused else "resumed"))
