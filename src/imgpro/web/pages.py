"""What every people-facing page shares: rendering with security headers, redirects (PRG),
bounded form parsing, and HTML error pages (the JSON envelope stays for /v1 and the CDN).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.datastructures import MultiDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from imgpro.errors import ApiError
from imgpro.web import csrf
from imgpro.web.sessions import LoginRequired, is_secure, load_viewer, login_url, services_of
from imgpro.web.templating import render_page

log = logging.getLogger("imgpro.web")

MAX_FORM_BYTES = 64 * 1024
# Paths that answer machines: their errors keep the JSON envelope (SPEC §6).
MACHINE_PREFIXES = ("/v1/", "/i/", "/static/", "/openapi.json")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def security_headers(request: Request) -> dict[str, str]:
    settings = services_of(request).settings
    images = " ".join(o for o in {_origin(settings.cdn_base)} if o)
    api = " ".join(o for o in {_origin(settings.api_base)} if o)
    web = " ".join(o for o in {_origin(settings.web_base)} if o)
    return {
        # Scripts and styles only from our own static files: no inline script can run even if
        # some user text slipped through escaping.
        "Content-Security-Policy": (
            f"default-src 'self'; img-src 'self' data: blob: {images}; "
            f"connect-src 'self' {api}; script-src 'self'; style-src 'self'; "
            f"form-action 'self' {web}; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def apply_pending_cookies(request: Request, response: Response) -> None:
    for name, value, max_age in getattr(request.state, "pending_cookies", []):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=is_secure(request),
        )


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page. Pages for a signed-in person are never cached (they carry private data
    and a CSRF token)."""
    headers = security_headers(request)
    if (
        getattr(request.state, "viewer", None) is not None
        or getattr(request.state, "csrf_token", None) is not None
    ):
        headers["Cache-Control"] = "no-store"
    response = render_page(request, template, context, status_code=status_code, headers=headers)
    apply_pending_cookies(request, response)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other: the browser follows with a GET (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def error_page(
    request: Request, status: int, title: str, message: str, action: dict[str, Any] | None = None
) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"title": title, "message": message, "action": action},
        status_code=status,
    )


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> MultiDict:
    """An ``application/x-www-form-urlencoded`` body, bounded in size and field count."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise FormTooLarge()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=100, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        raise BadForm() from None
    return MultiDict(pairs)


class FormTooLarge(Exception):
    pass


class BadForm(Exception):
    pass


async def render_error(request: Request, exc: BaseException) -> Response | None:
    """The HTML answer for an exception raised by a page, or None if it is not ours to map."""
    if isinstance(exc, LoginRequired):
        return redirect(login_url(exc.next_path))
    if isinstance(exc, csrf.CsrfFailed):
        await _viewer_for_layout(request)
        return error_page(
            request,
            403,
            "This form has expired",
            "The form was missing its security token or it no longer matches "
            "your session. Go back, reload the page and try again.",
        )
    if isinstance(exc, FormTooLarge):
        return error_page(request, 413, "Too much data", "That form submission was too large.")
    if isinstance(exc, BadForm):
        return error_page(request, 400, "Bad request", "That form submission was malformed.")
    if isinstance(exc, ApiError):
        await _viewer_for_layout(request)
        if exc.status == 404:
            return page(request, "not_found.html", {"message": None}, status_code=404)
        response = error_page(
            request,
            exc.status,
            _TITLES.get(exc.status, "Something went wrong"),
            exc.message,
            exc.action,
        )
        response.headers.update(exc.headers)
        if exc.action and exc.action.get("type") == "wait":
            response.headers["Retry-After"] = str(exc.action["retry_after"])
        return response
    return None


_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    405: "Not allowed",
    413: "Too large",
    415: "Unsupported file",
    422: "Please check your input",
    429: "Slow down",
    500: "Something went wrong",
    503: "Busy",
}


async def _viewer_for_layout(request: Request) -> None:
    """Best effort: show the signed-in navigation on error pages too."""
    try:
        await load_viewer(request)
    except Exception:  # pragma: no cover - an error page must render even if the DB is down
        log.exception("could not load the session for an error page")


class WebRoute(APIRoute):
    """Routes of the pages: errors (including those raised in dependencies) become HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = await render_error(request, exc)
                if response is None:
                    raise
                return response

        return web_handler


def web_router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False)


def is_page_path(path: str) -> bool:
    return not (path.startswith(MACHINE_PREFIXES) or path == "/v1")


def install_web_error_pages(app: FastAPI) -> None:
    """Errors outside any page route (unknown paths, wrong methods, anything unexpected) answer
    people with HTML on page paths; API and CDN paths keep the JSON handlers already installed."""
    json_handlers = dict(app.exception_handlers)

    def wrap(exc_class: Any) -> None:
        json_handler = json_handlers[exc_class]

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page_path(request.url.path):
                try:
                    response = await _html_for(request, exc)
                except Exception:  # pragma: no cover - fall back to the envelope
                    log.exception("could not render an HTML error page")
                    response = None
                if response is not None:
                    return response
            result: Response = await json_handler(request, exc)
            return result

        app.add_exception_handler(exc_class, handler)

    for exc_class in (ApiError, StarletteHTTPException, RequestValidationError, Exception):
        if exc_class in json_handlers:
            wrap(exc_class)


async def _html_for(request: Request, exc: Exception) -> Response | None:
    if isinstance(exc, StarletteHTTPException):
        await _viewer_for_layout(request)
        if exc.status_code == 404:
            return page(
                request, "not_found.html", {"message": "There is no page here."}, status_code=404
            )
        title = _TITLES.get(exc.status_code, "Something went wrong")
        response = error_page(
            request, exc.status_code, title, "That request cannot be answered here."
        )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
    if isinstance(exc, RequestValidationError):
        return error_page(request, 400, "Bad request", "Some of the request was invalid.")
    if isinstance(exc, ApiError | LoginRequired | csrf.CsrfFailed):
        return await render_error(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request, 500, "Something went wrong", "Something went wrong on our side. Please try again."
    )
