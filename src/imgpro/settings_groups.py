"""The nested setting groups of :class:`imgpro.settings.Settings` (``IMGPRO_<GROUP>__<NAME>``).

Plain models: they read nothing themselves; ``settings.py`` reads the environment and fills them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import argon2
from pydantic import BaseModel, Field, field_validator, model_validator

MB = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


class LimitSettings(BaseModel):
    """Size, pixel and frame limits. Checked before any pixel is decoded."""

    anon_max_bytes: int = Field(20 * MB, description="Largest anonymous upload, in bytes.")
    key_max_bytes: int = Field(70 * MB, description="Largest upload with a key or app secret.")
    svg_max_bytes: int = Field(10 * MB, description="Largest SVG upload, in bytes.")
    max_pixels: int = Field(
        50_000_000, description="Pixel limit of a source image (all frames summed)."
    )
    max_frames: int = Field(1000, description="Most frames an animated source may have.")
    anon_ttl_seconds: int = Field(30 * 86400, description="Lifetime of an anonymous upload.")
    idempotency_ttl_seconds: int = Field(86400, description="How long Idempotency-Key is kept.")
    idempotency_lease_seconds: int = Field(
        30,
        ge=2,
        description="A request holding an Idempotency-Key renews its claim every "
        "third of this; a claim not renewed for this long (its process died) is taken over by "
        "the next retry.",
    )


class ImportSettings(BaseModel):
    """Fetching a source image from a URL (``POST /v1/images`` with ``{"url": …}``)."""

    connect_timeout: float = Field(5.0, description="Seconds to connect to the source host.")
    read_timeout: float = Field(10.0, description="Seconds without a byte before giving up.")
    total_timeout: float = Field(60.0, description="Seconds the whole fetch may take.")
    max_redirects: int = Field(5, description="Redirect hops followed (each one re-checked).")
    allow_private_networks: bool = Field(
        False,
        description="DANGER: lets imports reach loopback/private addresses. For tests only.",
    )
    user_agent: str = Field("imgpro-fetcher/0.1", description="User-Agent sent to sources.")
    max_concurrent: int = Field(
        32,
        ge=1,
        description="URL imports one server process runs at "
        "once; more answer 503 busy with Retry-After.",
    )
    max_concurrent_per_principal: int = Field(
        4,
        ge=1,
        description="URL imports one key, app user or anonymous address runs at once "
        "(per process); more answer 429 rate_limited with Retry-After.",
    )


class RenderSettings(BaseModel):
    """The CDN's rendering: threads, host-wide admission, the wait bound."""

    workers: int = Field(
        0,
        ge=0,
        description="Render threads per server process; 0 means one "
        "per CPU core. However many there are, at most `host_renders` renders "
        "run at once on the host.",
    )
    host_renders: int = Field(
        0,
        ge=0,
        description="Renders running at once on this host, "
        "across every server process (host-wide tokens: lock files in "
        "data_dir/run/render); 0 means one per CPU core.",
    )
    max_wait_seconds: float = Field(
        10.0,
        gt=0,
        description="A cold render waits its turn; the CDN answers 503 `busy` (with "
        "Retry-After) only when the request's expected wait passes this many seconds.",
    )
    preset_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="How long a server process keeps a looked-up preset "
        "(`?preset=`) before reading it again. A PUT/DELETE through a process applies there "
        "at once; other processes and hosts see it within this many seconds. 0 = read on "
        "every request.",
    )
    queue_size: int = Field(
        0,
        ge=0,
        description="Most renders waiting in one server process, whatever the expected "
        "wait (a memory bound); 0 means 32 per host render token.",
    )
    vips_concurrency: int = Field(1, description="libvips threads per render.")
    shrink_on_load_margin: float = Field(
        1.0,
        ge=1.0,
        le=2.0,
        description="JPEGs decode at the smallest DCT scale (1/2, 1/4, "
        "1/8) still at least this many times the output size. 1.0 is Pillow's draft mode "
        "(thumbor), imgproxy's and sharp's fast shrink: 10-30 % less CPU than 2.0, libvips' own "
        "choice, at up to 1 dB further from a full-quality resize after q80 encoding; 1.5 keeps "
        "part of the saving at <= 0.3 dB (measured, docs/transforms.md). Stored variants are "
        "not re-rendered.",
    )
    max_upscale_pixels: int = Field(
        4_194_304,
        ge=1,
        description="Enlargement bound: an output frame with more pixels than "
        "its source holds at most max(source pixels, this many) — 2048x2048 by default; a larger "
        "request is scaled down as a whole, like the other caps. Upscaling adds no detail, only "
        "CPU (an 8192 px square from a 1x1 source cost 3-6 s).",
    )
    hot_cache_mb: int = Field(
        64,
        ge=0,
        description="Variants (up to 1 MB each) kept in memory per server process, "
        "from their second request on; 0 turns the cache off.",
    )


class S3Settings(BaseModel):
    """Object storage (``storage = "s3"``): any S3-compatible service. Credentials come from
    the standard AWS variables and files (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_PROFILE``, ``~/.aws/credentials``) or an instance role; never from imgpro settings."""

    bucket: str = Field("", description="Bucket holding originals and variants (it must exist).")
    endpoint_url: str = Field(
        "",
        description="S3 endpoint for a non-AWS service (MinIO, R2, "
        "Ceph…; path-style addressing); empty = AWS.",
    )
    region: str = Field("", description="Region of the bucket; empty = the AWS default chain.")
    prefix: str = Field(
        "",
        description="Key prefix inside the bucket (e.g. `imgpro/`), so "
        "several deployments can share one bucket.",
    )
    presign_seconds: int = Field(
        0,
        ge=0,
        le=7 * 86400,
        description="0: the CDN streams blobs "
        "from the bucket itself. N > 0: CDN GETs of stored blobs are "
        "answered with a 302 to a presigned bucket URL valid N seconds "
        "(the bucket must be reachable by clients).",
    )
    multipart_part_mb: int = Field(
        5,
        ge=5,
        le=512,
        description="Uploads larger than this go "
        "up as a multipart upload, one part of this size in memory "
        "at a time.",
    )
    max_connections: int = Field(32, ge=1, description="Connections per server process.")


def _parse_rate(value: str) -> str:
    """A `limits` rate string ("20/hour;100/day"); empty = no limit."""
    from limits import parse_many

    if value.strip():
        try:
            parse_many(value)
        except ValueError as e:
            raise ValueError(f"not a rate limit like '20/hour;100/day': {value!r}") from e
    return value


class RateLimitSettings(BaseModel):
    """Rate limits (moving windows) — in process memory, or in Redis when ``redis_url`` is set."""

    anon_uploads: str = Field(
        "20/hour;100/day",
        description="Anonymous uploads per client IP "
        "(`limits` notation, `;` separates windows; empty = unlimited).",
    )
    login_per_ip: str = Field("20/minute;200/hour", description="Failed sign-ins per client IP.")
    login_per_email: str = Field(
        "5/minute;30/hour", description="Failed sign-ins per email address."
    )
    signups_per_ip: str = Field("10/hour;50/day", description="Accounts created per client IP.")
    failed_imports: str = Field(
        "20/minute;100/hour",
        description="Failed URL imports (refused "
        "address, unreachable, not an image…) per key, app user or "
        "anonymous address; past it imports answer 429 at once.",
    )
    mail_per_address: str = Field(
        "5/hour;20/day",
        description="Sign-in codes and account "
        "emails (reset, verification) sent to one email address.",
    )
    mail_per_ip: str = Field(
        "20/hour;100/day",
        description="Sign-in codes and account emails requested from one client IP.",
    )
    key_prefix: str = Field("imgpro", description="Prefix of the rate-limit keys in Redis.")
    store: Literal["host", "memory"] = Field(
        "host",
        description="Without `redis_url`: `host` keeps the counters in "
        "data_dir/ratelimits.db, shared by every server process of this host (exact per "
        "host); `memory` keeps them per process (N processes admit N times the limit).",
    )

    @field_validator(
        "anon_uploads",
        "login_per_ip",
        "login_per_email",
        "signups_per_ip",
        "failed_imports",
        "mail_per_address",
        "mail_per_ip",
    )
    @classmethod
    def _rates(cls, value: str) -> str:
        return _parse_rate(value)


class PlanSettings(BaseModel):
    """One plan (SPEC §7). Limits are per workspace; ``null`` means unlimited."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    title: str = ""
    price_usd_month: float = Field(0, ge=0)
    uploads_per_month: int | None = Field(None, ge=0)
    storage_bytes: int | None = Field(None, ge=0)
    images: int | None = Field(None, ge=0)
    apps: int | None = Field(0, ge=0)

    @field_validator("apps", mode="before")
    @classmethod
    def _apps(cls, value: Any) -> Any:
        """How many apps an owner may register (null = unlimited). The older boolean form
        still reads: true = unlimited, false = none."""
        if isinstance(value, bool):
            return None if value else 0
        return value

    @field_validator("storage_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return _byte_size(value)

    @model_validator(mode="after")
    def _title(self) -> PlanSettings:
        self.title = self.title or self.name.replace("-", " ").replace("_", " ").title()
        return self


def _byte_size(value: Any) -> Any:
    """Accept "10GB", "500 MB" as well as a byte count."""
    if isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            raise ValueError("a byte count or a size like '10GB'")
        return int(float(m.group(1)) * _UNITS[(m.group(2) or "B").upper()])
    return value


class VariantSettings(BaseModel):
    """Storage of rendered variants: a budget, evicted least recently used (not counted against
    any plan's storage quota). Sizes take a byte count or "10GB"."""

    max_bytes: int = Field(
        10 * 1024 * MB,
        ge=0,
        description="Bytes of variants the blob store "
        "keeps in all (one host's disk with the local store); beyond it the "
        "least recently used go. 0 = no limit.",
    )
    max_bytes_per_image: int = Field(
        256 * MB,
        ge=0,
        description="Bytes of variants kept per "
        "image; beyond it that image's least recently used go (a "
        "larger variant is served but not kept). 0 = no limit.",
    )
    max_per_image: int = Field(200, ge=0, description="Variants kept per image; 0 = no limit.")
    touch_seconds: float = Field(
        30.0,
        gt=0,
        description="How often a server process writes "
        "the recency of the variants it served (one batched UPDATE; a "
        "hit itself never writes).",
    )

    @field_validator("max_bytes", "max_bytes_per_image", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return _byte_size(value)


class BillingSettings(BaseModel):
    """Plan changes (SPEC §7): signed upgrade links and the billing provider behind them."""

    provider: Literal["instant", "manual"] = Field(
        "manual",
        description="`manual` (default) records an upgrade request the operator "
        "approves (`imgpro plans approve`), so a public instance never hands out paid plans for "
        "free; `instant` applies an upgrade at once (private or demo instances).",
    )
    upgrade_link_ttl_seconds: int = Field(
        7 * 86400, ge=60, description="How long a signed upgrade link in a quota error stays valid."
    )


class SmtpSettings(BaseModel):
    """Outgoing mail (sign-in codes, verification, password reset, notifications). Messages go
    through a durable outbox in the database that a background task of the server drains."""

    url: str = Field(
        "",
        description="SMTP server: `smtp://user:pass@host:587` (STARTTLS; "
        "required when a user is given) or `smtps://user:pass@host:465` (TLS "
        "from the start). Empty = no mail server: every message is written to the "
        "server log and listed by `imgpro mail outbox`. See docs/mail.md.",
    )
    from_address: str = Field(
        "imgpro <noreply@localhost>",
        description="The From: of every message, e.g. `Example Images <images@example.com>`.",
    )
    ca_file: str = Field(
        "",
        description="A PEM file of extra CA certificates to trust for the "
        "SMTP server's TLS certificate (a private CA); empty = the system's.",
    )
    timeout_seconds: float = Field(
        20.0,
        gt=0,
        description="Seconds to connect to and talk to "
        "the SMTP server before an attempt counts as failed.",
    )
    max_attempts: int = Field(
        8,
        ge=1,
        description="Delivery attempts per message (backoff "
        "doubles from 30 s) before the outbox gives up on it.",
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("the SMTP URL starts with smtp:// or smtps://")
        return value


class AccountSettings(BaseModel):
    """Sign-up and email verification policy."""

    unverified_may_create: bool = Field(
        True,
        description="Whether accounts whose email is not "
        "verified yet may create API keys and apps (a banner "
        "asks them to verify either way).",
    )


class PasswordSettings(BaseModel):
    """Argon2id costs for account passwords. The defaults are argon2-cffi's (RFC 9106's
    low-memory recommendation); lower them only for tests, raise them on a big machine."""

    time_cost: int = Field(argon2.DEFAULT_TIME_COST, ge=1, description="Argon2 passes.")
    memory_cost_kib: int = Field(
        argon2.DEFAULT_MEMORY_COST, ge=8, description="Argon2 memory per hash, in KiB."
    )
    parallelism: int = Field(argon2.DEFAULT_PARALLELISM, ge=1, description="Argon2 lanes.")
