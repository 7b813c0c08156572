"""create_app(settings): the web process, built on bootstrap.build_runtime (which the CLI
shares); no import-time state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from imgpro import __version__
from imgpro.accounts import notify
from imgpro.api.cors import ApiCorsMiddleware
from imgpro.api.openapi import openapi_route
from imgpro.api.routes import connect as connect_routes
from imgpro.api.routes import images as images_routes
from imgpro.api.routes import originals as originals_routes
from imgpro.api.routes import presets as presets_routes
from imgpro.api.routes import usage as usage_routes
from imgpro.bootstrap import build_runtime, prepare_schema, run_migrations
from imgpro.clock import Clock
from imgpro.delivery import routes as delivery_routes
from imgpro.delivery.handler import PREFIX as CDN_PREFIX
from imgpro.delivery.handler import CdnHandler
from imgpro.delivery.lookup import DeliveryLookup
from imgpro.http.errors import install_error_handlers
from imgpro.mail.worker import OutboxWorker
from imgpro.private_files import private_dir
from imgpro.settings import Settings
from imgpro.transforms.flight import SharedFlights
from imgpro.transforms.render import Renderer
from imgpro.transforms.variants import VariantBudget
from imgpro.web import routes as web_routes
from imgpro.web.pages import install_web_error_pages
from imgpro.web.templating import STATIC_DIR

log = logging.getLogger("imgpro")

__all__ = ["ImgproApp", "create_app", "run_migrations"]  # run_migrations: bootstrap's


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
        if (
            self.cdn is not None
            and scope["type"] == "http"
            and not scope.get("root_path")
            and scope["path"].startswith(CDN_PREFIX)
        ):
            await self.cdn(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _cache_openapi(app: FastAPI) -> dict[str, Any]:
    from imgpro.api.openapi import build_openapi

    app.openapi_schema = build_openapi(app)
    return app.openapi_schema


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    private_dir(settings.data_dir)
    prepare_schema(settings)
    runtime = build_runtime(settings, clock)
    db, blobs, services = runtime.db, runtime.blobs, runtime.services
    lookup = DeliveryLookup(db)

    async def image_is_live(image_id: str) -> bool:
        return await lookup.get(image_id, clock.now()) is not None

    # With Redis, a cold variant renders once across every process and host (flight.py).
    shared = (
        SharedFlights(settings.redis_url, key_prefix=settings.rate_limits.key_prefix)
        if settings.redis_url
        else None
    )
    renderer = Renderer(
        blobs,
        settings.render,
        services.images.tmp_dir,
        is_live=image_is_live,
        run_dir=settings.data_dir / "run" / "render",
        budget=VariantBudget(db, blobs, settings.variants, clock),
        shared=shared,
    )

    # Sends the mail outbox in the background (every server process runs one; rows are leased).
    outbox = OutboxWorker(services.mail)

    async def after_upload(workspace_id: str) -> None:
        await notify.after_upload(services, workspace_id)

    # Quota notices (80 % / 100 %) are checked after each upload commits, off its transaction.
    services.images.after_upload = after_upload

    async def close() -> None:
        """Release everything this app holds (pools, connections, threads): the lifespan's
        shutdown, and what code that builds an app without serving it calls when done."""
        if renderer.budget is not None:
            await renderer.budget.close()  # the recency noted since the last batch
        await outbox.stop()
        renderer.close()
        services.images.close()
        await services.ratelimits.close()
        await lookup.close()
        if shared is not None:
            await shared.aclose()
        await runtime.aclose()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        outbox.start()
        yield
        await close()

    app = ImgproApp(
        title="imgpro",
        version=__version__,
        summary="Image hosting and delivery that speaks the img.pro REST API.",
        lifespan=lifespan,
        # /docs/api is imgpro's own page (web/routes/docs.py) with a vendored Swagger UI: no
        # third-party CDN. /openapi.json is ours too (api/openapi.py), with per-request servers.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        generate_unique_id_function=lambda route: route.name,  # operationId = function name
    )
    app.openapi = lambda: app.openapi_schema or _cache_openapi(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.services = services
    app.state.renderer = renderer
    app.state.close = close
    app.cdn = CdnHandler(services, renderer, lookup)
    # CORS on /v1 only; the CDN's /i/ never reaches the middleware stack (see ImgproApp).
    app.add_middleware(ApiCorsMiddleware, origins=settings.cors_origins)
    install_error_handlers(app)
    install_web_error_pages(app)  # HTML errors on page paths; /v1 and the CDN keep JSON
    app.include_router(images_routes.router)
    app.include_router(originals_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(presets_routes.router)
    app.include_router(connect_routes.router)
    app.include_router(delivery_routes.router)
    app.include_router(openapi_route())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in web_routes.ROUTERS:  # pages last: the viewer's /{id} is a catch-all
        app.include_router(router)
    return app
