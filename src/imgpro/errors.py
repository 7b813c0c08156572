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
    status, type, code, message = 405, "invalid_request_error", "bad_request", "Method not allowed."


class IdempotencyConflict(ApiError):
    status, type, code = 409, "idempotency_error", "idempotency_key_conflict"
    message = "This Idempotency-Key was used with a different request body."


class IdempotencyInProgress(ApiError):
    status, type, code = 409, "idempotency_error", "idempotency_key_in_progress"
    message = "A request with this Idempotency-Key is still being processed."


class FileTooLarge(ApiError):
    status, type, code, message = 413, "invalid_request_error", "file_too_large", "File too large."


class UnsupportedFormat(ApiError):
    status, type, code = 415, "invalid_request_error", "unsupported_format"
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
    415: UnsupportedFormat,
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return render(ValidationFailed(details=validation_details(list(exc.errors()))))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls = _HTTP_STATUS_TO_ERROR.get(exc.status_code, InternalError)
        message = None if exc.status_code == 404 else (exc.detail if isinstance(exc.detail, str)
                                                       else None)
        if exc.status_code == 404:
            message = "Not found."
        err = cls(message, headers=dict(exc.headers or {}))
        return render(err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never leak internals: log with the traceback, answer with the generic envelope.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(InternalError())
