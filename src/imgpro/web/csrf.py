"""CSRF tokens for every state-changing form and the dashboard's XHR uploads.

Two kinds, both HMAC-SHA256 under the app's secret key:

* **Session-bound** (synchronizer token) for signed-in actions: ``HMAC(key, "session:" + the
  session's cookie token)``. It changes with every login and dies with the session; nothing
  extra is stored. Signed-in actions accept only this kind.
* **Signed double-submit** for anonymous forms (login, signup, the try-it upload): a random
  HttpOnly cookie ``imgpro_csrf`` plus ``HMAC(key, "anon:" + cookie)`` in the form. A forged
  cross-site POST carries the cookie but cannot compute the token.

SameSite=Lax cookies already stop most cross-site POSTs in modern browsers; the tokens are the
defence that does not depend on the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request

from imgpro import ids

ANON_COOKIE = "imgpro_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfFailed(Exception):
    """A state-changing request without a valid token: answered with a 403 page."""


def signing_key(request: Request) -> bytes:
    """The app's secret, read once per app (it may live in a file beside the data)."""
    state = request.app.state
    key: bytes | None = getattr(state, "web_signing_key", None)
    if key is None:
        secret = state.services.settings.resolved_secret_key()
        key = hashlib.sha256(b"imgpro-web|" + secret.encode()).digest()
        state.web_signing_key = key
    return key


def sign(request: Request, purpose: str, value: str) -> str:
    mac = hmac.new(signing_key(request), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def session_token(request: Request, session_cookie: str) -> str:
    return sign(request, "session", session_cookie)


def anonymous_token(request: Request) -> str:
    """The token for an anonymous form on this page; sets the cookie when the browser has none
    (``pending_cookies`` is applied to the response by ``web.pages.page``)."""
    cookie = request.cookies.get(ANON_COOKIE) or getattr(request.state, "anon_csrf", None)
    if not cookie or len(cookie) > 128:
        cookie = ids.token(24)
        request.state.anon_csrf = cookie
        pending = getattr(request.state, "pending_cookies", [])
        pending.append((ANON_COOKIE, cookie, None))
        request.state.pending_cookies = pending
    return sign(request, "anon", cookie)


def form_token(request: Request) -> str:
    """The token a page's forms carry: session-bound when signed in, else anonymous."""
    token: str | None = getattr(request.state, "csrf_token", None)
    if token is None:
        token = anonymous_token(request)
        request.state.csrf_token = token
    return token


def check(request: Request, submitted: str | None, *, signed_in_only: bool) -> None:
    """Raise CsrfFailed unless ``submitted`` is this browser's token.

    ``signed_in_only`` actions accept only the session-bound token: a double-submit cookie could
    be planted by a sibling subdomain, a session token cannot be forged without the session.
    """
    if not submitted or len(submitted) > 128:
        raise CsrfFailed()
    session_cookie: str | None = getattr(request.state, "session_token", None)
    if session_cookie and hmac.compare_digest(submitted, session_token(request, session_cookie)):
        return
    if signed_in_only:
        raise CsrfFailed()
    cookie = request.cookies.get(ANON_COOKIE)
    if (
        cookie
        and len(cookie) <= 128
        and hmac.compare_digest(submitted, sign(request, "anon", cookie))
    ):
        return
    raise CsrfFailed()
