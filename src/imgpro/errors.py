"""The one error envelope (SPEC §6): what can go wrong, framework-free.

Domains raise subclasses of :class:`ApiError`; :meth:`ApiError.body` is the envelope. This
module imports no web framework, so every domain module can raise these without depending on
how they are served: the edges render them (``imgpro.http.errors`` as JSON for the API and the
CDN, ``imgpro.web.pages`` as HTML pages). No route builds an error body by hand.
"""

from __future__ import annotations

from typing import Any


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
    message = (
        "This image's workspace requires signed transform URLs: add a valid s= signature, "
        "or use the plain URL, size= or a preset."
    )

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
    message = (
        "Unsupported file type. Accepted: JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, SVG, BMP, ICO."
    )


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
    """URL import: the source answered 2xx, but its body could not be taken (cut short or
    empty). A source that could not be fetched at all is :class:`FetchFailed`."""

    status, type, code = 422, "processing_error", "import_failed"
    message = "The source URL answered, but its body could not be imported."


class RateLimited(ApiError):
    status, type, code, message = 429, "rate_limit_error", "rate_limited", "Too many requests."


class InternalError(ApiError):
    pass


class Busy(ApiError):
    status, type, code, message = 503, "api_error", "busy", "The server is busy; retry shortly."


class StorageUnavailable(ApiError):
    """Disk full, over quota or read-only: nothing was written, reads keep working."""

    status, type, code = 503, "api_error", "storage_unavailable"
    message = (
        "Storage is unavailable (full or read-only); nothing was saved. "
        "Reading existing images still works."
    )


def wait_action(retry_after: int) -> dict[str, Any]:
    return {"type": "wait", "retry_after": retry_after}


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors → ``[{field, message}]``, without echoing input values."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(loc) or None, "message": e.get("msg", "invalid")})
    return out
