"""The CDN route in the OpenAPI document: its URL, every transform parameter, its answers."""

from __future__ import annotations

from typing import Any

from imgpro.api import openapi_examples as ex
from imgpro.api.openapi_errors import error_responses
from imgpro.docs.catalog import TRANSFORM_PARAMS


def document_cdn(op: dict[str, Any], method: str) -> None:
    op["security"] = []
    op["description"] = (
        "The Image object's `url`: `{cdn}/{prefix}/{id}.{ext}`. The extension picks the output "
        "format; query parameters transform the image on the fly. **An invalid value is "
        "ignored, never an error**: the image still loads and `X-Img-Ignored` lists what was "
        "ignored. Each distinct parameter set is rendered once and cached; responses are "
        "immutable with a strong `ETag` (`If-None-Match` answers 304). `preset` applies a "
        "named preset of the image's workspace. When that workspace turns on signed transforms "
        "(`PATCH /v1/settings`), any parameter set other than none, one `size` or a `preset` "
        "(with at most a `size`) needs a valid `s` or answers 403 `signature_required` "
        "(`Cache-Control: no-store`)."
    )
    params = [
        {
            "name": "prefix",
            "in": "path",
            "required": True,
            "example": ex.IMAGE_PREFIX,
            "description": "3-character shard of the owning workspace (from the Image object's "
            "`url`).",
            "schema": {"type": "string", "pattern": "^[a-z0-9]{3}$"},
        },
        {
            "name": "name",
            "in": "path",
            "required": True,
            "example": f"{ex.IMAGE['id']}.jpg",
            "description": "`{id}.{ext}`; ext is jpg, png, gif, webp or avif (svg, bmp, ico as "
            "stored).",
            "schema": {"type": "string"},
        },
    ]
    params += [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "schema": p.schema,
            "description": f"{p.meaning} Values: {p.values}.",
        }
        for p in TRANSFORM_PARAMS
    ]
    params.append(
        {
            "name": "quality",
            "in": "query",
            "required": False,
            "deprecated": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
            "description": "Alias of `q`.",
        }
    )
    op["parameters"] = params
    image = {"schema": {"type": "string", "format": "binary"}}
    headers = {
        name: {"description": text, "schema": {"type": "string"}}
        for name, text in (
            ("ETag", "Strong validator of these bytes."),
            ("Cache-Control", "`public, max-age=31536000, immutable`."),
            ("X-Img-Ignored", "Parameters that were ignored (invalid, unknown or overridden)."),
        )
    }
    ok: dict[str, Any] = {"description": "The image bytes.", "headers": headers}
    if method == "get":
        ok["content"] = {
            f"image/{t}": image
            for t in ("jpeg", "png", "gif", "webp", "avif", "svg+xml", "bmp", "x-icon")
        }
    op["responses"] = {
        "200": ok,
        "304": {"description": "Not modified (If-None-Match)."},
        **error_responses(("signature_required", "not_found", "busy")),
    }
