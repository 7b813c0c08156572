"""Format-dependent parts of a spec: encoder quality, the background colour, and the canonical
form that names a cached variant (see spec.py's docstring for the decisions). Pure."""

from __future__ import annotations

from imgpro.transforms.spec import (
    _FLOAT_FIELDS,
    ALPHA_FORMATS,
    DEFAULT_BG,
    DEFAULT_QUALITY,
    OUTPUT_FORMATS,
    TransformSpec,
)


# --- output format, encoding helpers, canonical form ------------------------------------------
def ascii_lower(value: str) -> str:
    return value.lower() if value.isascii() else ""


def _check_format(out_format: str) -> None:
    if out_format not in OUTPUT_FORMATS:
        raise ValueError(f"not an output format: {out_format!r}")


def effective_quality(spec: TransformSpec, out_format: str) -> int | None:
    """The encoder quality to use: ``None`` for lossless png/gif."""
    _check_format(out_format)
    default = DEFAULT_QUALITY.get(out_format)
    if default is None:
        return None
    return spec.quality if spec.quality is not None else default


def background(spec: TransformSpec, out_format: str) -> str | None:
    """Pad/flatten colour ``rrggbb``; ``None`` means transparent (formats with alpha only)."""
    _check_format(out_format)
    if out_format in ALPHA_FORMATS:
        return spec.bg
    return spec.bg or DEFAULT_BG


def _fmt_float(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def canonical(spec: TransformSpec, out_format: str) -> str:
    """The variant's canonical name, e.g. ``w=500,h=300,fit=cover,g=north,f=webp,q=70``.

    Tokens come in a fixed order; defaults and no-ops are left out; ``f`` is always present.
    Raises ``ValueError`` for an unknown ``out_format`` (a programming error, not user input).
    """
    _check_format(out_format)
    parts: list[str] = []
    if spec.short_side is not None:
        parts.append(f"short={spec.short_side}")
    if spec.width is not None:
        parts.append(f"w={spec.width}")
    if spec.height is not None:
        parts.append(f"h={spec.height}")
    if spec.fit != "scale-down":
        parts.append(f"fit={spec.fit}")
    if spec.gravity != "center":
        parts.append(f"g={spec.gravity}")
    if spec.rotate:
        parts.append(f"rotate={spec.rotate}")
    if spec.flip:
        parts.append(f"flip={spec.flip}")
    for name in _FLOAT_FIELDS:
        value = getattr(spec, name)
        if value is not None:
            parts.append(f"{name}={_fmt_float(value)}")
    if spec.segment:
        parts.append("segment=foreground")
    if spec.mark is not None:
        parts.extend(spec.mark.tokens())
    bg = background(spec, out_format)
    if out_format in ALPHA_FORMATS:
        bg = bg if spec.fit == "pad" else None
    elif bg == DEFAULT_BG:
        bg = None
    if bg is not None:
        parts.append(f"bg={bg}")
    parts.append(f"f={out_format}")
    quality = effective_quality(spec, out_format)
    if quality is not None and quality != DEFAULT_QUALITY[out_format]:
        parts.append(f"q={quality}")
    return ",".join(parts)
