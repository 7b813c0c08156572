"""``/``: what imgpro is, and the anonymous try-it uploader.

With JavaScript the page posts straight to ``POST /v1/images`` (the API, anonymous) and shows
the Image object it returns. Without JavaScript the form posts to ``/try``, which calls the same
ImageService with the same anonymous principal and limits, then redirects (PRG) to a result page
only the uploader can open (its URL carries an HMAC of the image id).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response

from imgpro.api.deps import ANONYMOUS
from imgpro.errors import ApiError, ValidationFailed
from imgpro.images.fields import UploadOptions
from imgpro.images.intake import MULTIPART_OVERHEAD, Caps, receive_multipart
from imgpro.settings import MB
from imgpro.web import csrf
from imgpro.web.limits import check_anonymous_upload
from imgpro.web.pages import page, redirect, web_router
from imgpro.web.sessions import OptionalViewer, services_of
from imgpro.web.templating import STATIC_DIR

router = web_router()


def anonymous_caps(request: Request) -> Caps:
    settings = services_of(request).settings
    limits = settings.limits
    return Caps(limits.anon_max_bytes, min(limits.svg_max_bytes, limits.anon_max_bytes),
                too_large_action={"type": "signup", "url": f"{settings.web_base}/signup",
                                  "label": signup_label(settings)})


def signup_label(settings: Any) -> str:
    return f"Sign up for {settings.limits.key_max_bytes // MB} MB uploads"


def _home(request: Request, *, errors: list[Any] | None = None,
          status_code: int = 200) -> Response:
    csrf.form_token(request)
    settings = services_of(request).settings
    return page(request, "home.html", {
        "errors": errors, "current": "home",
        "anon_max_bytes": settings.limits.anon_max_bytes,
        "anon_svg_max_bytes": min(settings.limits.svg_max_bytes, settings.limits.anon_max_bytes),
        "signup_label": signup_label(settings)}, status_code=status_code)


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
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/")
async def home(request: Request, viewer: OptionalViewer) -> Response:
    return _home(request)


@router.post("/try")
async def try_upload(request: Request, viewer: OptionalViewer) -> Response:
    """The no-JavaScript path of the try-it form: same service, same limits as the API."""
    services = services_of(request)
    caps = anonymous_caps(request)
    declared = request.headers.get("content-length")
    content_type = request.headers.get("content-type", "")
    try:
        if not content_type.startswith("multipart/form-data"):
            raise ValidationFailed("Choose an image file to upload.")
        if declared and declared.isdigit() and int(declared) > caps.max_bytes + MULTIPART_OVERHEAD:
            raise caps.error(caps.max_bytes)
        spooled, fields = await receive_multipart(content_type, request.stream(),
                                                  services.images.tmp_dir, caps)
    except ApiError as e:
        return _refused(request, e)
    try:
        csrf.check(request, fields.get(csrf.FIELD), signed_in_only=False)
        if spooled is None or spooled.size == 0:
            raise ValidationFailed("Choose an image file to upload.")
        await check_anonymous_upload(request)
        image = await services.images.create(ANONYMOUS, spooled, UploadOptions())
    except ApiError as e:
        if spooled is not None:
            spooled.discard()
        return _refused(request, e)
    except BaseException:
        if spooled is not None:
            spooled.discard()
        raise
    return redirect(f"/try/{image['id']}?sig={csrf.sign(request, 'try', image['id'])}")


@router.get("/try/{image_id}")
async def try_result(request: Request, image_id: str, viewer: OptionalViewer,
                     sig: str = "") -> Response:
    if not hmac.compare_digest(sig.encode(), csrf.sign(request, "try", image_id).encode()):
        return page(request, "not_found.html", {"message": None}, status_code=404)
    image = await services_of(request).images.get(ANONYMOUS, image_id)
    return page(request, "try_result.html", {"image": image, "image_json": _pretty(image)})


def _pretty(image: dict[str, Any]) -> str:
    return json.dumps(image, indent=2, ensure_ascii=False)
