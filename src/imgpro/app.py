"""create_app(settings): the one composition root. Picks every backend; no import-time state."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from imgpro.api.routes import connect as connect_routes
from imgpro.api.routes import images as images_routes
from imgpro.api.routes import usage as usage_routes
from imgpro.clock import Clock
from imgpro.db import migrate
from imgpro.db.engine import Database
from imgpro.delivery import routes as delivery_routes
from imgpro.errors import install_error_handlers
from imgpro.services import build_services
from imgpro.settings import Settings
from imgpro.storage import make_blob_store
from imgpro.transforms.render import Renderer
from imgpro.web import routes as web_routes
from imgpro.web.pages import install_web_error_pages
from imgpro.web.templating import STATIC_DIR

log = logging.getLogger("imgpro")


def run_migrations(url: str) -> None:
    """Alembic's env runs its own event loop, so run it on a thread of its own: this works
    whether or not the caller is inside a running loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            migrate.upgrade(url)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="imgpro-migrate")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.auto_migrate:
        run_migrations(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    blobs = make_blob_store(settings)
    services = build_services(settings, clock, db, blobs)
    renderer = Renderer(blobs, settings.render, services.images.tmp_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        renderer.close()
        await services.ratelimits.close()
        await db.dispose()

    app = FastAPI(
        title="imgpro",
        version="0.1.0",
        summary="Image hosting and delivery that speaks the img.pro REST API.",
        lifespan=lifespan,
        docs_url="/docs/api",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.renderer = renderer
    install_error_handlers(app)
    install_web_error_pages(app)  # HTML errors on page paths; /v1 and the CDN keep JSON
    app.include_router(images_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(connect_routes.router)
    app.include_router(delivery_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in web_routes.ROUTERS:  # pages last: the viewer's /{id} is a catch-all
        app.include_router(router)
    return app
