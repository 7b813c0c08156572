"""The one error envelope (SPEC §6) and the one place that renders it.

Domains raise subclasses of :class:`ApiError`; framework errors (unknown route, wrong method,
malformed JSON) are mapped onto the same envelope by :func:`install_error_handlers`. No route
builds an error body by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("imgpro.errors")


class ApiError(Exception):
    status: int = 500
    type: str = "api_error"
    code: str = "internal_error"
    message: str = "Something went wrong on our side."

    def __init__(
        self,
        message: str | None = None,
        *,
        action: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.action = action
        self.usage = usage
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.action is not None:
            err["action"] = self.action
        if self.usage is not None:
            err["usage"] = self.usage
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class BadRequest(ApiError):
    status, type, code, message = 400, "invalid_request_error", "bad_request", "Bad request."


class InvalidCode(ApiError):
    status, type, code, message = 400, "invalid_request_error", "invalid_code", "Invalid code."


class Unauthorized(ApiError):
    status, type, code = 401, "authentication_error", "unauthorized"
    message = "A valid API key is required for this request."


class Forbidden(ApiError):
    status, type, code = 403, "permission_error", "forbidden"
    message = "This credential may not perform this action."


class WorkspaceUnavailable(ApiError):
    status, type, code = 403, "permission_error", "workspace_unavailable"
    message = "This user's workspace is not available to this app."


class AppSuspended(ApiError):
    status, type, code, message = 403, "permission_error", "app_suspended", "This app is paused."


class AppBlocked(ApiError):
    status, type, code, message = 403, "permission_error", "app_blocked", "This app is blocked."


class SignatureRequired(ApiError):
    """A CDN transform outside the open set, on a workspace with signed transforms on, without a
    valid ``s=``. ``no-store``: the answer depends on the workspace's setting and secret, which
    the owner may change at any moment, so no cache may keep it."""

    status, type, code = 403, "permission_error", "signature_required"
    message = ("This image's workspace requires signed transform URLs: add a valid s= signature, "
               "or use the plain URL, size= or a preset.")

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Cache-Control", "no-store")


class QuotaExceeded(ApiError):
    status, type, code, message = 403, "quota_error", "quota_exceeded", "Quota exceeded."


class NotFound(ApiError):
    status, type, code, message = 404, "invalid_request_error", "not_found", "No such image."


class MethodNotAllowed(ApiError):
    status, type, code = 405, "invalid_request_error", "method_not_allowed"
    message = "Method not allowed."


class IdempotencyConflict(ApiError):
    status, type, code = 409, "idempotency_error", "idempotency_key_conflict"
    message = "This Idempotency-Key was used with a different request body."


class IdempotencyInProgress(ApiError):
    status, type, code = 409, "idempotency_error", "idempotency_key_in_progress"
    message = "A request with this Idempotency-Key is still being processed."


class FileTooLarge(ApiError):
    status, type, code, message = 413, "invalid_request_error", "file_too_large", "File too large."


class UnsupportedMediaType(ApiError):
    """The request body itself is neither multipart nor JSON (SPEC §6)."""

    status, type, code = 415, "invalid_request_error", "unsupported_media_type"
    message = "Send multipart/form-data with a 'file' part, or JSON with a 'url'."


class UnsupportedFormat(ApiError):
    # 422, not 415: the request was well-formed, its file is not an image we take. Real
    # img.pro clients treat every 422 as "this file failed" and any other status as an outage
    # to retry (SPEC §3.1).
    status, type, code = 422, "invalid_request_error", "unsupported_format"
    message = ("Unsupported file type. Accepted: JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, SVG, "
               "BMP, ICO.")


class ValidationFailed(ApiError):
    status, type, code = 422, "invalid_request_error", "validation_error"
    message = "Invalid request."


class InvalidImage(ApiError):
    status, type, code = 422, "invalid_request_error", "invalid_image"
    message = "The file could not be decoded as an image."


class ImageTooLarge(ApiError):
    status, type, code = 422, "invalid_request_error", "image_too_large"
    message = "The image has more pixels than allowed."


class FetchFailed(ApiError):
    status, type, code = 422, "processing_error", "fetch_failed"
    message = "The source URL could not be fetched."


class ImportFailed(ApiError):
    status, type, code, message = 422, "processing_error", "import_failed", "Import failed."


class RateLimited(ApiError):
    status, type, code, message = 429, "rate_limit_error", "rate_limited", "Too many requests."


class InternalError(ApiError):
    pass


class Busy(ApiError):
    status, type, code, message = 503, "api_error", "busy", "The server is busy; retry shortly."


class StorageUnavailable(ApiError):
    """Disk full, over quota or read-only: nothing was written, reads keep working."""

    status, type, code = 503, "api_error", "storage_unavailable"
    message = ("Storage is unavailable (full or read-only); nothing was saved. "
               "Reading existing images still works.")


def wait_action(retry_after: int) -> dict[str, Any]:
    return {"type": "wait", "retry_after": retry_after}


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


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors → ``[{field, message}]``, without echoing input values."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(loc) or None, "message": e.get("msg", "invalid")})
    return out


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
        message = None if exc.status_code == 404 else (exc.detail if isinstance(exc.detail, str)
                                                       else None)
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
