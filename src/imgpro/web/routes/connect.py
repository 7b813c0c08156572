"""``/connect``: the hosted login an app sends its users to (App mode, SPEC §2.3).

The person signs in (or signs up) on imgpro's own page, sees "Continue to <App name>", and is
sent back to the app's exact, registered ``redirect_uri`` with a one-time ``code`` and the
app's ``state`` untouched. An unknown app or an unregistered redirect URI is shown here as an
error and never redirected to. Continuing is a CSRF-protected POST, so a page that merely
loads ``/connect`` in a frame or an <img> can never mint a code.

A person who is not signed in can sign in with a password, sign up, or have a one-time code
emailed (``/login/code``, bound to this browser); each path comes back here to "Continue to
<App>". The app never sees the password or the emailed code — only the connect code above.
The person is emailed when they connect an app for the first time (unless they turned that off).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import Response

from imgpro.accounts import notify
from imgpro.apps.redirect_uris import csp_origin
from imgpro.apps.service import App, AppNotFound
from imgpro.errors import ApiError
from imgpro.web import csrf
from imgpro.web.pages import error_page, page, read_form, redirect, web_router
from imgpro.web.sessions import OptionalViewer, login_url, services_of

router = web_router()


def back_to(redirect_uri: str, **params: str) -> str:
    """``redirect_uri`` with ``params`` added to its query (keeping what it already has)."""
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


async def _app_or_error(request: Request, app_id: str, redirect_uri: str) -> App | Response:
    try:
        return await services_of(request).apps.app_for_connect(app_id, redirect_uri)
    except AppNotFound:
        return error_page(
            request, 400, "Unknown app", "The app that sent you here is not registered with imgpro."
        )
    except ApiError as e:
        if e.code == "bad_request":
            return error_page(
                request,
                400,
                "This link is not valid",
                "The app sent you here with a return address it has not "
                "registered, so imgpro will not send you there.",
            )
        return error_page(request, 403, "This app is not available", e.message)


@router.get("/connect")
async def connect_page(
    request: Request,
    viewer: OptionalViewer,
    app_id: str = "",
    redirect_uri: str = "",
    state: str = "",
) -> Response:
    app = await _app_or_error(request, app_id, redirect_uri)
    if isinstance(app, Response):
        return app
    here = "/connect?" + urlencode({"app_id": app_id, "redirect_uri": redirect_uri, "state": state})
    if viewer is None:
        csrf.form_token(request)  # the "email me a code" form on this page posts to /login/code
    response = page(
        request,
        "connect.html",
        {
            "app": app,
            "redirect_uri": redirect_uri,
            "state": state,
            "here": here,
            "redirect_host": urlsplit(redirect_uri).netloc,
            "cancel_url": back_to(redirect_uri, error="access_denied", state=state),
        },
    )
    # The confirming POST ends in a redirect to the app: allow exactly that origin as a form
    # target (CSP form-action also governs where a form submission may be redirected).
    # The URI was registered through a strict grammar, and csp_origin re-checks it here (an
    # app registered before that check could hold anything): never paste unchecked text.
    origin = csp_origin(redirect_uri)
    if origin is not None:
        csp = response.headers.get("Content-Security-Policy", "")
        response.headers["Content-Security-Policy"] = csp.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    return response


@router.post("/connect")
async def continue_to_app(request: Request, viewer: OptionalViewer) -> Response:
    form = await read_form(request)
    app_id = str(form.get("app_id", ""))
    redirect_uri = str(form.get("redirect_uri", ""))
    state = str(form.get("state", ""))
    if viewer is None:
        return redirect(
            login_url(
                "/connect?"
                + urlencode({"app_id": app_id, "redirect_uri": redirect_uri, "state": state})
            )
        )
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    app = await _app_or_error(request, app_id, redirect_uri)
    if isinstance(app, Response):
        return app
    services = services_of(request)
    connected = {c["app_id"] for c in await services.apps.connections(viewer.user_id)}
    code = await services.apps.issue_code(app, viewer.user_id, redirect_uri, services.clock.now())
    if app.id not in connected:
        await notify.app_connected(services, viewer.user_id, app.name)
    return redirect(back_to(redirect_uri, code=code, state=state))
