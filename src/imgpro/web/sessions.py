"""The browser side of sessions: the cookie, and who is signed in on this request.

The cookie is HttpOnly (no script can read it), SameSite=Lax (not sent on cross-site POSTs) and
Secure whenever the web face is served over https. Its value is a random token; the database
keeps only its hash (accounts/sessions.py).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from imgpro.accounts.sessions import SESSION_LIFETIME, SessionUser
from imgpro.principal import Ability, Mode, Principal
from imgpro.services import Services
from imgpro.web import csrf

SESSION_COOKIE = "imgpro_session"


class LoginRequired(Exception):
    """Raised by pages that need a signed-in person; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def is_secure(request: Request) -> bool:
    """https as the browser sees it: the configured public web base, or the request itself."""
    return (
        services_of(request).settings.web_base.startswith("https://")
        or request.url.scheme == "https"
    )


async def load_viewer(request: Request) -> SessionUser | None:
    """The signed-in person (or None); sets ``request.state.viewer`` and the CSRF token.

    Cached per request, so pages and hooks may call it freely.
    """
    if getattr(request.state, "viewer_loaded", False):
        viewer: SessionUser | None = request.state.viewer
        return viewer
    services = services_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    viewer = await services.accounts.load_session(token) if token else None
    request.state.viewer = viewer
    request.state.viewer_loaded = True
    request.state.session_token = token if viewer else None
    if viewer is not None and token:
        request.state.csrf_token = csrf.session_token(request, token)
    return viewer


async def require_viewer(request: Request) -> SessionUser:
    viewer = await load_viewer(request)
    if viewer is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return viewer


OptionalViewer = Annotated[SessionUser | None, Depends(load_viewer)]
CurrentViewer = Annotated[SessionUser, Depends(require_viewer)]


def principal_for(viewer: SessionUser) -> Principal:
    """The dashboard acts on the account's own workspace with both abilities — exactly what a
    read+write API key of this account may do, through the same ImageService."""
    return Principal(
        mode=Mode.API_KEY,
        workspace_id=viewer.workspace_id,
        workspace_prefix=viewer.workspace_prefix,
        abilities=frozenset({Ability.READ, Ability.WRITE}),
        user_id=viewer.user_id,
    )


VERIFY_FIRST = (
    "Please verify your email address first: open the link we sent you (your "
    "account page can send it again)."
)


def may_create(services: Services, viewer: SessionUser) -> bool:
    """Whether this person may create keys and apps now (the operator's verification policy:
    ``IMGPRO_ACCOUNTS__UNVERIFIED_MAY_CREATE``)."""
    return viewer.verified or services.settings.accounts.unverified_may_create


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def safe_next(value: str | None, default: str = "/dashboard") -> str:
    """A post-login destination: a path on this site only (no open redirect)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
        or len(value) > 2000
    ):
        return default
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")
