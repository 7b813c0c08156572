"""``/account``: the signed-in person's own account — email (verification, change), password
(set or change), notification emails, and deleting the account.

Changing the email, the password or deleting the account asks for the current password or a
confirmation code emailed to the account (so passwordless accounts can do all of it too); the
code is bound to this session. A new email address replaces the old only once a link sent to it
is opened, and the old address is told.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts import codes, deletion, profile
from imgpro.accounts.sessions import SessionUser
from imgpro.errors import RateLimited, ValidationFailed
from imgpro.web import csrf, limits
from imgpro.web.pages import error_page, page, read_form, redirect, web_router
from imgpro.web.sessions import (
    CurrentViewer,
    OptionalViewer,
    clear_session_cookie,
    services_of,
)

router = web_router()

NOTICES = {
    "verified": "Thank you: your email address is verified.",
    "verify_sent": "We sent a new verification link to your email address.",
    "code_sent": "We emailed you a 6-digit confirmation code. Enter it below instead of your "
    "password; it works in this browser only, for 10 minutes.",
    "email_sent": "We sent a link to your new address. Your email changes when you open it.",
    "email_changed": "Your email address is changed (and verified).",
    "password": "Your password is saved. Every other browser was signed out.",
    "password_reset": "Your new password is saved and you are signed in. Every other browser "
    "was signed out.",
    "notifications": "Your email preferences are saved.",
}
CONFIRM_FAILED = "That is neither your password nor a valid confirmation code."


async def _account_page(
    request: Request, viewer: SessionUser, *, status_code: int = 200, **context: Any
) -> Response:
    me = await profile.load_profile(services_of(request), viewer.user_id)
    return page(
        request,
        "account.html",
        {"current": "account", "me": me, **context},
        status_code=status_code,
    )


def _session_token(request: Request) -> str:
    return str(getattr(request.state, "session_token", "") or "")


async def _confirmed(request: Request, viewer: SessionUser, form: Any) -> bool:
    me = await profile.load_profile(services_of(request), viewer.user_id)
    if me is None:
        return False
    return await codes.confirm_identity(
        services_of(request),
        viewer.user_id,
        _session_token(request),
        str(form.get("confirm", "")),
        me.password_hash,
    )


async def _form(request: Request) -> Any:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    return form


@router.get("/account")
async def account_page(request: Request, viewer: CurrentViewer) -> Response:
    return await _account_page(
        request, viewer, notice=NOTICES.get(request.query_params.get("notice", ""))
    )


@router.post("/account/verify")
async def resend_verification(request: Request, viewer: CurrentViewer) -> Response:
    await _form(request)
    if viewer.verified:
        return redirect("/account")
    try:
        await limits.check_mail_request(request, viewer.email)
    except RateLimited as e:
        response = await _account_page(
            request, viewer, status_code=429, errors=[limits.wait_message(e)]
        )
        response.headers.update(limits.retry_headers(e))
        return response
    await profile.send_verification(services_of(request), viewer.user_id, viewer.email)
    return redirect("/account?notice=verify_sent")


@router.post("/account/code")
async def send_confirm_code(request: Request, viewer: CurrentViewer) -> Response:
    await _form(request)
    try:
        await limits.check_mail_request(request, viewer.email)
    except RateLimited as e:
        response = await _account_page(
            request, viewer, status_code=429, errors=[limits.wait_message(e)]
        )
        response.headers.update(limits.retry_headers(e))
        return response
    await codes.request_confirm_code(
        services_of(request),
        viewer.user_id,
        viewer.email,
        _session_token(request),
        "a change to your account",
    )
    return redirect("/account?notice=code_sent")


@router.post("/account/email")
async def change_email(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    new_email = str(form.get("email", "")).strip()[:320]
    if not await _confirmed(request, viewer, form):
        return await _account_page(
            request, viewer, status_code=403, errors=[CONFIRM_FAILED], form_email=new_email
        )
    try:
        await limits.check_mail_request(request, new_email)
        await profile.request_email_change(
            services_of(request), viewer.user_id, viewer.email, new_email
        )
    except RateLimited as e:
        response = await _account_page(
            request, viewer, status_code=429, errors=[limits.wait_message(e)], form_email=new_email
        )
        response.headers.update(limits.retry_headers(e))
        return response
    except ValidationFailed as e:
        return await _account_page(
            request, viewer, status_code=422, errors=[e.message], form_email=new_email
        )
    return redirect("/account?notice=email_sent")


@router.get("/account/email/confirm")
async def confirm_email(request: Request, viewer: OptionalViewer, t: str = "") -> Response:
    try:
        changed = await profile.confirm_email_change(services_of(request), t) if t else None
    except profile.EmailUnavailable as e:
        return error_page(request, 409, "Address not available", e.message)
    if changed is None:
        return error_page(
            request, 400, "Link not valid", "This link is invalid, has expired or was used already."
        )
    if viewer is not None:
        return redirect("/account?notice=email_changed")
    return page(
        request,
        "message.html",
        {"title": "Email address changed", "message": f"Your account now uses {changed}."},
    )


@router.post("/account/password")
async def change_password(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    if not await _confirmed(request, viewer, form):
        return await _account_page(request, viewer, status_code=403, errors=[CONFIRM_FAILED])
    try:
        await profile.set_password(
            services_of(request),
            viewer.user_id,
            viewer.email,
            str(form.get("password", "")),
            keep_session=_session_token(request),
            how="changed",
        )
    except ValidationFailed as e:
        return await _account_page(request, viewer, status_code=422, errors=[e.message])
    return redirect("/account?notice=password")


@router.post("/account/notifications")
async def notifications(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    wanted = {n for n in form.getlist("notify") if n in profile.NOTIFICATIONS}
    await profile.set_notifications(services_of(request), viewer.user_id, wanted)
    return redirect("/account?notice=notifications")


@router.post("/account/delete")
async def delete(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    if not await _confirmed(request, viewer, form):
        return await _account_page(request, viewer, status_code=403, errors=[CONFIRM_FAILED])
    await deletion.delete_account(services_of(request), viewer.user_id)
    response = page(
        request,
        "message.html",
        {
            "title": "Your account is deleted",
            "message": "Your account, its images, API keys and apps are gone. Thank you for using "
            "imgpro.",
        },
    )
    request.state.viewer = None
    clear_session_cookie(request, response)
    return response
