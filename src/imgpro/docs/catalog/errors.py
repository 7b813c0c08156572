"""Every error code (SPEC §6): status, type, an example, when the API answers it and what a
client should do. /openapi.json and /docs/errors are generated from this one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgpro.settings import MB, LimitSettings

# The documented caps are the settings' defaults (the upload use case answers with the
# configured ones), never numbers typed twice.
_LIMITS = LimitSettings()


def _mb(limit: int) -> str:
    return f"{limit / MB:g} MB"


@dataclass(frozen=True)
class ErrorCode:
    status: int
    type: str
    code: str
    message: str  # an example message
    when: str  # when the API answers it
    do: str  # what a client should do
    extra: tuple[tuple[str, Any], ...] = ()  # action / usage / details of the example

    def example(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        error.update(dict(self.extra))
        return {"error": error}


_USAGE = {
    "plan": "free",
    "uploads_used": 1000,
    "uploads_limit": 1000,
    "storage_used_bytes": 5242880,
    "storage_limit_bytes": 5368709120,
}
_UPGRADE = {
    "type": "upgrade",
    "url": "https://img.example.com/upgrade/pro?t=…&exp=…&sig=…",
    "label": "Upgrade to Pro ($20/mo) for 10,000 uploads",
}

ERRORS: tuple[ErrorCode, ...] = (
    ErrorCode(
        400,
        "invalid_request_error",
        "bad_request",
        "Malformed JSON body.",
        "The request cannot be parsed: malformed JSON, a bad cursor, a bad header value.",
        "Fix the request; retrying it unchanged fails the same way.",
    ),
    ErrorCode(
        400,
        "invalid_request_error",
        "invalid_code",
        "Invalid code.",
        "`POST /v1/connect/exchange` with a code that is unknown, used, expired (10 min) "
        "or bound to another app or redirect URI.",
        "Send the user through the hosted login again; never retry a code.",
    ),
    ErrorCode(
        401,
        "authentication_error",
        "unauthorized",
        "A valid API key is required for this request.",
        "No credential where one is needed, or an unknown, revoked or malformed one.",
        "Check the key (`Authorization: Bearer img_live_…`); create a new one if revoked.",
    ),
    ErrorCode(
        403,
        "permission_error",
        "forbidden",
        "This key does not have the 'write' ability.",
        "The key lacks the ability (`read`/`write`) the call needs.",
        "Use a key with the ability; do not retry.",
    ),
    ErrorCode(
        403,
        "permission_error",
        "workspace_unavailable",
        "This user's workspace is not available to this app.",
        "App mode: the `X-Img-User` never connected this app, or disconnected it.",
        "Send the user through the hosted login (`/connect`) again.",
    ),
    ErrorCode(
        403,
        "permission_error",
        "app_suspended",
        "This app is paused.",
        "The app's owner paused it.",
        "Resume the app on the Apps page.",
    ),
    ErrorCode(
        403,
        "permission_error",
        "app_blocked",
        "This app is blocked.",
        "The operator blocked the app.",
        "Contact the operator of the instance.",
    ),
    ErrorCode(
        403,
        "permission_error",
        "signature_required",
        "This workspace requires signed transform URLs.",
        "CDN: the workspace turned on signed transforms and the URL has no valid `s`.",
        "Sign the URL, or use a preset.",
    ),
    ErrorCode(
        403,
        "quota_error",
        "quota_exceeded",
        "Monthly upload limit reached.",
        "The workspace's stored-image limit, monthly upload quota or storage quota is "
        "used up. Carries `usage` and an `upgrade` action.",
        "Show `error.action` (a signed upgrade link) to the account owner; delete images "
        "to free storage; monthly uploads reset on the 1st (UTC).",
        (("action", _UPGRADE), ("usage", _USAGE)),
    ),
    ErrorCode(
        404,
        "invalid_request_error",
        "not_found",
        "No such image.",
        "The image does not exist, expired, or belongs to another workspace.",
        "Treat the image as gone.",
    ),
    ErrorCode(
        405,
        "invalid_request_error",
        "method_not_allowed",
        "Method not allowed.",
        "The path exists but not with this HTTP method (the `Allow` header lists them).",
        "Use one of the methods in `Allow`.",
    ),
    ErrorCode(
        409,
        "idempotency_error",
        "idempotency_key_conflict",
        "This Idempotency-Key was used with a different request body.",
        "The `Idempotency-Key` was used within 24 h for a different request.",
        "Use a new key for a new request.",
    ),
    ErrorCode(
        409,
        "idempotency_error",
        "idempotency_key_in_progress",
        "A request with this Idempotency-Key is still being processed.",
        "A retry arrived while the first request with that key is still running.",
        "Wait a second and retry with the same key: you get the original answer.",
    ),
    ErrorCode(
        413,
        "invalid_request_error",
        "file_too_large",
        "File too large.",
        f"The file is over the cap (by default anonymous {_mb(_LIMITS.anon_max_bytes)}, "
        f"key {_mb(_LIMITS.key_max_bytes)}, SVG {_mb(_LIMITS.svg_max_bytes)}); anonymous "
        "callers get a `signup` action.",
        "Shrink the file or sign up / use a key for the larger cap.",
        (
            (
                "action",
                {
                    "type": "signup",
                    "url": "https://img.example.com/signup",
                    "label": f"Sign up for {_mb(_LIMITS.key_max_bytes)} uploads",
                },
            ),
        ),
    ),
    ErrorCode(
        415,
        "invalid_request_error",
        "unsupported_media_type",
        "Send multipart/form-data with a 'file' part, or JSON with a 'url'.",
        "The request body's own Content-Type is neither multipart/form-data nor JSON.",
        "Send `multipart/form-data` (upload) or `application/json` (import).",
    ),
    ErrorCode(
        422,
        "invalid_request_error",
        "validation_error",
        "Invalid request.",
        "A field is missing or invalid; `details` lists `[{field, message}]`.",
        "Fix the named fields.",
        (("details", [{"field": "public", "message": "Input should be a valid boolean"}]),),
    ),
    ErrorCode(
        422,
        "invalid_request_error",
        "unsupported_format",
        "Unsupported file type. Accepted: JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, SVG, BMP, ICO.",
        "The file is not an image type imgpro takes (sniffed from the bytes).",
        "This file failed: skip it, do not retry.",
    ),
    ErrorCode(
        422,
        "invalid_request_error",
        "invalid_image",
        "The file could not be decoded as an image.",
        "The bytes look like an image but are truncated or corrupt.",
        "This file failed: skip it, do not retry.",
    ),
    ErrorCode(
        422,
        "invalid_request_error",
        "image_too_large",
        "The image has more pixels than allowed.",
        "More than the pixel limit (default 50 megapixels, frames summed).",
        "Downscale the image before uploading.",
    ),
    ErrorCode(
        422,
        "processing_error",
        "fetch_failed",
        "The source URL could not be fetched: timed out.",
        "URL import: the URL is invalid, or the source was unreachable, refused (private "
        "address), timed out, failed to connect, or answered an error (not 2xx).",
        "Check the URL is public and reachable; do not retry at once.",
    ),
    ErrorCode(
        422,
        "processing_error",
        "import_failed",
        "The source URL answered, but its body could not be imported: the body ended early.",
        "URL import: the source answered 2xx but its body could not be taken: it ended before "
        "its Content-Length or the connection broke mid-body, or it was empty.",
        "This source failed: skip it (or retry later if its server was restarting).",
    ),
    ErrorCode(
        429,
        "rate_limit_error",
        "rate_limited",
        "Too many requests.",
        "Anonymous uploads over the per-address limit (default 20/hour, 100/day). "
        "Carries a `wait` action and `Retry-After`.",
        "Wait `Retry-After` seconds, or use an API key (no rate limit).",
        (("action", {"type": "wait", "retry_after": 1800}),),
    ),
    ErrorCode(
        500,
        "api_error",
        "internal_error",
        "Something went wrong on our side.",
        "Never expected; a bug.",
        "Retry later with the same `Idempotency-Key`; report it.",
    ),
    ErrorCode(
        503,
        "api_error",
        "busy",
        "The server is busy; retry shortly.",
        "The render queue is full (CDN) or the server is overloaded. Sent with `Retry-After`.",
        "Retry after `Retry-After` seconds.",
    ),
    ErrorCode(
        503,
        "api_error",
        "storage_unavailable",
        "Storage is full or read-only; uploads are paused.",
        "The blob store is full or read-only. Reads keep working.",
        "Retry the write later (with the same `Idempotency-Key`).",
    ),
)

ERROR_TYPES = tuple(sorted({e.type for e in ERRORS}))
ERROR_CODES = tuple(e.code for e in ERRORS)


def errors_for(*codes: str) -> dict[int, list[ErrorCode]]:
    """The catalogue entries of ``codes``, grouped by status."""
    by_status: dict[int, list[ErrorCode]] = {}
    index = {e.code: e for e in ERRORS}
    for code in codes:
        entry = index[code]
        by_status.setdefault(entry.status, []).append(entry)
    return dict(sorted(by_status.items()))
