"""``/``: what imgpro is, and the anonymous try-it uploader.

With JavaScript the page posts straight to ``POST /v1/images`` (the API, anonymous) and shows
the Image object it returns. Without JavaScript the form posts to ``/try``, which runs the same
upload use case (``images/upload.py``) with the same anonymous principal, then redirects (PRG)
to a result page only the uploader can open (its URL carries an HMAC of the image id).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response

from imgpro.api.deps import ANONYMOUS
from imgpro.errors import ApiError
from imgpro.http.uploads import upload_request
from imgpro.images.upload import TRY_FORM
from imgpro.web import csrf
from imgpro.web.pages import page, redirect, web_router
from imgpro.web.sessions import OptionalViewer, services_of
from imgpro.web.templating import STATIC_DIR

router = web_router()


def _home(request: Request, *, errors: list[Any] | None = None, status_code: int = 200) -> Response:
    csrf.form_token(request)
    uploads = services_of(request).uploads
    caps = uploads.caps(ANONYMOUS)  # the same caps and prompt the API answers with
    return page(
        request,
        "home.html",
        {
            "errors": errors,
            "current": "home",
            "anon_max_bytes": caps.max_bytes,
            "anon_svg_max_bytes": caps.svg_max_bytes,
            "signup_label": uploads.signup_label(),
        },
        status_code=status_code,
    )


def _refused(request: Request, error: ApiError) -> Response:
    """The home page with the error and what to do next; the API's headers (Retry-After on a
    rate limit) go along, as they do on the JSON answer."""
    response = _home(request, errors=[problem(error)], status_code=error.status)
    response.headers.update(error.headers)
    if error.action and error.action.get("type") == "wait":
        response.headers.setdefault("Retry-After", str(error.action["retry_after"]))
    return response


def problem(error: ApiError) -> dict[str, Any]:
    """An error as a page shows it: the message and what to do next (the envelope's action)."""
    return {"message": error.message, "action": error.action}


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for it on every first visit, whatever the page links to."""
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/")
async def home(request: Request, viewer: OptionalViewer) -> Response:
    return _home(request)


@router.post("/try")
async def try_upload(request: Request, viewer: OptionalViewer) -> Response:
    """The no-JavaScript path of the try-it form: the API's upload use case, anonymous — the
    same rate-limit slot (taken before the body is read), caps and errors — shown as a page."""

    def check_csrf(fields: dict[str, str]) -> None:
        csrf.check(request, fields.get(csrf.FIELD), signed_in_only=False)

    uploads = services_of(request).uploads
    try:
        result = await uploads.upload(
            upload_request(request, ANONYMOUS, TRY_FORM, check_form=check_csrf)
        )
    except ApiError as e:
        return _refused(request, e)
    image_id = result.images[0]["id"]
    response = redirect(f"/try/{image_id}?sig={csrf.sign(request, 'try', image_id)}")
    response.headers.update(result.headers)  # RateLimit-*, as on the API's answer
    return response


@router.get("/try/{image_id}")
async def try_result(
    request: Request, image_id: str, viewer: OptionalViewer, sig: str = ""
) -> Response:
    if not hmac.compare_digest(sig.encode(), csrf.sign(request, "try", image_id).encode()):
        return page(request, "not_found.html", {"message": None}, status_code=404)
    image = await services_of(request).images.get(ANONYMOUS, image_id)
    return page(request, "try_result.html", {"image": image, "image_json": _pretty(image)})


def _pretty(image: dict[str, Any]) -> str:
    return json.dumps(image, indent=2, ensure_ascii=False)
