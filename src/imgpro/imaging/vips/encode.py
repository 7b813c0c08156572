"""Encoding a rendered frame (or an animation) into the output format, metadata stripped."""

from __future__ import annotations

from typing import Any

import pyvips

from imgpro.errors import InvalidImage

ANIMATED_OUTPUTS = frozenset({"gif", "webp"})
OUTPUT_FORMATS = frozenset({"jpg", "png", "webp", "avif", "gif"})
_WHITE = [255.0, 255.0, 255.0]


# AV1 encoding is the slow one: effort 3 of 0-9 is ~3x faster than the default 4 for a few % size.
_AVIF_EFFORT = 3
_NO_METADATA = pyvips.enums.ForeignKeep.NONE  # no EXIF, GPS, XMP, IPTC or ICC in any output


def encode(
    frames: list[Any],
    out_format: str,
    quality: int | None,
    *,
    delays: list[int] | None = None,
    loop: int | None = None,
) -> bytes:
    """Encode one frame, or several as one animation (GIF/WebP), with no metadata at all.

    JPEG must already be flat (no alpha): the pipeline flattens on the requested colour."""
    if out_format not in OUTPUT_FORMATS:
        raise ValueError(f"cannot encode {out_format!r}")
    if len(frames) > 1 and out_format not in ANIMATED_OUTPUTS:
        raise ValueError(f"{out_format} cannot hold an animation")
    try:
        im = frames[0]
        if len(frames) > 1:
            im = pyvips.Image.arrayjoin(frames, across=1).copy()
            im.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
            im.set_type(
                pyvips.GValue.array_int_type,
                "delay",
                (delays or [])[: len(frames)] + [100] * (len(frames) - len(delays or [])),
            )
            im.set_type(pyvips.GValue.gint_type, "loop", loop or 0)
        return _encode(im, out_format, quality)
    except pyvips.Error as exc:
        # Lazy pipeline: a file that was valid at upload but damaged since fails only here.
        raise InvalidImage() from exc


def _encode(im: Any, out_format: str, quality: int | None) -> bytes:
    keep = _NO_METADATA
    if out_format == "jpg":
        return bytes(_flatten(im).jpegsave_buffer(Q=quality, optimize_coding=True, keep=keep))
    if out_format == "png":
        return bytes(im.pngsave_buffer(compression=6, keep=keep))
    if out_format == "webp":
        return bytes(im.webpsave_buffer(Q=quality, effort=4, keep=keep))
    if out_format == "avif":
        return bytes(
            im.heifsave_buffer(compression="av1", Q=quality, effort=_AVIF_EFFORT, keep=keep)
        )
    # libimagequant at effort 4 of 10 is ~4x faster than the default 7 for ~4% larger files.
    return bytes(im.gifsave_buffer(effort=4, keep=keep))


def _flatten(im: Any) -> Any:
    return im.flatten(background=_WHITE[: max(im.bands - 1, 1)]) if im.hasalpha() else im
