"""CORS for the REST API only (SPEC §3.1): a web page on another origin may call ``/v1`` with a
key, as Cloudinary users upload straight from the browser.

* Scoped to ``/v1``: the pages keep their same-origin-only behaviour (cookies, CSRF), and the
  CDN's ``/i/`` is answered before this middleware runs at all (``app.ImgproApp.__call__``), so
  its fast path is untouched (images are embeddable cross-origin anyway).
* No credentials: ``/v1`` never reads cookies, so ``Access-Control-Allow-Credentials`` is never
  sent and a page can only act with a credential it holds itself (``Authorization``).
* Preflight answered for the headers real clients send: ``Authorization``, ``Idempotency-Key``,
  ``X-Img-User``, ``Content-Type``. Responses expose the headers a client reads back
  (``Idempotent-Replayed``, ``Retry-After``, the ``RateLimit-*`` set).
* Allowed origins: ``IMGPRO_CORS_ORIGINS`` (default ``["*"]``, any origin).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/v1"
ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Img-User")
EXPOSED_HEADERS = (
    "Idempotent-Replayed",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


class ApiCorsMiddleware:
    """Starlette's CORSMiddleware, applied to ``/v1`` paths only."""

    def __init__(self, app: ASGIApp, origins: Sequence[str] = ("*",)) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
