"""Every upload route's transport side: a Starlette request turned into the use case's
UploadRequest (the API, the try-it form and the dashboard share it).

Everything an upload is allowed to be (caps, rate limit, idempotency, how many files) is
``images/upload.py``'s; this only lifts the transport details off the request.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from imgpro.images.upload import Entry, UploadRequest
from imgpro.principal import Principal


def upload_request(
    request: Request,
    principal: Principal,
    entry: Entry,
    *,
    check_form: Callable[[dict[str, str]], None] | None = None,
    watch_disconnect: bool = False,
) -> UploadRequest:
    """``watch_disconnect``: hand the use case ``receive`` so a URL import is cancelled when the
    client hangs up (the API's imports)."""
    headers = request.headers
    return UploadRequest(
        principal=principal,
        entry=entry,
        content_type=headers.get("content-type", ""),
        content_length=headers.get("content-length"),
        body=request.stream(),
        peer=request.client.host if request.client else None,
        forwarded_for=headers.getlist("x-forwarded-for"),
        idempotency_key=headers.get("idempotency-key"),
        check_form=check_form,
        receive=request.receive if watch_disconnect else None,
    )
