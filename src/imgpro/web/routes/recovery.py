"""``/password/forgot``, ``/password/reset`` and ``/verify``: the pages behind emailed links.

"Forgot password" answers every address with the same page ("if an account exists, we sent a
link"), after the same work (accounts/recovery.py). The reset link's GET only shows the form —
mail scanners prefetch links, and a prefetch must not use it up; the POST uses it, sets the
password, signs the account out everywhere and signs this browser in.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts.profile import verify_email
from imgpro.accounts.recovery import request_password_reset, reset_link, reset_password
from imgpro.errors import RateLimited, ValidationFailed
from imgpro.web import csrf, limits
from imgpro.web.pages import error_page, page, read_form, redirect, web_router
from imgpro.web.routes.auth import _signed_in
from imgpro.web.sessions import OptionalViewer, services_of

router = web_router()

LINK_INVALID = "This link is invalid, has expired or was used already. Ask for a new one."


def _form(
    request: Request, template: str, *, status_code: int = 200, **context: object
) -> Response:
    csrf.form_token(request)
    return page(request, template, context, status_code=status_code)


@router.get("/password/forgot")
async def forgot_form(request: Request, viewer: OptionalViewer) -> Response:
    return _form(request, "forgot.html", email=viewer.email if viewer else "")


@router.post("/password/forgot")
async def forgot(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    email = str(form.get("email", "")).strip()[:320]
    try:
        await limits.check_mail_request(request, email)
        email = await request_password_reset(services_of(request), email)
    except RateLimited as e:
        response = _form(
            request, "forgot.html", status_code=429, email=email, errors=[limits.wait_message(e)]
        )
        response.headers.update(limits.retry_headers(e))
        return response
    except ValidationFailed as e:
        return _form(request, "forgot.html", status_code=422, email=email, errors=[e.message])
    return _form(request, "forgot.html", sent_to=email)


@router.get("/password/reset")
async def reset_form(request: Request, viewer: OptionalViewer, t: str = "") -> Response:
    link = await reset_link(services_of(request), t) if t else None
    if link is None:
        return error_page(request, 400, "Link not valid", LINK_INVALID)
    response = _form(request, "reset.html", token=t, email=link.email)
    # The token is in this page's URL: never send it onwards in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/password/reset")
async def reset(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    token = str(form.get("token", ""))
    password = str(form.get("password", ""))
    services = services_of(request)
    try:
        used = await reset_password(services, token, password)
    except ValidationFailed as e:
        link = await reset_link(services, token)
        return _form(
            request,
            "reset.html",
            status_code=422,
            token=token,
            email=link.email if link else "",
            errors=[e.message],
        )
    if used is None or used.user_id is None:
        return error_page(request, 400, "Link not valid", LINK_INVALID)
    return await _signed_in(request, used.user_id, "/account?notice=password_reset")


@router.get("/verify")
async def verify(request: Request, viewer: OptionalViewer, t: str = "") -> Response:
    if not t or not await verify_email(services_of(request), t):
        return error_page(
            request,
            400,
            "Link not valid",
            "This verification link is invalid, has expired or was used already. "
            "Sign in and ask for a new one on your account page.",
        )
    if viewer is not None:
        return redirect("/account?notice=verified")
    return page(
        request,
        "message.html",
        {
            "title": "Email address verified",
            "message": "Thank you: your email address is verified. You can sign in now.",
        },
    )
