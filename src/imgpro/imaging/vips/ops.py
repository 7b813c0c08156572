"""The pixel operations of the render steps: crop, orient, adjust, blur, sharpen, flatten, pad."""

from __future__ import annotations

from typing import Any


def extract(im: Any, left: int, top: int, width: int, height: int) -> Any:
    """A rectangle of ``im``. Streams: safe on a sequentially loaded image."""
    return im.extract_area(left, top, width, height)


def orient(im: Any, rotate: int, flip: str | None) -> Any:
    """Rotate clockwise by ``rotate`` degrees, then mirror (``h``, ``v``; never ``hv``: the spec
    folds that into a rotation). Rotations and vertical flips read rows out of order, so the
    (already resized and cropped) frame is rendered to memory first."""
    if rotate or flip == "v":
        im = im.copy_memory()
    if rotate:
        im = im.rot(f"d{rotate}")
    if flip == "h":
        im = im.fliphor()
    elif flip == "v":
        im = im.flipver()
    return im


def _split_alpha(im: Any) -> tuple[Any, Any | None]:
    if not im.hasalpha():
        return im, None
    return im.extract_band(0, n=im.bands - 1), im.extract_band(im.bands - 1)


def _join_alpha(colour: Any, alpha: Any | None) -> Any:
    return colour if alpha is None else colour.bandjoin(alpha)


def adjust(
    im: Any,
    *,
    brightness: float | None = None,
    contrast: float | None = None,
    saturation: float | None = None,
    gamma: float | None = None,
) -> Any:
    """Multipliers, 1 = unchanged: brightness scales every channel; contrast stretches around
    mid-grey (128); gamma brightens above 1 (``255 * (v/255) ** (1/gamma)``); saturation
    scales chroma in LCh (grey images have none)."""
    colour, alpha = _split_alpha(im)
    bands = colour.bands
    if brightness is not None or contrast is not None:
        scale = brightness if brightness is not None else 1.0
        offset = 0.0
        if contrast is not None:
            scale, offset = scale * contrast, 128.0 * (1.0 - contrast)
        colour = colour.linear([scale] * bands, [offset] * bands, uchar=True)
    if gamma is not None:
        colour = colour.gamma(exponent=max(gamma, 0.01))  # 0 would divide by zero: near-black
    if saturation is not None and bands >= 3:
        lch = colour.colourspace("lch") * [1.0, saturation, 1.0]
        colour = lch.colourspace("srgb").cast("uchar")
    return _join_alpha(colour, alpha)


# Above this sigma, blur a reduced copy and scale it back: a Gaussian of sigma s costs ~6s
# multiply-adds per pixel per pass, and blur=250 on a large output would tie a worker up for
# seconds. The result is visually the same (a wide blur has no high frequencies to lose).
_DIRECT_BLUR_SIGMA = 10.0


def blur(im: Any, sigma: float) -> Any:
    """Gaussian blur, alpha premultiplied so transparent pixels do not bleed their colour."""
    width, height = im.width, im.height
    premultiplied = im.hasalpha()
    work = im.premultiply() if premultiplied else im
    # Never reduce below ~8 px on the short side (tiny images are cheap to blur directly).
    factor = min(sigma / _DIRECT_BLUR_SIGMA, min(width, height) / 8)
    if factor > 1:
        small = work.resize(1 / factor, kernel="linear")
        blurred = small.gaussblur(sigma / factor)
        work = blurred.resize(width / blurred.width, vscale=height / blurred.height)
        if (work.width, work.height) != (width, height):  # rounding: pin the exact size
            work = work.embed(0, 0, width, height, extend="copy")
    else:
        work = work.gaussblur(sigma)
    if premultiplied:
        work = work.unpremultiply()
    return work.cast("uchar")


def sharpen(im: Any, amount: float) -> Any:
    """Unsharp mask on lightness; ``amount`` 0-10 (about 1.5 is libvips' default strength)."""
    colour, alpha = _split_alpha(im)
    sharp = colour.sharpen(sigma=1.0, m1=amount / 2, m2=amount * 2)
    return _join_alpha(sharp.cast("uchar"), alpha)


def _rgb(hex_colour: str) -> list[float]:
    return [float(int(hex_colour[i : i + 2], 16)) for i in (0, 2, 4)]


def _for_colour(im: Any, hex_colour: str) -> Any:
    """Grey images become sRGB when they must meet a colour that is not grey."""
    r, g, b = _rgb(hex_colour)
    if im.bands < 3 and not r == g == b:
        return im.colourspace("srgb")
    return im


def _background(im: Any, hex_colour: str) -> list[float]:
    rgb = _rgb(hex_colour)
    colour_bands = im.bands - (1 if im.hasalpha() else 0)
    return rgb[:1] if colour_bands == 1 else rgb


def flatten(im: Any, hex_colour: str) -> Any:
    """Composite any alpha onto ``hex_colour`` (``rrggbb``)."""
    if not im.hasalpha():
        return im
    im = _for_colour(im, hex_colour)
    return im.flatten(background=_background(im, hex_colour)).cast("uchar")


def pad(im: Any, width: int, height: int, left: int, top: int, hex_colour: str | None) -> Any:
    """Place ``im`` at (left, top) on a ``width``x``height`` canvas of ``hex_colour``, or of
    transparent pixels when it is ``None`` (an alpha band is added if needed)."""
    if hex_colour is None:
        if not im.hasalpha():
            im = im.bandjoin_const([255])
        background = [0.0] * im.bands
    else:
        im = _for_colour(im, hex_colour)
        background = _background(im, hex_colour) + ([255.0] if im.hasalpha() else [])
    return im.embed(left, top, width, height, extend="background", background=background)


# --- encoding --------------------------------------------------------------------------------
