"""The people-facing pages. ``ROUTERS`` is the order they are mounted in: the viewer's
catch-all ``/{id}`` must come last so it never shadows a named page."""

from __future__ import annotations

from fastapi import APIRouter

from imgpro.web.routes import (
    account,
    apps,
    auth,
    billing,
    connect,
    dashboard,
    docs,
    home,
    keys,
    pricing,
    recovery,
    settings,
    viewer,
)

# Named pages first; the viewer's router (catch-all /{id}) goes last.
ROUTERS: list[APIRouter] = [
    home.router,
    auth.router,
    dashboard.router,
    keys.router,
    billing.router,
    pricing.router,
    docs.router,
    apps.router,
    connect.router,
    account.router,
    recovery.router,
    settings.router,
]
ROUTERS.append(viewer.router)  # keep last: /{id} (image ids only) after every named page
