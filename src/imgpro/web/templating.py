"""Jinja2 for the server-rendered pages: one environment, autoescaped, with the app's links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page. Every template gets ``request``, ``settings`` and ``page_context`` extras
    registered by other modules (e.g. the signed-in user) through ``request.state``."""
    services = request.app.state.services
    settings = services.settings
    ctx: dict[str, Any] = {
        "request": request,
        "settings": settings,
        # Links and form targets. Empty (origin-relative) unless the operator named the
        # origin: an unconfigured server answers as localhost and as 127.0.0.1 alike, and a
        # form that posted to the other name would lose its cookies (and its CSRF token).
        "web_base": settings.web_base if settings.web_base_configured else "",
        "api_base": settings.api_base if settings.api_base_configured else "",
        # Absolute URLs to show people (curl examples): where the service actually serves.
        "web_url": settings.web_base,
        "api_url": settings.api_base,
        "local": lambda url: local_link(settings, url),
        "viewer": getattr(request.state, "viewer", None),  # the signed-in person, if any
        "csrf_token": getattr(request.state, "csrf_token", None),
    }
    ctx.update(context or {})
    html = _env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def local_link(settings: Any, url: str) -> str:
    """One of our own absolute page URLs (an Image object's ``page_url``, a signed upgrade
    link), made origin-relative when no web origin is configured: followed from a page seen
    as ``localhost``, it must not land on ``127.0.0.1``, where the browser has no session."""
    base = settings.web_base
    if not settings.web_base_configured and url.startswith(base + "/"):
        return url[len(base) :]
    return url
