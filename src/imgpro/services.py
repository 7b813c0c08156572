"""The bundle of domain services one app instance runs with (built by app.create_app)."""

from __future__ import annotations

from dataclasses import dataclass

from imgpro.apps.service import AppService
from imgpro.billing.plans import PlanBook
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.images.idempotency import IdempotencyStore
from imgpro.images.schemas import Links
from imgpro.images.service import ImageService
from imgpro.settings import Settings
from imgpro.storage import BlobStore


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    blobs: BlobStore
    links: Links
    plans: PlanBook
    images: ImageService
    idempotency: IdempotencyStore
    apps: AppService


def build_services(settings: Settings, clock: Clock, db: Database, blobs: BlobStore) -> Services:
    links = Links(settings.cdn_base, settings.web_base)
    plans = PlanBook()
    images = ImageService(db=db, blobs=blobs, settings=settings, clock=clock, links=links,
                          plans=plans)
    return Services(settings=settings, clock=clock, db=db, blobs=blobs, links=links, plans=plans,
                    images=images,
                    idempotency=IdempotencyStore(db, settings.limits.idempotency_ttl_seconds),
                    apps=AppService(db))
