"""``/dashboard``: the account's images (newest first, keyset pages), uploads, deletes, usage.

Every action goes through the same domain services as the API — ImageService for images,
UsageService for usage — with a principal equal to a read+write key of this account.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from imgpro import ids
from imgpro.accounts.sessions import SessionUser
from imgpro.errors import ApiError, NotFound, Unauthorized, ValidationFailed
from imgpro.http.errors import render
from imgpro.http.uploads import upload_request
from imgpro.images.upload import DASHBOARD, IDEMPOTENCY_FIELD
from imgpro.web import csrf
from imgpro.web.account import usage_of
from imgpro.web.pages import page, read_form, redirect, web_router
from imgpro.web.sessions import (
    CurrentViewer,
    OptionalViewer,
    principal_for,
    services_of,
)

router = web_router()

PAGE_SIZE = 24
NOTICES = {
    "welcome": "Welcome to imgpro! Upload your first images below, or create an API key.",
    "deleted": "The image was deleted.",
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    if key == "uploaded":
        # JavaScript uploads one file per request and reports the batch's total here, so the
        # count is not bounded by the plain form's MAX_FILES; only its length is (it is echoed).
        n = request.query_params.get("n", "")
        if not (n.isdigit() and len(n) <= 6 and int(n) > 0):
            return "Upload finished."
        count = int(n)
        return f"Uploaded {count:,} image{'s' if count != 1 else ''}."
    return NOTICES.get(key)


async def _dashboard(
    request: Request,
    viewer: SessionUser,
    *,
    cursor: str | None = None,
    errors: list[Any] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    services = services_of(request)
    listing = await services.images.list(principal_for(viewer), limit=PAGE_SIZE, cursor=cursor)
    usage = await usage_of(request, viewer.workspace_id)
    plan = services.plans.get(usage["plan"])
    context: dict[str, Any] = {
        "current": "dashboard",
        "images": listing.data,
        "next_cursor": listing.next_cursor,
        "cursor": cursor,
        "usage": usage,
        "plan": plan,
        "next_plan": services.plans.next_after(plan.name),
        "notice": notice,
        "errors": errors,
        # A fresh Idempotency-Key per rendered form: a double submit or a browser's retry of
        # this form stores its files once (upload.js derives one key per file from it).
        "upload_key_field": IDEMPOTENCY_FIELD,
        "upload_key": ids.token(18),
    }
    return page(request, "dashboard.html", context, status_code=status_code)


@router.get("/dashboard")
async def dashboard(request: Request, viewer: CurrentViewer, cursor: str = "") -> Response:
    try:
        return await _dashboard(request, viewer, cursor=cursor or None, notice=_notice(request))
    except ValidationFailed:
        return redirect("/dashboard")  # a stale or hand-edited cursor: start from the top


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/dashboard/upload")
async def upload(request: Request, viewer: OptionalViewer) -> Response:
    """One file per request from JavaScript (JSON answer, for the progress list), or several
    from the plain form (redirect, or the dashboard with the errors). The upload use case
    (images/upload.py) does the rest, Idempotency-Key included: the header from JavaScript,
    the form's hidden field without it."""
    as_json = _wants_json(request)
    if viewer is None:
        if as_json:
            return render(Unauthorized("Your session has ended. Log in again."))
        return redirect("/login?next=/dashboard")
    header_token = request.headers.get(csrf.HEADER)
    if header_token is not None:
        csrf.check(request, header_token, signed_in_only=True)  # before reading a byte

    def check_csrf(fields: dict[str, str]) -> None:
        if header_token is None:
            csrf.check(request, fields.get(csrf.FIELD), signed_in_only=True)

    uploads = services_of(request).uploads
    try:
        result = await uploads.upload(
            upload_request(request, principal_for(viewer), DASHBOARD, check_form=check_csrf)
        )
    except ApiError as e:
        return await _upload_failed(request, viewer, e, as_json)
    if as_json:
        if result.failures:  # one file per request from JavaScript: its error, as the API's
            return await _upload_failed(request, viewer, result.failures[0].error, True)
        return JSONResponse({"object": "upload_result", "data": result.images}, status_code=201)
    if not result.failures:
        return redirect(f"/dashboard?notice=uploaded&n={len(result.images)}")
    errors = [
        {"message": f"{f.filename or 'File'}: {f.error.message}", "action": f.error.action}
        for f in result.failures
    ]
    notice = f"Uploaded {len(result.images)} of {result.files} images." if result.images else None
    return await _dashboard(
        request,
        viewer,
        errors=errors,
        notice=notice,
        status_code=200 if result.images else result.status,
    )


async def _upload_failed(
    request: Request, viewer: SessionUser, error: ApiError, as_json: bool
) -> Response:
    if as_json:
        return render(error)
    return await _dashboard(
        request,
        viewer,
        errors=[{"message": error.message, "action": error.action}],
        status_code=error.status,
    )


@router.get("/dashboard/images/{image_id}/delete")
async def confirm_delete(request: Request, image_id: str, viewer: CurrentViewer) -> Response:
    image = await services_of(request).images.get(principal_for(viewer), image_id)
    preview = image["sizes"]["small"]["url"] if image["sizes"] else image["url"]
    return page(
        request,
        "confirm.html",
        {
            "current": "dashboard",
            "title": f"Delete {image['filename']}?",
            "message": "The image, its direct link, every resized copy and its viewer page will be "
            "gone at once. This cannot be undone.",
            "preview": preview,
            "preview_alt": image["caption"] or image["filename"],
            "action": f"/dashboard/images/{image_id}/delete",
            "button": "Delete image",
            "cancel": "/dashboard",
        },
    )


@router.post("/dashboard/images/{image_id}/delete")
async def delete(request: Request, image_id: str, viewer: CurrentViewer) -> Response:
    form = await read_form(request)
    csrf.check(request, form.get(csrf.FIELD), signed_in_only=True)
    # Already gone (a double click, another tab) is the outcome the person wanted.
    with contextlib.suppress(NotFound):
        await services_of(request).images.delete(principal_for(viewer), image_id)
    return redirect("/dashboard?notice=deleted")
