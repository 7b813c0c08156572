"""create_app(settings): the one composition root. Picks every backend; no import-time state."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from imgpro.accounts import notify
from imgpro.api.routes import connect as connect_routes
from imgpro.api.routes import images as images_routes
from imgpro.api.routes import usage as usage_routes
from imgpro.clock import Clock
from imgpro.db import migrate
from imgpro.db.engine import Database
from imgpro.delivery import routes as delivery_routes
from imgpro.delivery.handler import PREFIX as CDN_PREFIX
from imgpro.delivery.handler import CdnHandler
from imgpro.delivery.lookup import DeliveryLookup
from imgpro.errors import install_error_handlers
from imgpro.mail.worker import OutboxWorker
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


class ImgproApp(FastAPI):
    """FastAPI, with the CDN in front of it: ``/i/…`` goes straight to a plain ASGI handler.

    A cached CDN hit is ~15 us of imgpro's own work; Starlette's router walk, the
    middleware stack and FastAPI's per-request machinery cost several times that (measured:
    docs/transforms.md). Everything else — lifespan, the API, pages, OpenAPI — is FastAPI as
    usual, and the CDN route is still in the OpenAPI document (``delivery/routes.py``)."""

    cdn: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # root_path is empty under `imgpro serve`; mounted elsewhere, FastAPI's routing (which
        # knows how to strip it) hands /i/ to the same handler.
        if (self.cdn is not None and scope["type"] == "http" and not scope.get("root_path")
                and scope["path"].startswith(CDN_PREFIX)):
            await self.cdn(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.auto_migrate:
        run_migrations(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    blobs = make_blob_store(settings)
    services = build_services(settings, clock, db, blobs)
    lookup = DeliveryLookup(db)

    async def image_is_live(image_id: str) -> bool:
        return await lookup.get(image_id, clock.now()) is not None

    renderer = Renderer(blobs, settings.render, services.images.tmp_dir, is_live=image_is_live)

    # Sends the mail outbox in the background (every server process runs one; rows are leased).
    outbox = OutboxWorker(services.mail)

    async def after_upload(workspace_id: str) -> None:
        await notify.after_upload(services, workspace_id)

    # Quota notices (80 % / 100 %) are checked after each upload commits, off its transaction.
    services.images.after_upload = after_upload

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        outbox.start()
        yield
        await outbox.stop()
        renderer.close()
        await services.ratelimits.close()
        await lookup.close()
        await db.dispose()

    app = ImgproApp(
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
    app.cdn = CdnHandler(services, renderer, lookup)
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
