"""Typed views of the API's objects (SPEC §3–4). ``raw`` keeps the whole JSON object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Size:
    url: str
    width: int
    height: int


@dataclass(frozen=True)
class Image:
    id: str
    url: str
    page_url: str
    filename: str
    format: str
    width: int | None
    height: int | None
    bytes: int | None
    transformable: bool
    status: str
    public: bool
    caption: str | None
    metadata: dict[str, str]
    labels: dict[str, str]
    sizes: dict[str, Size]
    published_at: str | None
    expires_at: str | None
    created_at: str | None
    nsfw: bool
    placeholder: dict[str, str] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Image:
        return cls(
            id=data["id"],
            url=data["url"],
            page_url=data["page_url"],
            filename=data.get("filename", ""),
            format=data.get("format", ""),
            width=data.get("width"),
            height=data.get("height"),
            bytes=data.get("bytes"),
            transformable=bool(data.get("transformable")),
            status=data.get("status", ""),
            public=bool(data.get("public")),
            caption=data.get("caption"),
            metadata=dict(data.get("metadata") or {}),
            labels=dict(data.get("labels") or {}),
            sizes={k: Size(**v) for k, v in (data.get("sizes") or {}).items()},
            published_at=data.get("published_at"),
            expires_at=data.get("expires_at"),
            created_at=data.get("created_at"),
            nsfw=bool(data.get("nsfw")),
            placeholder=data.get("placeholder"),
            raw=data,
        )


@dataclass(frozen=True)
class ImagePage:
    data: list[Image]
    next_cursor: str | None
    has_more: bool

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ImagePage:
        page = body.get("pagination") or {}
        return cls(
            [Image.from_json(i) for i in body.get("data", [])],
            page.get("next_cursor"),
            bool(page.get("has_more")),
        )


@dataclass(frozen=True)
class Meter:
    used: int
    limit: int | None  # None = unlimited


@dataclass(frozen=True)
class Usage:
    plan: str
    period_start: str
    period_end: str
    uploads: Meter
    storage_bytes: Meter
    images: Meter
    images_stored: int
    limits_enforced: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Usage:
        limits = body.get("limits") or {}

        def meter(name: str) -> Meter:
            m = limits.get(name) or {}
            return Meter(int(m.get("used") or 0), m.get("limit"))

        metered = [limits.get(n, {}).get("limit") for n in ("uploads", "storage_bytes", "images")]
        return cls(
            plan=body.get("plan", ""),
            period_start=body["period"]["start"],
            period_end=body["period"]["end"],
            uploads=meter("uploads"),
            storage_bytes=meter("storage_bytes"),
            images=meter("images"),
            images_stored=int((body.get("totals") or {}).get("images_stored") or 0),
            # Servers before limits_enforced: enforced unless every limit is null.
            limits_enforced=bool(body.get("limits_enforced", any(x is not None for x in metered))),
            raw=body,
        )


@dataclass(frozen=True)
class BatchResult:
    ids: list[str]  # the ids that succeeded
    errors: dict[str, dict[str, Any]]  # id -> {code, message}
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> BatchResult:
        return cls(
            [d["id"] for d in body.get("data", [])],
            {e["id"]: e.get("error", {}) for e in body.get("errors", [])},
            body,
        )
