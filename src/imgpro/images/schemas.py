"""The Image object (SPEC §4) and the request bodies that change it."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from imgpro.clock import iso
from imgpro.transforms.sizes import SIZE_NAMES, named_size


class Links:
    """Where the faces live, so the Image object's URLs follow the operator's settings."""

    def __init__(self, cdn_base: str, web_base: str) -> None:
        self.cdn_base = cdn_base  # url: {cdn_base}/{prefix}/{id}.{format}
        self.web_base = web_base  # page_url: {web_base}/{id}


# The columns an Image object is made of, in the order _shape takes them. The list query
# selects exactly these (repository.OBJECT_COLUMNS), so its rows are unpacked by position:
# reading 20 attributes off a SQLAlchemy Row by name costs more than building the object.
OBJECT_FIELDS = (
    "id",
    "prefix",
    "filename",
    "format",
    "width",
    "height",
    "bytes",
    "transformable",
    "status",
    "public",
    "caption",
    "metadata",
    "labels",
    "nsfw",
    "blurhash",
    "color",
    "thumbhash",
    "published_at",
    "expires_at",
    "created_at",
)


def image_object(row: Any, links: Links) -> dict[str, Any]:
    """Shape one row as the public Image object; every field always present. ``row`` has the
    :data:`OBJECT_FIELDS` by name (a full ``images`` row, or one of OBJECT_COLUMNS)."""
    return _shape(links, *[getattr(row, name) for name in OBJECT_FIELDS])


def image_objects(rows: Any, links: Links) -> list[dict[str, Any]]:
    """Image objects from rows that *start with* the :data:`OBJECT_FIELDS`, in that order
    (repository.OBJECT_COLUMNS) — the list page's fast path (it was 38 % of a page's CPU)."""
    n = len(OBJECT_FIELDS)
    return [_shape(links, *row[:n]) for row in rows]


def _shape(
    links: Links,
    image_id: str,
    prefix: str,
    filename: str | None,
    fmt: str,
    width: int | None,
    height: int | None,
    size: int | None,
    transformable: Any,
    status: str,
    public: Any,
    caption: str | None,
    metadata: Any,
    labels: Any,
    nsfw: Any,
    blurhash: str | None,
    color: str | None,
    thumbhash: str | None,
    published_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    created_at: dt.datetime | None,
) -> dict[str, Any]:
    url = f"{links.cdn_base}/{prefix}/{image_id}.{fmt}"
    transformable = bool(transformable)
    return {
        "id": image_id,
        "object": "image",
        "url": url,
        "page_url": f"{links.web_base}/{image_id}",
        "sizes": _sizes(url, width, height) if transformable and width and height else {},
        "filename": filename or f"{image_id}.{fmt}",
        "format": fmt,
        "width": width,
        "height": height,
        "bytes": size,
        "transformable": transformable,
        "status": status,
        "public": bool(public),
        "published_at": _iso(published_at),
        "expires_at": _iso(expires_at),
        "created_at": _iso(created_at),
        "caption": caption,
        "metadata": _string_map(metadata),
        "labels": _string_map(labels),
        "nsfw": bool(nsfw),
        # thumbhash is null for images uploaded before it existed (migration 0008).
        "placeholder": (
            {"blurhash": blurhash, "color": color, "thumbhash": thumbhash}
            if transformable and blurhash
            else None
        ),
    }


def _sizes(url: str, width: int, height: int) -> dict[str, Any]:
    return {
        long_name: {"url": f"{url}?size={short}", "width": w, "height": h}
        for short, long_name, w, h in _named_sizes(width, height)
    }


@functools.lru_cache(maxsize=4096)
def _named_sizes(width: int, height: int) -> tuple[tuple[str, str, int, int], ...]:
    # Pure arithmetic, and most images of a collection share a handful of camera sizes.
    return tuple(
        (short, long_name, *named_size(width, height, short))
        for short, long_name in SIZE_NAMES.items()
    )


def _iso(value: dt.datetime | None) -> str | None:
    """clock.iso, faster for the usual case (a UTC datetime from the database): one
    isoformat instead of astimezone + strftime."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC or value.year < 1000:  # strftime pads years differently
        return iso(value)
    return value.isoformat(timespec="seconds")[:19] + "Z"


def _string_map(value: Any) -> dict[str, str]:
    """metadata/labels: decoded by the driver (full rows) or JSON text (OBJECT_COLUMNS)."""
    if not value or value == "{}":
        return {}
    if isinstance(value, str):
        decoded: dict[str, str] = json.loads(value)
        return decoded
    return dict(value)


# -- documentation models (OpenAPI) -------------------------------------------------------------


class SizeOut(BaseModel):
    url: str
    width: int
    height: int


class PlaceholderOut(BaseModel):
    blurhash: str
    color: str
    # Base64 ThumbHash (keeps aspect ratio and alpha); null for images uploaded before it.
    thumbhash: str | None


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


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # "left out" is not "null"


class ImageUpdate(BaseModel):
    """PATCH body: every field optional; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")

    # public, metadata and labels may be left out but never be null (the service refuses
    # null): the schema says so, so generated clients never send it.
    caption: str | None = Field(None, max_length=2000)
    public: bool = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    metadata: dict[str, str] = Field(None, json_schema_extra=_no_default)  # type: ignore[arg-type]
    labels: dict[str, str] = Field(None, json_schema_extra=_no_default)  # type: ignore[arg-type]
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


class BatchResultOut(BaseModel):
    object: str = "batch_result"
    data: list[dict[str, Any]]
    errors: list[dict[str, Any]]
