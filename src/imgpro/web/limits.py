"""The rate limits the pages apply, all through the service's one RateLimiter (ratelimit.py).

* Uploads are not here: the upload use case (``images/upload.py``) takes the anonymous slot
  for ``POST /v1/images`` and ``/try`` alike, before reading the body.
* Sign-in: before the password is checked, the client address and the email must both be
  under their failure limits; each failure counts against both; a success clears the email's.
* Sign-up: each attempt takes one of the address's sign-up slots (no mass account creation
  from one IP), and a refused one counts as a failure for the address and the email (no
  probing one address for an account). Emails are keyed by hash, account or not.
"""

from __future__ import annotations

import math

from fastapi import Request

from imgpro.errors import RateLimited
from imgpro.ratelimit import RateLimiter
from imgpro.web.sessions import services_of


def _limiter(request: Request) -> RateLimiter:
    return services_of(request).ratelimits


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else None
    return _limiter(request).client_address(peer, request.headers.getlist("x-forwarded-for"))


def retry_headers(error: RateLimited) -> dict[str, str]:
    headers = dict(error.headers)
    retry = (error.action or {}).get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return headers


def wait_message(error: RateLimited) -> str:
    """The error's message with a human "try again in …"."""
    retry = int((error.action or {}).get("retry_after") or 0)
    if retry <= 0:
        return error.message
    minutes = math.ceil(retry / 60)
    when = (
        f"{retry} second{'s' if retry != 1 else ''}"
        if retry < 60
        else f"{minutes} minute{'s' if minutes != 1 else ''}"
    )
    return f"{error.message.rstrip('.;')} Please try again in {when}."


async def check_login(request: Request, email: str) -> None:
    await _limiter(request).check_login(client_address(request), email)


async def login_failed(request: Request, email: str) -> None:
    await _limiter(request).login_failed(client_address(request), email)


async def login_succeeded(request: Request, email: str) -> None:
    await _limiter(request).login_succeeded(email)


async def check_signup(request: Request, email: str) -> None:
    """Refuse while the address or the email is over its failure limit, then take one of the
    address's sign-up slots (raises 429 rate_limited when none is left)."""
    limiter = _limiter(request)
    address = client_address(request)
    await limiter.check_login(address, email)
    await limiter.signup(address)


async def signup_refused(request: Request, email: str) -> None:
    """A refused sign-up (email taken, invalid input) counts as a failure for the address and
    the email, so one email cannot be probed over and over."""
    await _limiter(request).login_failed(client_address(request), email)


async def check_mail_request(request: Request, email: str) -> None:
    """Before sending a sign-in code or a reset link: one slot per client address and one per
    email address (raises 429 rate_limited)."""
    await _limiter(request).mail_request(client_address(request), email)
