"""``/apps``: register an app, see its users and images, create, rotate and revoke its named
secrets, edit redirect URIs, pause and resume — through the apps domain service. How many apps
an account may register is plan data (the free plan allows one); at the limit the page offers
an upgrade to the next plan that allows more.

A new or rotated secret is rendered in the answer to the POST itself (``no-store``) and nowhere
else, exactly like a new API key: imgpro keeps only its hash.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts.sessions import SessionUser
from imgpro.apps.secrets import SecretNotFound
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
    "revoked": "The secret is revoked: requests with it answer 401 from now on.",
}


def _uris(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


async def _apps_page(
    request: Request, viewer: SessionUser, *, status_code: int = 200, **context: Any
) -> Response:
    services = services_of(request)
    plan = services.plans.get(viewer.plan)
    registered, allowed = await services.apps.apps_allowed(viewer.user_id, plan.name)
    upgrade_url = None
    if not allowed:
        # The next plan that allows more apps than the owner has.
        target = next(
            (
                p
                for p in services.plans.plans[services.plans.rank(plan.name) + 1 :]
                if p.allows_apps(registered)
            ),
            None,
        )
        if target is not None:
            upgrade_url = services.billing.links.url(
                viewer.workspace_id, target.name, services.clock.now()
            )
    apps = await services.apps.list_owned(viewer.user_id)
    return page(
        request,
        "apps.html",
        {
            "current": "apps",
            "allowed": allowed,
            "plan": plan,
            "registered": registered,
            "apps": apps,
            "upgrade_url": upgrade_url,
            **context,
        },
        status_code=status_code,
    )


@router.get("/apps")
async def apps_page(request: Request, viewer: CurrentViewer) -> Response:
    return await _apps_page(
        request, viewer, notice=NOTICES.get(request.query_params.get("notice", ""))
    )


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
        return await _apps_page(
            request, viewer, status_code=403, errors=[VERIFY_FIRST], form_name=name, form_uris=uris
        )
    try:
        app, secret = await services.apps.register(
            owner_user_id=viewer.user_id,
            name=name,
            redirect_uris=_uris(uris),
            now=services.clock.now(),
        )
    except (ValidationFailed, Forbidden) as e:
        return await _apps_page(
            request,
            viewer,
            status_code=e.status,
            errors=[e.message],
            form_name=name,
            form_uris=uris,
        )
    return _secret_response(
        await _apps_page(
            request, viewer, status_code=201, new_secret={"app": app, "secret": secret}
        )
    )


async def _owned_action(request: Request) -> Any:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    return form


@router.post("/apps/{app_id}/rotate")
async def rotate(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    """Replace one secret (``secret_id`` in the form) or, without it, every active one."""
    form = await _owned_action(request)
    services = services_of(request)
    secret_id = str(form.get("secret_id", "")).strip() or None
    try:
        secret = await services.apps.rotate_secret(
            viewer.user_id, app_id, services.clock.now(), secret_id=secret_id
        )
        app = await services.apps.owned(viewer.user_id, app_id)
    except (AppNotFound, SecretNotFound):
        return redirect("/apps")
    return _secret_response(
        await _apps_page(
            request, viewer, new_secret={"app": app, "secret": secret, "rotated": True}
        )
    )


@router.post("/apps/{app_id}/secrets")
async def create_secret(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    """One more named secret (e.g. one per site or environment), shown once."""
    form = await _owned_action(request)
    services = services_of(request)
    name = str(form.get("name", ""))
    try:
        info, secret = await services.apps.create_secret(
            viewer.user_id, app_id, name, services.clock.now()
        )
        app = await services.apps.owned(viewer.user_id, app_id)
    except AppNotFound:
        return redirect("/apps")
    except ValidationFailed as e:
        return await _apps_page(request, viewer, status_code=422, errors=[e.message])
    return _secret_response(
        await _apps_page(
            request,
            viewer,
            status_code=201,
            new_secret={"app": app, "secret": secret, "name": info.name},
        )
    )


@router.post("/apps/{app_id}/secrets/{secret_id}/revoke")
async def revoke_secret(
    request: Request, app_id: str, secret_id: str, viewer: CurrentViewer
) -> Response:
    await _owned_action(request)
    services = services_of(request)
    try:
        await services.apps.revoke_secret(viewer.user_id, app_id, secret_id, services.clock.now())
    except (AppNotFound, SecretNotFound):
        return redirect("/apps")
    return redirect("/apps?notice=revoked")


@router.post("/apps/{app_id}/redirects")
async def set_redirects(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    form = await _owned_action(request)
    try:
        await services_of(request).apps.set_redirect_uris(
            viewer.user_id, app_id, _uris(str(form.get("redirect_uris", "")))
        )
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


async def _set_paused(request: Request, app_id: str, viewer: SessionUser, paused: bool) -> Response:
    await _owned_action(request)
    try:
        await services_of(request).apps.set_paused(viewer.user_id, app_id, paused)
    except AppNotFound:
        return redirect("/apps")
    return redirect("/apps?notice=" + ("paused" if paused else "resumed"))
