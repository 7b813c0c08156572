"""All configuration, in one place. The only module that reads the environment.

Every setting has the prefix ``IMGPRO_``; nested groups use ``__``
(``IMGPRO_LIMITS__ANON_MAX_BYTES``).
The README's configuration table is generated from these classes (``scripts/settings_table.py``),
so a field's description is its documentation.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


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


class RenderSettings(BaseModel):
    """The CDN's rendering pool."""

    workers: int = Field(0, description="Render threads; 0 means one per CPU core.")
    queue_size: int = Field(
        0, description="Renders allowed to wait before the CDN answers 503; 0 means 4 per worker."
    )
    vips_concurrency: int = Field(1, description="libvips threads per render.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IMGPRO_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(Path("./imgpro-data"), description="Where the embedded default keeps "
                           "its SQLite file and blobs.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite in data_dir. PostgreSQL: "
        "postgresql+asyncpg://user@host/db"
    )
    storage: Literal["local", "memory"] = Field("local", description="Blob store backend.")
    storage_dir: Path | None = Field(None, description="Blob directory; default data_dir/blobs.")
    redis_url: str = Field("", description="Redis URL for shared rate limits; empty = in-process.")

    host: str = Field("127.0.0.1", description="Address `imgpro serve` listens on.")
    port: int = Field(8000, description="Port `imgpro serve` listens on.")
    api_base_url: str = Field("", description="Public base of the REST API; empty = same origin.")
    cdn_base_url: str = Field("", description="Public base of the CDN face (…/i); empty = "
                              "same origin + /i.")
    web_base_url: str = Field("", description="Public base of the web pages; empty = same origin.")
    public_base_url: str = Field("http://127.0.0.1:8000", description="The origin used when a "
                                 "base URL above is empty.")

    secret_key: str = Field("", description="Signs links and sessions; empty = a random key kept "
                            "in data_dir/secret.key.")
    trusted_proxies: list[str] = Field(default_factory=list, description="Peers whose "
                                       "X-Forwarded-For is believed (IPs or CIDRs).")
    auto_migrate: bool = Field(True, description="Bring the schema up to date on start.")

    limits: LimitSettings = LimitSettings()
    imports: ImportSettings = ImportSettings()
    render: RenderSettings = RenderSettings()

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
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or (self.data_dir / "blobs")

    @property
    def api_base(self) -> str:
        return self.api_base_url or self.public_base_url

    @property
    def cdn_base(self) -> str:
        return self.cdn_base_url or f"{self.public_base_url}/i"

    @property
    def web_base(self) -> str:
        return self.web_base_url or self.public_base_url

    def resolved_secret_key(self) -> str:
        """The signing key: configured, or generated once and kept beside the data."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
