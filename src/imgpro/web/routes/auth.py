"""``/signup``, ``/login``, ``/logout``: email + password accounts and server-side sessions.

No user enumeration: a failed login says the same thing, after the same Argon2 work, whether
the email is unknown or the password is wrong. Signup with a password is the one place where an
existing email cannot be hidden completely — a signup that succeeds signs you in and one that
does not cannot. We say as little as possible ("could not create an account with this email"),
pay the same Argon2 cost either way, and rate-limit signups per IP and per email so the answer
cannot be harvested in bulk. The enumeration-proof way in is "email me a code"
(``/login/code``): the same answer, and the same work, for every address.

Code sign-in: asking for a code sets a random nonce cookie (``imgpro_signin``, HttpOnly,
SameSite=Lax) whose hash the code is bound to, so the code works only in the browser that
asked; entering it signs in, or creates a passwordless account for a new address.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from imgpro import ids
from imgpro.accounts.codes import CodeRejected, request_sign_in_code, sign_in_with_code
from imgpro.accounts.profile import send_verification
from imgpro.accounts.service import EmailTaken
from imgpro.accounts.sessions import MAX_PASSWORD
from imgpro.accounts.tokens import CodeProblem
from imgpro.errors import RateLimited, ValidationFailed
from imgpro.web import csrf, limits
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import (
    SESSION_COOKIE,
    OptionalViewer,
    clear_session_cookie,
    is_secure,
    safe_next,
    services_of,
    set_session_cookie,
)

router = web_router()

SIGNIN_COOKIE = "imgpro_signin"
SIGNIN_COOKIE_SECONDS = 15 * 60  # a little longer than a code lives (10 minutes)
LOGIN_FAILED = "Email or password is incorrect."
SIGNUP_REFUSED = (
    "We could not create an account with this email. If you already have one, log in instead."
)


def _form(
    request: Request, template: str, *, status_code: int = 200, **context: object
) -> Response:
    csrf.form_token(request)
    return page(
        request,
        template,
        {"current": template.removesuffix(".html"), **context},
        status_code=status_code,
    )


async def _signed_in(request: Request, user_id: str, destination: str) -> Response:
    """Start a fresh session (rotating any token the browser had) and go on (PRG)."""
    services = services_of(request)
    token = await services.accounts.start_session(
        user_id, replaces=request.cookies.get(SESSION_COOKIE)
    )
    response = redirect(destination)
    set_session_cookie(request, response, token)
    return response


# -- signup ---------------------------------------------------------------------------------


@router.get("/signup")
async def signup_form(request: Request, viewer: OptionalViewer, next: str = "") -> Response:
    if viewer is not None:
        return redirect(safe_next(next))
    return _form(request, "signup.html", next=safe_next(next, ""))


@router.post("/signup")
async def signup(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    email = str(form.get("email", "")).strip()[:320]
    password = str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "")), "")
    services = services_of(request)
    try:
        await limits.check_signup(request, email)
        if len(password) > MAX_PASSWORD:
            raise ValidationFailed(f"Use a password of at most {MAX_PASSWORD} characters.")
        # New accounts start on the operator's first (cheapest) plan, whatever its name.
        user = await services.accounts.create_user(
            email, password, plan=services.plans.plans[0].name
        )
    except RateLimited as e:
        response = _form(
            request,
            "signup.html",
            status_code=429,
            email=email,
            errors=[limits.wait_message(e)],
            next=next_path,
        )
        response.headers.update(limits.retry_headers(e))
        return response
    except EmailTaken:
        await limits.signup_refused(request, email)
        return _form(
            request,
            "signup.html",
            status_code=422,
            email=email,
            errors=[SIGNUP_REFUSED],
            next=next_path,
        )
    except ValidationFailed as e:
        await limits.signup_refused(request, email)
        return _form(
            request, "signup.html", status_code=422, email=email, errors=[e.message], next=next_path
        )
    await send_verification(services, user.id, user.email)
    # Signing up from an app's hosted login goes back there; otherwise to the dashboard.
    return await _signed_in(request, user.id, next_path or "/dashboard?notice=welcome")


# -- login ----------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, viewer: OptionalViewer, next: str = "") -> Response:
    if viewer is not None:
        return redirect(safe_next(next))
    notice = "Please log in to continue." if next else None
    return _form(request, "login.html", next=safe_next(next, ""), notice=notice)


@router.post("/login")
async def login(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    email = str(form.get("email", "")).strip()[:320]
    password = str(form.get("password", ""))
    destination = safe_next(str(form.get("next", "")))
    services = services_of(request)
    try:
        await limits.check_login(request, email)
    except RateLimited as e:
        response = _form(
            request,
            "login.html",
            status_code=429,
            email=email,
            errors=[limits.wait_message(e)],
            next=safe_next(destination, ""),
        )
        response.headers.update(limits.retry_headers(e))
        return response
    user = await services.accounts.authenticate(email, password)
    if user is None:
        await limits.login_failed(request, email)
        return _form(
            request,
            "login.html",
            status_code=401,
            email=email,
            errors=[LOGIN_FAILED],
            next=safe_next(destination, ""),
        )
    await limits.login_succeeded(request, email)
    return await _signed_in(request, user.id, destination)


# -- "email me a code" -----------------------------------------------------------------------


def _code_page(request: Request, *, status_code: int = 200, **context: object) -> Response:
    return _form(request, "login_code.html", status_code=status_code, **context)


@router.post("/login/code")
async def send_code(request: Request, viewer: OptionalViewer) -> Response:
    """Queue a sign-in code for the address and go to the page that takes it. The answer is
    the same whether or not an account uses the address."""
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    email = str(form.get("email", "")).strip()[:320]
    next_path = safe_next(str(form.get("next", "")), "")
    try:
        await limits.check_mail_request(request, email)
        nonce = ids.token(32)
        await request_sign_in_code(services_of(request), email, nonce)
    except RateLimited as e:
        response = _form(
            request,
            "login.html",
            status_code=429,
            email=email,
            errors=[limits.wait_message(e)],
            next=next_path,
        )
        response.headers.update(limits.retry_headers(e))
        return response
    except ValidationFailed as e:
        return _form(
            request, "login.html", status_code=422, email=email, errors=[e.message], next=next_path
        )
    response = redirect(
        "/login/code" + (f"?next={quote(next_path, safe='/')}" if next_path else "")
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=SIGNIN_COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    return response


@router.get("/login/code")
async def code_form(request: Request, viewer: OptionalViewer, next: str = "") -> Response:
    if viewer is not None:
        return redirect(safe_next(next))
    return _code_page(
        request, next=safe_next(next, ""), waiting=bool(request.cookies.get(SIGNIN_COOKIE))
    )


@router.post("/login/code/verify")
async def enter_code(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=False)
    next_path = safe_next(str(form.get("next", "")), "")
    nonce = request.cookies.get(SIGNIN_COOKIE, "")
    try:
        if not nonce or len(nonce) > 128:
            raise CodeRejected(CodeProblem.NONE)
        user = await sign_in_with_code(services_of(request), nonce, str(form.get("code", "")))
    except CodeRejected as e:
        status = 401 if e.problem is CodeProblem.WRONG else 400
        return _code_page(
            request,
            status_code=status,
            errors=[e.message],
            next=next_path,
            waiting=e.problem is CodeProblem.WRONG,
        )
    response = await _signed_in(request, user.id, next_path or "/dashboard")
    response.delete_cookie(
        SIGNIN_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )
    return response


# -- logout ---------------------------------------------------------------------------------


@router.get("/logout")
async def logout_page(request: Request, viewer: OptionalViewer) -> Response:
    return page(request, "logout.html")


@router.post("/logout")
async def logout(request: Request, viewer: OptionalViewer) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if viewer is not None and token:
        form = await read_form(request)
        csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
        await services_of(request).accounts.end_session(token)
    response = redirect("/")
    clear_session_cookie(request, response)
    return response
