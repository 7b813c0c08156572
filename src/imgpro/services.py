"""The bundle of domain services one app instance runs with (built by app.create_app)."""

from __future__ import annotations

from dataclasses import dataclass

from imgpro.accounts.passwords import PasswordHasher
from imgpro.accounts.service import AccountService
from imgpro.accounts.tokens import EmailTokens
from imgpro.apps.service import AppService
from imgpro.billing.plans import PlanBook
from imgpro.billing.providers import make_provider
from imgpro.billing.quotas import UploadQuota
from imgpro.billing.service import BillingService
from imgpro.billing.upgrade import UpgradeLinks
from imgpro.billing.usage import UsageService
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.images.idempotency import IdempotencyStore
from imgpro.images.import_gate import ImportGate
from imgpro.images.schemas import Links
from imgpro.images.service import ImageService
from imgpro.images.upload import UploadFlow
from imgpro.keys.service import KeyService
from imgpro.mail.outbox import Mailer
from imgpro.mail.transport import make_transport
from imgpro.ratelimit import RateLimiter
from imgpro.settings import Settings
from imgpro.storage import BlobStore
from imgpro.transforms.policy import TransformPolicyService
from imgpro.transforms.presets import PresetService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    blobs: BlobStore
    links: Links
    passwords: PasswordHasher
    accounts: AccountService
    plans: PlanBook
    images: ImageService
    keys: KeyService
    idempotency: IdempotencyStore
    apps: AppService
    usage: UsageService
    billing: BillingService
    ratelimits: RateLimiter
    presets: PresetService
    transform_policy: TransformPolicyService
    import_gate: ImportGate
    mail: Mailer
    tokens: EmailTokens
    uploads: UploadFlow  # the one upload use case every upload route calls


def build_services(settings: Settings, clock: Clock, db: Database, blobs: BlobStore) -> Services:
    links = Links(settings.cdn_base, settings.web_base)
    plans = PlanBook.from_settings(settings.plans)
    upgrades = UpgradeLinks(
        settings.resolved_secret_key(),
        settings.web_base,
        settings.billing.upgrade_link_ttl_seconds,
        plans,
    )
    images = ImageService(
        db=db,
        blobs=blobs,
        settings=settings,
        clock=clock,
        links=links,
        plans=plans,
        quota=UploadQuota(plans, refuse=upgrades.quota_error),
    )
    passwords = PasswordHasher(settings.passwords)
    idempotency = IdempotencyStore(
        db,
        settings.limits.idempotency_ttl_seconds,
        lease_seconds=settings.limits.idempotency_lease_seconds,
        clock=clock,
    )
    ratelimits = RateLimiter(
        settings.rate_limits,
        clock,
        redis_url=settings.redis_url,
        trusted_proxies=settings.trusted_proxies,
        host_path=settings.rate_limit_file,
    )
    import_gate = ImportGate(
        settings.imports.max_concurrent, settings.imports.max_concurrent_per_principal
    )
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        blobs=blobs,
        links=links,
        plans=plans,
        passwords=passwords,
        accounts=AccountService(db, clock, passwords),
        images=images,
        keys=KeyService(db, clock),
        idempotency=idempotency,
        apps=AppService(db, plans),
        usage=UsageService(db, plans, clock),
        billing=BillingService(
            db=db,
            plans=plans,
            links=upgrades,
            clock=clock,
            provider=make_provider(settings.billing.provider),
        ),
        ratelimits=ratelimits,
        import_gate=import_gate,
        presets=PresetService(
            db, clock, cache_seconds=lambda: settings.render.preset_cache_seconds
        ),
        transform_policy=TransformPolicyService(db, clock),
        mail=Mailer(
            db,
            clock,
            make_transport(settings.smtp),
            web_base=settings.web_base,
            max_attempts=settings.smtp.max_attempts,
        ),
        tokens=EmailTokens(db, settings.resolved_secret_key()),
        uploads=UploadFlow(
            settings=settings,
            clock=clock,
            images=images,
            idempotency=idempotency,
            ratelimits=ratelimits,
            import_gate=import_gate,
        ),
    )
