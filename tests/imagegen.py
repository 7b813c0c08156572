"""Image factories for tests: small, structured, real files made by real encoders.

Every factory returns the encoded ``bytes``. Pictures are built from one *reference* scene — a
vertical/horizontal gradient in the requested base colour with a bright marker block in the
top-left quarter — so orientation, colour conversion and re-encoding can be checked with
:func:`similarity` rather than byte equality.

``w`` and ``h`` are always the *displayed* size: ``jpeg(64, 48, orientation=6)`` stores a 48x64
picture whose EXIF tag rotates it back to the same 64x48 scene as ``jpeg(64, 48)``.

pyvips does the encoding (it is the engine under test and writes every format we accept except
HEVC, BMP and ICO); pillow-heif encodes HEIC, Pillow encodes BMP and ICO and decodes for
:func:`similarity`.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import pillow_heif
import pyvips
from PIL import Image, ImageOps

Color = tuple[int, int, int]
DEFAULT_COLOR: Color = (200, 30, 30)
MARKER: Color = (20, 220, 60)

# Stored pixels for EXIF orientation N are the *inverse* of the transform a viewer applies, so
# that autorot(stored) == the reference scene. 5 and 7 are their own inverses; 6 and 8 swap.
_INVERSE_ORIENTATION = {
    1: lambda im: im,
    2: lambda im: im.fliphor(),
    3: lambda im: im.rot180(),
    4: lambda im: im.flipver(),
    5: lambda im: im.rot90().fliphor(),
    6: lambda im: im.rot270(),
    7: lambda im: im.rot270().fliphor(),
    8: lambda im: im.rot90(),
}


def scene(w: int, h: int, *, color: Color = DEFAULT_COLOR, shift: int = 0) -> pyvips.Image:
    """The reference picture as an 8-bit sRGB pyvips image (``shift`` moves it, for frames)."""
    xy = pyvips.Image.xyz(w, h)
    fx = ((xy[0] + shift) % w) / max(w - 1, 1)
    fy = xy[1] / max(h - 1, 1)
    shade = 0.35 + 0.65 * (1 - fy)  # darker towards the bottom
    r = shade * color[0] + 40 * fx
    g = shade * color[1] + 90 * fx
    b = shade * color[2] + 160 * fx
    rgb = r.bandjoin([g, b]).cast("uchar")
    marker = (xy[0] < max(w // 4, 1)) & (xy[1] < max(h // 4, 1))
    return marker.ifthenelse(list(MARKER), rgb).copy(interpretation="srgb")


def _alpha(im: pyvips.Image) -> pyvips.Image:
    """Add an alpha band: opaque left half, then a ramp down to fully transparent at the right."""
    x = pyvips.Image.xyz(im.width, im.height)[0]
    half = max(im.width / 2, 1)
    ramp = 255 - (x - half) * (255 / half)
    return im.bandjoin((x < half).ifthenelse(255, ramp).cast("uchar"))


def jpeg(
    w: int = 64,
    h: int = 48,
    *,
    orientation: int | None = None,
    cmyk: bool = False,
    quality: int = 90,
    color: Color = DEFAULT_COLOR,
) -> bytes:
    """A JPEG. ``cmyk=True`` writes an Adobe CMYK JPEG *without* an embedded ICC profile (the
    hard real-world case: the decoder must fall back to a default CMYK profile)."""
    im = scene(w, h, color=color)
    if orientation is not None:
        im = _INVERSE_ORIENTATION[orientation](im).copy()
        im.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    if cmyk:
        im = im.icc_transform("cmyk")
        return im.jpegsave_buffer(Q=quality, keep=pyvips.enums.ForeignKeep.EXIF)
    return im.jpegsave_buffer(Q=quality)


def png(w: int = 64, h: int = 48, *, alpha: bool = False, sixteen_bit: bool = False) -> bytes:
    im = scene(w, h)
    if alpha:
        im = _alpha(im)
    if sixteen_bit:
        im = (im.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16")
        return im.pngsave_buffer(bitdepth=16)
    return im.pngsave_buffer()


def _frames(w: int, h: int, frames: int) -> pyvips.Image:
    """``frames`` shifted copies of the scene stacked as one tall multi-page image."""
    pages = [scene(w, h, shift=i * max(w // frames, 1)) for i in range(frames)]
    strip = pyvips.Image.arrayjoin(pages, across=1)
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", h)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * frames)
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


def gif(w: int = 64, h: int = 48, *, frames: int = 1) -> bytes:
    return _frames(w, h, frames).gifsave_buffer()


def webp(w: int = 64, h: int = 48, *, alpha: bool = False, frames: int = 1) -> bytes:
    im = _frames(w, h, frames)
    if alpha:
        im = _alpha(im)
    return im.webpsave_buffer(Q=90)


def avif(w: int = 64, h: int = 48) -> bytes:
    # effort 0 keeps the AV1 encoder quick; the picture only has to decode, not be small.
    return scene(w, h).heifsave_buffer(compression="av1", Q=70, effort=0)


def heic(w: int = 64, h: int = 48, *, orientation: int | None = None) -> bytes:
    """An HEVC-coded HEIC (what phones write), via pillow-heif's x265 encoder.

    With ``orientation``, pillow-heif turns the EXIF tag into HEIF ``irot``/``imir`` transforms
    (and keeps the tag in the EXIF block), so the file displays as the ``w``x``h`` scene."""
    im = scene(w, h)
    exif = None
    if orientation is not None:
        im = _INVERSE_ORIENTATION[orientation](im).copy()
        tags = Image.Exif()
        tags[0x0112] = orientation
        exif = tags.tobytes()
    pil = Image.frombytes("RGB", (im.width, im.height), im.write_to_memory())
    out = io.BytesIO()
    pillow_heif.from_pillow(pil).save(out, quality=85, exif=exif)
    return out.getvalue()


def svg(w: int = 64, h: int = 48) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}">\n'
        '  <defs><linearGradient id="g"><stop offset="0" stop-color="#c81e1e"/>'
        '<stop offset="1" stop-color="#1e1ec8"/></linearGradient></defs>\n'
        f'  <rect width="{w}" height="{h}" fill="url(#g)"/>\n'
        f'  <circle cx="{w / 2}" cy="{h / 2}" r="{min(w, h) / 3}" fill="#14dc3c"/>\n'
        "</svg>\n"
    ).encode()


def _pil_scene(w: int, h: int) -> Image.Image:
    return Image.frombytes("RGB", (w, h), scene(w, h).write_to_memory())


def bmp(w: int = 64, h: int = 48) -> bytes:
    out = io.BytesIO()
    _pil_scene(w, h).save(out, format="BMP")
    return out.getvalue()


def ico(size: int = 32) -> bytes:
    out = io.BytesIO()
    _pil_scene(size, size).save(out, format="ICO", sizes=[(size, size)])
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    """A valid PNG header claiming ``w``x``h`` 8-bit greyscale pixels with a few hundred bytes
    of data: one deflated zero row. Any decoder that allocates before checking limits dies."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (w + 1), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def truncated(data: bytes) -> bytes:
    """The first half of ``data``: headers intact, pixel data cut short, no end marker."""
    return data[: max(len(data) // 2, 64)]


def _decode_for_compare(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        im = ImageOps.exif_transpose(opened).convert("RGBA")
    flat = Image.new("RGBA", im.size, (255, 255, 255, 255))
    flat.alpha_composite(im)
    return flat.convert("RGB").resize((size, size), Image.Resampling.BOX).tobytes()


def similarity(a: bytes, b: bytes, *, size: int = 32) -> float:
    """1.0 for identical pictures; lower the more they differ.

    Both images are decoded as a viewer shows them (EXIF orientation applied, alpha flattened
    on white, first frame), squashed to ``size``x``size`` and compared as
    ``1 - mean(|a - b|) / 255``. Re-encodes of the same scene score above ~0.97; the scene in
    another colour scores ~0.7; the scene rotated by 90 degrees scores ~0.8."""
    pa, pb = _decode_for_compare(a, size), _decode_for_compare(b, size)
    return 1 - sum(abs(x - y) for x, y in zip(pa, pb, strict=True)) / (255 * len(pa))


def frame_count(data: bytes) -> int:
    """Pages in an encoded image, as libvips reads them (1 for stills)."""
    im = pyvips.Image.new_from_buffer(data, "")
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1


pillow_heif.register_heif_opener()  # so similarity() can open HEIC too

__all__: Sequence[str] = (
    "avif",
    "bmp",
    "frame_count",
    "gif",
    "heic",
    "ico",
    "jpeg",
    "png",
    "png_bomb",
    "scene",
    "similarity",
    "svg",
    "truncated",
    "webp",
)
