"""The people-facing pages. ``ROUTERS`` is the order they are mounted in: the viewer's
catch-all ``/{id}`` must come last so it never shadows a named page."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
