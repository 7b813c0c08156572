"""Every CDN transform parameter (SPEC §5): its values, meaning and JSON schema. /openapi.json
and /docs/transforms are generated from this one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TransformParam:
    name: str
    values: str  # as a person reads it
    meaning: str
    schema: dict[str, Any]


_GRAVITY = ["center", "north", "south", "east", "west", "ne", "nw", "se", "sw", "face"]

TRANSFORM_PARAMS: tuple[TransformParam, ...] = (
    TransformParam(
        "size",
        "`s`, `m`, `l`, `social`",
        "Short side 320 / 640 / 1080, never enlarged; `social` is exactly 1200×630, "
        "the image fitted inside and padded.",
        {"type": "string", "enum": ["s", "m", "l", "social"]},
    ),
    TransformParam(
        "w",
        "1–8192",
        "Target width in pixels (alone or with `h`).",
        {"type": "integer", "minimum": 1, "maximum": 8192},
    ),
    TransformParam(
        "h",
        "1–8192",
        "Target height in pixels (alone or with `w`).",
        {"type": "integer", "minimum": 1, "maximum": 8192},
    ),
    TransformParam(
        "fit",
        "`scale-down` (default), `contain`, `cover`, `crop`, `pad`",
        "scale-down: fit inside, never enlarge; contain: fit inside, may enlarge; "
        "cover: fill the box, trim around `g`; crop: fill the box, trim where the "
        "interesting content is not; pad: fit inside and pad to w×h with `bg`.",
        {"type": "string", "enum": ["scale-down", "contain", "cover", "crop", "pad"]},
    ),
    TransformParam(
        "g",
        "`center`, `north`, `south`, `east`, `west`, `ne`, `nw`, `se`, `sw`, `face`",
        "Anchor for `cover`/`crop`.",
        {"type": "string", "enum": _GRAVITY},
    ),
    TransformParam(
        "dpr",
        "1–4",
        "Multiplies `w`/`h` (for high-density screens).",
        {"type": "number", "minimum": 1, "maximum": 4},
    ),
    TransformParam(
        "format",
        "`jpg`, `png`, `webp`, `avif`, `gif`, `auto`",
        "Output format; overrides the path's extension. `auto` picks AVIF/WebP/JPEG "
        "from `Accept` and sends `Vary: Accept`.",
        {"type": "string", "enum": ["jpg", "png", "webp", "avif", "gif", "auto"]},
    ),
    TransformParam(
        "q",
        "1–100",
        "Encoder quality (alias `quality`); sensible per-format defaults.",
        {"type": "integer", "minimum": 1, "maximum": 100},
    ),
    TransformParam(
        "brightness",
        "0–10",
        "Multiplier, 1 = unchanged.",
        {"type": "number", "minimum": 0, "maximum": 10},
    ),
    TransformParam(
        "contrast",
        "0–10",
        "Multiplier, 1 = unchanged.",
        {"type": "number", "minimum": 0, "maximum": 10},
    ),
    TransformParam(
        "saturation",
        "0–10",
        "Multiplier, 1 = unchanged (0 = greyscale).",
        {"type": "number", "minimum": 0, "maximum": 10},
    ),
    TransformParam(
        "gamma",
        "0–10",
        "Multiplier, 1 = unchanged.",
        {"type": "number", "minimum": 0, "maximum": 10},
    ),
    TransformParam(
        "blur", "1–250", "Gaussian blur.", {"type": "number", "minimum": 1, "maximum": 250}
    ),
    TransformParam(
        "sharp", "0–10", "Unsharp mask.", {"type": "number", "minimum": 0, "maximum": 10}
    ),
    TransformParam(
        "rotate",
        "`90`, `180`, `270`",
        "Clockwise, after EXIF orientation.",
        {"type": "integer", "enum": [90, 180, 270]},
    ),
    TransformParam(
        "flip",
        "`h`, `v`, `hv`",
        "Mirror horizontally, vertically or both.",
        {"type": "string", "enum": ["h", "v", "hv"]},
    ),
    TransformParam(
        "bg",
        "hex `rrggbb`",
        "Padding/flatten colour (default white; transparent where the format has alpha).",
        {"type": "string", "pattern": "^[0-9a-fA-F]{6}$"},
    ),
    TransformParam(
        "preset",
        "a preset name",
        "Applies the image's workspace preset of this "
        "name (`/v1/presets`) first; the URL's other parameters override it name by "
        "name. An unknown name is ignored.",
        {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
    ),
    TransformParam(
        "s",
        "signature (32 characters)",
        "Required when the workspace turns on "
        "signed transforms (`/v1/settings`) for any parameter set other than none, "
        "one `size`, or a `preset` (with at most a `size`): HMAC-SHA256 of the path "
        "and the sorted parameters, base64url, first 32 characters "
        "(/docs/transforms). Otherwise 403 `signature_required`.",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{32}$"},
    ),
)
