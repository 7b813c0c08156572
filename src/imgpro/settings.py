"""All configuration, in one place. The only module that reads the environment.

Every setting has the prefix ``IMGPRO_``; nested groups use ``__``
(``IMGPRO_LIMITS__ANON_MAX_BYTES``); the groups are in ``settings_groups.py``.
The README's configuration table is generated from these classes (``scripts/settings_table.py``),
so a field's description is its documentation.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from imgpro.origins import served_origin
from imgpro.settings_groups import (
    MB,
    AccountSettings,
    BillingSettings,
    ImportSettings,
    LimitSettings,
    PasswordSettings,
    PlanSettings,
    RateLimitSettings,
    RenderSettings,
    S3Settings,
    SmtpSettings,
    VariantSettings,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IMGPRO_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(
        Path("./imgpro-data"),
        description="Where the embedded default keeps its SQLite file and blobs.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite in data_dir. PostgreSQL: "
        "postgresql+asyncpg://user@host/db",
    )
    storage: Literal["local", "memory", "s3"] = Field(
        "local",
        description="Blob store backend: "
        "`local` (storage_dir), `s3` (the `s3` "
        "group) or `memory` (tests).",
    )
    storage_dir: Path | None = Field(None, description="Blob directory; default data_dir/blobs.")
    redis_url: str = Field(
        "",
        description="Redis URL for rate limits shared across hosts; "
        "empty = shared by this host's processes (`rate_limits.store`).",
    )
    disk_reserve_bytes: int = Field(
        4 * MB,
        ge=0,
        description="Disk space kept allocated in data_dir and given back when "
        "a delete fails on a full disk, so space can always be freed through the API. "
        "0 = none.",
    )

    host: str = Field("127.0.0.1", description="Address `imgpro serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `imgpro serve` listens on.")
    workers: int = Field(
        0,
        ge=0,
        description="Server processes `imgpro serve` runs (`--workers` "
        "overrides); 0 = one per CPU core (one with the memory blob store). "
        "Rate limits are shared by all of them (`rate_limits.store`).",
    )
    access_log: bool = Field(
        False,
        description="Log one line per request (uvicorn's access "
        "log). Off by default: it nearly doubles the CPU of a cached CDN "
        "hit (measured, docs/transforms.md).",
    )
    api_base_url: str = Field("", description="Public base of the REST API; empty = same origin.")
    cdn_base_url: str = Field(
        "", description="Public base of the CDN face (…/i); empty = same origin + /i."
    )
    web_base_url: str = Field("", description="Public base of the web pages; empty = same origin.")
    public_base_url: str = Field(
        "",
        description="The origin used when a base URL above is "
        "empty; empty = the address `imgpro serve` listens on "
        "(`http://HOST:PORT`, a wildcard host as loopback). Set it "
        "when clients reach the service under another name.",
    )

    secret_key: str = Field(
        "",
        description="Signs links and sessions; empty = a random key kept in data_dir/secret.key.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Peers whose X-Forwarded-For is believed (IPs or CIDRs)."
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Origins whose "
        "web pages may call `/v1` from the browser (CORS), as a "
        'JSON list, e.g. `["https://app.example.com"]`; `["*"]` = '
        "any (the default: `/v1` never reads cookies); `[]` = "
        "none.",
    )
    auto_migrate: bool = Field(
        True,
        description="Bring the schema up to date on start "
        "(`imgpro serve`: once, before its processes start).",
    )
    accel_redirect_prefix: str = Field(
        "",
        description="Behind nginx with the local blob store: answer cached CDN GETs with "
        "X-Accel-Redirect to this internal location prefix (e.g. /_imgpro_blobs/) so nginx "
        "sends the file. Empty = off. See docs/performance.md.",
    )
    accel_cache_seconds: int = Field(
        0,
        ge=0,
        le=3600,
        description="Behind an nginx `proxy_cache`: how long nginx may answer "
        "a CDN URL from its own cache (sent as X-Accel-Expires, which nginx obeys before "
        "Cache-Control and strips). Deletes and expiries reach clients through nginx within "
        "this many seconds. 0 = not sent. See docs/performance.md.",
    )

    plans: list[PlanSettings] = Field(
        default_factory=list,
        description='Plans as a JSON list, cheapest first, e.g. `[{"name": "free", '
        '"images": 5000, "uploads_per_month": 1000, "storage_bytes": "5GB", "apps": 1}, …]` '
        "(null = unlimited; fields in docs/billing.md); empty = the defaults free/pro/unlimited "
        "(SPEC §7).",
    )

    limits: LimitSettings = LimitSettings()
    imports: ImportSettings = ImportSettings()
    render: RenderSettings = RenderSettings()
    variants: VariantSettings = VariantSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    billing: BillingSettings = BillingSettings()
    s3: S3Settings = S3Settings()
    smtp: SmtpSettings = SmtpSettings()
    accounts: AccountSettings = AccountSettings()
    passwords: PasswordSettings = PasswordSettings()

    @field_validator("plans")
    @classmethod
    def _unique_plans(cls, plans: list[PlanSettings]) -> list[PlanSettings]:
        names = [p.name for p in plans]
        if len(set(names)) != len(names):
            raise ValueError(f"plan names must be unique: {names}")
        return plans

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        # An origin is scheme://host[:port]; a pasted trailing slash would never match one.
        return [o.strip().rstrip("/") for o in origins if o.strip()]

    @model_validator(mode="after")
    def _strip_slashes(self) -> Settings:
        for name in ("api_base_url", "cdn_base_url", "web_base_url", "public_base_url"):
            setattr(self, name, getattr(self, name).rstrip("/"))
        return self

    # -- derived values -------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'imgpro.db').resolve()}"

    @property
    def rate_limit_file(self) -> Path | None:
        """The host-wide rate-limit store, or None when Redis or process memory keeps them."""
        if self.redis_url or self.rate_limits.store == "memory":
            return None
        return self.data_dir / "ratelimits.db"

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or (self.data_dir / "blobs")

    @property
    def public_base(self) -> str:
        """The origin every returned or rendered URL starts with: the configured one, else the
        address `imgpro serve` listens on (it passes its --host/--port on as IMGPRO_HOST and
        IMGPRO_PORT). Never the request's Host header: a client must not choose the links
        that the API hands out."""
        return self.public_base_url or served_origin(self.host, self.port)

    @property
    def api_base(self) -> str:
        return self.api_base_url or self.public_base

    @property
    def cdn_base(self) -> str:
        return self.cdn_base_url or f"{self.public_base}/i"

    @property
    def web_base(self) -> str:
        return self.web_base_url or self.public_base

    @property
    def web_base_configured(self) -> bool:
        """Whether the operator named the pages' origin; if not, pages link origin-relative
        so they work under every name the server answers to (localhost and 127.0.0.1)."""
        return bool(self.web_base_url or self.public_base_url)

    @property
    def api_base_configured(self) -> bool:
        return bool(self.api_base_url or self.public_base_url)

    def resolved_secret_key(self) -> str:
        """The signing key: configured, or generated once and kept beside the data."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(48)
        # Several processes may start at once on one data_dir and all must sign with the same
        # key: write a private temp file, then link it into place — link() fails if another
        # process got there first, and nobody ever reads a half-written file.
        tmp = self.data_dir / f".secret.key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = path.read_text().strip()
        finally:
            tmp.unlink(missing_ok=True)
        return key
