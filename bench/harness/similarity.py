"""How close an output is to the floor's and to a full-quality reference (pyvips only).

:func:`psnr` compares with the floor's output on a small common-size decode;
:func:`psnr_vs_reference` compares at the output's own size with what a no-shortcut resize of
the source gives (full decode, Lanczos-3 all the way: no shrink-on-load, no block shrink), so
a contender that saves CPU by decoding JPEGs at a smaller DCT scale shows what it costs.

Both images are decoded (first frame), flattened on white, made 3-band sRGB and resized to the
same ≤256 px box, so small size/rounding differences do not count but skipped work does (a
wrong crop, a missing flatten, a blurrier resize or a much lower quality lowers the score).
≥ 35 dB is "the same picture"; < 25 dB means something visibly different was done.
"""

from __future__ import annotations

import math
from typing import Any

import pyvips

_BOX = 256
_SOURCES: dict[str, pyvips.Image] = {}


def describe(data: bytes) -> dict[str, Any]:
    im = pyvips.Image.new_from_buffer(data, "")
    pages = int(im.get("n-pages")) if im.get_typeof("n-pages") else 1
    height = int(im.get("page-height")) if im.get_typeof("page-height") else im.height
    loader = str(im.get("vips-loader")) if im.get_typeof("vips-loader") else ""
    return {
        "width": im.width,
        "height": height,
        "frames": pages,
        "bytes": len(data),
        "loader": loader.replace("load_buffer", "").replace("load_source", ""),
    }


def _norm(data: bytes, size: tuple[int, int] | None) -> pyvips.Image:
    im = pyvips.Image.new_from_buffer(data, "")
    if im.get_typeof("page-height") and im.get("page-height") != im.height:
        im = im.crop(0, 0, im.width, im.get("page-height"))
    im = im.colourspace("srgb")
    if im.hasalpha():
        im = im.flatten(background=[255, 255, 255])
    im = im.extract_band(0, n=3).cast("float")
    if size is None:
        return im
    return im.resize(size[0] / im.width, vscale=size[1] / im.height, kernel="linear")


def psnr(data: bytes, reference: bytes) -> float:
    ref = pyvips.Image.new_from_buffer(reference, "")
    scale = min(_BOX / ref.width, _BOX / ref.height, 1.0)
    size = (max(1, round(ref.width * scale)), max(1, round(ref.height * scale)))
    a, b = _norm(data, size), _norm(reference, size)
    if (a.width, a.height) != (b.width, b.height):  # rounding of the resize
        w, h = min(a.width, b.width), min(a.height, b.height)
        a, b = a.crop(0, 0, w, h), b.crop(0, 0, w, h)
    mse = float(((a - b) ** 2).avg())
    return 99.0 if mse <= 1e-10 else round(10 * math.log10(255.0**2 / mse), 1)


def _source(path: str) -> pyvips.Image:
    """The source's first frame, upright, sRGB, flattened on white, decoded once per run."""
    if path not in _SOURCES:
        im = pyvips.Image.new_from_file(path, access="random").autorot()
        if im.get_typeof("page-height") and im.get("page-height") != im.height:
            im = im.crop(0, 0, im.width, im.get("page-height"))
        im = im.colourspace("srgb")
        if im.hasalpha():
            im = im.flatten(background=[255, 255, 255])
        _SOURCES[path] = im.extract_band(0, n=3).copy_memory()
    return _SOURCES[path]


def psnr_vs_reference(data: bytes, source: str) -> float:
    """PSNR of ``data`` (first frame) against the source resized to the same dimensions with
    Lanczos-3 and no reducing gap: the best a resize can do, whatever the contender did."""
    out = _norm(data, None)
    src = _source(source)
    ref = src.resize(
        out.width / src.width, vscale=out.height / src.height, kernel="lanczos3", gap=0.0
    ).cast("float")
    w, h = min(out.width, ref.width), min(out.height, ref.height)
    mse = float(((out.crop(0, 0, w, h) - ref.crop(0, 0, w, h)) ** 2).avg())
    return 99.0 if mse <= 1e-10 else round(10 * math.log10(255.0**2 / mse), 1)
