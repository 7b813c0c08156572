"""``/billing`` (plan, usage, upgrade buttons) and ``/upgrade/{plan}`` (the signed link's page).

The upgrade buttons are the billing domain's own signed links, so a button and the link in a
quota error lead to the same page. Opening a link never changes anything by itself: the page
checks the signature, the expiry and that the signed-in person owns the workspace, then asks
for a confirming POST (CSRF-protected) — a GET (a prefetch, an ``<img>`` planted elsewhere)
can never change a plan. ``BillingService.apply_upgrade`` checks everything again.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.apps.service import AppNotFound
from imgpro.billing.service import UpgradeLink
from imgpro.billing.upgrade import InvalidUpgradeLink, UpgradeNotAllowed
from imgpro.web import csrf
from imgpro.web.account import usage_of
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import CurrentViewer, services_of

router = web_router()

NOTICES = {
    "upgraded": "Your plan was upgraded. The new limits apply now.",
    "requested": "Your upgrade request was sent to the operator; the plan changes once it is "
    "approved.",
    "unchanged": "Your plan already includes that; nothing was changed.",
    "disconnected": "The app was disconnected: its requests for you now answer 403.",
}


@router.get("/billing")
async def billing(request: Request, viewer: CurrentViewer) -> Response:
    services = services_of(request)
    usage = await usage_of(request, viewer.workspace_id)
    plan = services.plans.get(usage["plan"])
    rank = services.plans.rank(plan.name)
    now = services.clock.now()
    upgrade_urls = {
        p.name: services.billing.links.url(viewer.workspace_id, p.name, now)
        for p in services.plans.plans[rank + 1 :]
    }
    pending = [
        r.plan
        for r in await services.billing.requests(status="pending")
        if r.workspace_id == viewer.workspace_id
    ]
    connected = []
    for c in await services.apps.connections(viewer.user_id):
        app_plan = services.plans.get(c["plan"])
        next_plan = services.plans.next_after(app_plan.name)
        connected.append(
            {
                **c,
                "usage": await usage_of(request, c["workspace_id"]),
                "plan_title": app_plan.title,
                "next_plan": next_plan,
                "upgrade_url": services.billing.links.url(c["workspace_id"], next_plan.name, now)
                if next_plan
                else None,
            }
        )
    return page(
        request,
        "billing.html",
        {
            "connected": connected,
            "current": "billing",
            "usage": usage,
            "plan": plan,
            "plans": services.plans.plans,
            "current_plan": plan.name,
            "upgrade_urls": upgrade_urls,
            "pending": ", ".join(services.plans.get(p).title for p in pending) or None,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
        },
    )


def _problem(request: Request, status: int, title: str, message: str) -> Response:
    return page(
        request,
        "upgrade.html",
        {"current": "billing", "problem": {"title": title, "message": message}},
        status_code=status,
    )


def _invalid(request: Request, e: InvalidUpgradeLink) -> Response:
    if e.reason == "expired":
        return _problem(request, 410, "This upgrade link has expired", e.message)
    return _problem(
        request,
        400,
        "This upgrade link is not valid",
        "The link is incomplete or was changed after it was made. " + e.message
        if e.reason != "unknown_plan"
        else e.message,
    )


def _not_yours(request: Request) -> Response:
    return _problem(
        request,
        403,
        "This upgrade link is for another account",
        "Log in as the account the link was made for, or upgrade your own plan from "
        "your billing page.",
    )


@router.get("/upgrade/{plan}")
async def upgrade_page(
    request: Request, plan: str, viewer: CurrentViewer, t: str = "", exp: str = "", sig: str = ""
) -> Response:
    services = services_of(request)
    link = UpgradeLink(plan=plan, t=t, exp=exp, sig=sig)
    try:
        grant = services.billing.verify_link(link)
    except InvalidUpgradeLink as e:
        return _invalid(request, e)
    current = await services.accounts.owned_workspace_plan(grant.workspace_id, viewer.user_id)
    if current is None:
        return _not_yours(request)
    if services.plans.rank(grant.plan) <= services.plans.rank(current):
        return redirect("/billing?notice=unchanged")
    context: dict[str, Any] = {
        "current": "billing",
        "plan": services.plans.get(grant.plan),
        "current_plan_obj": services.plans.get(current),
        "action": f"/upgrade/{plan}",
        "link_fields": {"t": t, "exp": exp, "sig": sig},
    }
    return page(request, "upgrade.html", context)


@router.post("/upgrade/{plan}")
async def upgrade(request: Request, plan: str, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    link = UpgradeLink(
        plan=plan,
        t=str(form.get("t", "")),
        exp=str(form.get("exp", "")),
        sig=str(form.get("sig", "")),
    )
    try:
        change = await services_of(request).billing.apply_upgrade(
            link.t, link, user_id=viewer.user_id
        )
    except InvalidUpgradeLink as e:
        return _invalid(request, e)
    except UpgradeNotAllowed:
        return _not_yours(request)
    notice = {"applied": "upgraded"}.get(change.status, change.status)
    return redirect(f"/billing?notice={notice}")


@router.post("/billing/apps/{app_id}/disconnect")
async def disconnect_app(request: Request, app_id: str, viewer: CurrentViewer) -> Response:
    """Disconnect an app from this person: its requests for them answer 403 at once."""
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    services = services_of(request)
    try:
        await services.apps.disconnect(viewer.user_id, app_id, services.clock.now())
    except AppNotFound:
        return redirect("/billing")
    return redirect("/billing?notice=disconnected")
