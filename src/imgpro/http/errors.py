"""The JSON face of the error envelope: the one renderer for the API and the CDN.

Domain errors (:mod:`imgpro.errors`) know nothing of HTTP responses; this module turns them
into one, and maps framework errors (unknown route, wrong method, malformed JSON) onto the same
envelope through :func:`install_error_handlers`. HTML pages render the same errors through
``imgpro.web.pages``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from imgpro.errors import (
    ApiError,
    BadRequest,
    Busy,
    FileTooLarge,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    validation_details,
)

log = logging.getLogger("imgpro.errors")


def render(error: ApiError) -> JSONResponse:
    headers = dict(error.headers)
    if error.status >= 500:
        headers.setdefault("Cache-Control", "no-store")  # never let a CDN keep a 503
    if error.action and error.action.get("type") == "wait":
        headers.setdefault("Retry-After", str(error.action["retry_after"]))
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


_HTTP_STATUS_TO_ERROR: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: FileTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    503: Busy,
}


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette's own 405 names only the first
    matching route's, e.g. GET for /v1/images/{id}, which also takes PATCH and DELETE)."""
    # Ask the router itself, one method at a time: included routers nest their routes, and
    # a full match is the one public answer every route type gives.
    methods = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return render(ValidationFailed(details=validation_details(list(exc.errors()))))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls = _HTTP_STATUS_TO_ERROR.get(exc.status_code, InternalError)
        message = (
            None
            if exc.status_code == 404
            else (exc.detail if isinstance(exc.detail, str) else None)
        )
        if exc.status_code == 404:
            message = "Not found."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            message = None  # the envelope's own "Method not allowed."
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        err = cls(message, headers=headers)
        return render(err)

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        # A full or read-only disk under the blob store or the database is an outage the
        # client can act on (retry later), not a bug: 503 storage_unavailable (SPEC §6).
        # Registered per class (not on Exception) so Starlette answers here and does not
        # re-raise; anything else goes on to the 500 handler below.
        from imgpro.storage.faults import is_storage_fault

        if not is_storage_fault(exc):
            raise exc
        log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, exc)
        return render(StorageUnavailable(headers={"Retry-After": "60"}))

    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(OSError, _storage)
    app.add_exception_handler(DBAPIError, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never leak internals: log with the traceback, answer with the generic envelope.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(InternalError())
