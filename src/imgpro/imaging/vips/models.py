"""libvips around the small CPU models: the copies the models read, and what their answers do to
the frame (background removal, face-aware crops, watermarks).

Part of the ``imaging.vips`` package: the only place in imgpro that imports pyvips. The models
(:mod:`imgpro.models`) only ever see small numpy arrays made here — a 320×320 RGB copy for
U²-Netp, a grey copy of at most 640 px for the face detector — never a full-size frame.

All functions block; the pipeline calls them in the render pool.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvips

from imgpro.errors import InvalidImage
from imgpro.models import faces, segment


def _srgb(im: Any) -> Any:
    return im.colourspace("srgb") if im.bands < 3 else im


def _colour(im: Any) -> Any:
    """The colour bands (alpha dropped), 8-bit sRGB."""
    im = _srgb(im)
    return im.extract_band(0, n=3) if im.bands > 3 else im


def remove_background(im: Any) -> Any:
    """``im`` with its background made transparent: U²-Netp's mask of a 320×320 copy, resized
    back to the frame (bicubic: the mask is smooth, so edges stay soft rather than stepped) and
    used as alpha. An existing alpha is kept where the mask keeps the pixel (multiplied)."""
    size = segment.INPUT_SIZE
    try:
        # The frame is read twice (the small copy, then the composite): hold it in memory once
        # (it is the output frame, already inside the plan's pixel budget).
        im = im.copy_memory()
        small = _colour(im).resize(size / im.width, vscale=size / im.height, kernel="linear")
        if (small.width, small.height) != (size, size):  # rounding: pin the exact input size
            small = small.embed(0, 0, size, size, extend="copy")
        rgb = np.ascontiguousarray(small.numpy(), dtype=np.uint8)
        mask = pyvips.Image.new_from_array(segment.foreground_mask(rgb))
        alpha = mask.resize(im.width / size, vscale=im.height / size, kernel="cubic")
        if (alpha.width, alpha.height) != (im.width, im.height):
            alpha = alpha.embed(0, 0, im.width, im.height, extend="copy")
        alpha = alpha.cast("uchar")
        if im.hasalpha():
            colour = im.extract_band(0, n=im.bands - 1)
            alpha = (im.extract_band(im.bands - 1) * alpha / 255).cast("uchar")
        else:
            colour = im
        return _srgb(colour).bandjoin(alpha).copy(interpretation="srgb")
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def find_faces(im: Any) -> list[faces.Box]:
    """Faces in ``im`` (in ``im``'s pixels), detected on a grey copy of at most
    :data:`faces.DETECT_SIDE` px on its long side."""
    scale = min(1.0, faces.DETECT_SIDE / max(im.width, im.height))
    try:
        grey = im.colourspace("b-w") if im.bands >= 3 else im
        grey = grey.extract_band(0)
        if scale < 1:
            grey = grey.resize(scale, kernel="linear")
        found = faces.detect_faces(np.ascontiguousarray(grey.numpy(), dtype=np.uint8))
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    if scale == 1:
        return found
    back = 1 / scale
    return [
        faces.Box(
            round(b.left * back), round(b.top * back), round(b.width * back), round(b.height * back)
        )
        for b in found
    ]


def face_window(im: Any, size: tuple[int, int]) -> tuple[int, int] | None:
    """Top-left of a ``size`` window of ``im`` keeping its faces; None when it has none."""
    found = find_faces(im)
    if not found:
        return None
    return faces.crop_around(found, (im.width, im.height), size)


def attention_window(im: Any, size: tuple[int, int]) -> tuple[int, int]:
    """Top-left of the ``size`` window libvips' saliency (``attention``) would keep."""
    try:
        _, opts = im.smartcrop(
            size[0],
            size[1],
            interesting="attention",
            premultiplied=False,
            attention_x=True,
            attention_y=True,
        )
        ax, ay = int(opts["attention_x"]), int(opts["attention_y"])
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    left = min(max(0, ax - size[0] // 2), im.width - size[0])
    top = min(max(0, ay - size[1] // 2), im.height - size[1])
    return left, top


def watermark(im: Any, mark_png: bytes, left: int, top: int, opacity: float) -> Any:
    """``mark_png`` (the mark's rendered variant, already at its final size) composited over
    ``im`` at (left, top) with its alpha scaled by ``opacity``. The frame keeps its bands: an
    opaque frame stays opaque (JPEG outputs are flat already)."""
    try:
        mark = _srgb(pyvips.Image.new_from_buffer(mark_png, "", access="sequential"))
        if not mark.hasalpha():
            mark = mark.bandjoin_const([255])
        mark = mark.extract_band(0, n=3).bandjoin((mark.extract_band(3) * opacity).cast("uchar"))
        base = _srgb(im)
        had_alpha = base.hasalpha()
        if not had_alpha:
            base = base.bandjoin_const([255])
        out = base.composite2(mark, "over", x=left, y=top).cast("uchar")
        return out if had_alpha else out.extract_band(0, n=3)
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def smart_window_source(im: Any) -> Any:
    """A random-access copy of a loaded fill: face detection and saliency both read it, then
    the crop cuts it (a sequential load could be read once only)."""
    try:
        return im.copy_memory()
    except pyvips.Error as exc:
        raise InvalidImage() from exc
