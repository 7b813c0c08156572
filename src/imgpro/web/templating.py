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


def render_page(request: Request, template: str, context: dict[str, Any] | None = None, *,
                status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page. Every template gets ``request``, ``settings`` and ``page_context`` extras
    registered by other modules (e.g. the signed-in user) through ``request.state``."""
    services = request.app.state.services
    ctx: dict[str, Any] = {
        "request": request,
        "settings": services.settings,
        "web_base": services.settings.web_base,
        "api_base": services.settings.api_base,
        "viewer": getattr(request.state, "viewer", None),  # the signed-in person, if any
        "csrf_token": getattr(request.state, "csrf_token", None),
    }
    ctx.update(context or {})
    html = _env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)
