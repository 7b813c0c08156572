"""The one place that turns Settings into running parts: the schema step, the database, the
blob store and the domain services. ``create_app`` (the server) and every CLI command build
through here, so the two can never disagree on which backend a setting picks."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from imgpro.clock import Clock
from imgpro.db import migrate
from imgpro.db.engine import Database
from imgpro.services import Services, build_services
from imgpro.settings import Settings
from imgpro.storage import BlobStore, make_blob_store


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


def prepare_schema(settings: Settings) -> None:
    """Bring the schema up to date when the operator lets us (IMGPRO_AUTO_MIGRATE, default
    on); with it off, ``imgpro migrate`` is the only thing that changes the schema."""
    if settings.auto_migrate:
        run_migrations(settings.resolved_database_url)


@dataclass
class Runtime:
    """What one process runs on: the database, the blob store, the services over them."""

    db: Database
    blobs: BlobStore
    services: Services

    async def aclose(self) -> None:
        await self.blobs.aclose()
        await self.db.dispose()


def build_runtime(settings: Settings, clock: Clock) -> Runtime:
    """The database, blob store and services for ``settings`` (no schema step: see
    ``prepare_schema``; no I/O until first use)."""
    db = Database(settings.resolved_database_url)
    blobs = make_blob_store(settings)
    return Runtime(db=db, blobs=blobs, services=build_services(settings, clock, db, blobs))
