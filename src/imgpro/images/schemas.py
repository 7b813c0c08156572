"""The Image object (SPEC §4) and the request bodies that change it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from imgpro.clock import iso
from imgpro.transforms.sizes import SIZE_NAMES, named_size


class Links:
    """Where the faces live, so the Image object's URLs follow the operator's settings."""

    def __init__(self, cdn_base: str, web_base: str) -> None:
        self.cdn_base = cdn_base
        self.web_base = web_base

    def cdn_url(self, prefix: str, image_id: str, fmt: str) -> str:
        return f"{self.cdn_base}/{prefix}/{image_id}.{fmt}"

    def page_url(self, image_id: str) -> str:
        return f"{self.web_base}/{image_id}"


def image_object(row: Any, links: Links) -> dict[str, Any]:
    """Shape one ``images`` row as the public Image object; every field always present."""
    url = links.cdn_url(row.prefix, row.id, row.format)
    sizes: dict[str, Any] = {}
    if row.transformable and row.width and row.height:
        for short, long_name in SIZE_NAMES.items():
            w, h = named_size(row.width, row.height, short)
            sizes[long_name] = {"url": f"{url}?size={short}", "width": w, "height": h}
    placeholder = None
    if row.transformable and row.blurhash:
        placeholder = {"blurhash": row.blurhash, "color": row.color}
    return {
        "id": row.id,
        "object": "image",
        "url": url,
        "page_url": links.page_url(row.id),
        "sizes": sizes,
        "filename": row.filename or f"{row.id}.{row.format}",
        "format": row.format,
        "width": row.width,
        "height": row.height,
        "bytes": row.bytes,
        "transformable": bool(row.transformable),
        "status": row.status,
        "public": bool(row.public),
        "published_at": iso(row.published_at),
        "expires_at": iso(row.expires_at),
        "created_at": iso(row.created_at),
        "caption": row.caption,
        "metadata": dict(row.metadata or {}),
        "labels": dict(row.labels or {}),
        "nsfw": bool(row.nsfw),
        "placeholder": placeholder,
    }


# -- documentation models (OpenAPI) -------------------------------------------------------------

class SizeOut(BaseModel):
    url: str
    width: int
    height: int


class PlaceholderOut(BaseModel):
    blurhash: str
    color: str


class ImageOut(BaseModel):
    id: str
    object: str = "image"
    url: str
    page_url: str
    sizes: dict[str, SizeOut]
    filename: str
    format: str
    width: int | None
    height: int | None
    bytes: int | None
    transformable: bool
    status: str
    public: bool
    published_at: str | None
    expires_at: str | None
    created_at: str | None
    caption: str | None
    metadata: dict[str, str]
    labels: dict[str, str]
    nsfw: bool
    placeholder: PlaceholderOut | None


class PaginationOut(BaseModel):
    next_cursor: str | None
    has_more: bool


class ImageListOut(BaseModel):
    object: str = "list"
    data: list[ImageOut]
    pagination: PaginationOut


class DeletedOut(BaseModel):
    id: str
    object: str = "image"
    deleted: bool = True


class ImageUpdate(BaseModel):
    """PATCH body: every field optional; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")

    caption: str | None = Field(None, max_length=2000)
    public: bool | None = None
    metadata: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    published_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


class ImportBody(BaseModel):
    """JSON body of ``POST /v1/images``: import from a URL."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., max_length=4096)
    caption: str | None = Field(None, max_length=2000)
    public: bool | None = None
    ttl: int | str | None = None
    metadata: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    filename: str | None = Field(None, max_length=255)


class BatchIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(..., min_length=1, max_length=100)


class BatchUpdate(BatchIds):
    set: ImageUpdate


class BatchItemError(BaseModel):
    code: str
    message: str


class BatchItem(BaseModel):
    id: str
    deleted: bool | None = None
    image: ImageOut | None = None


class BatchResultOut(BaseModel):
    object: str = "batch_result"
    data: list[dict[str, Any]]
    errors: list[dict[str, Any]]
