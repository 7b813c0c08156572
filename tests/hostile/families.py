"""Hostile inputs, generated (each family small): what an attacker uploads anonymously to make
one render, or one upload, cost the machine. Shared by the hostile suite and bench/hostile.py."""

from __future__ import annotations

import functools
import io

import pyvips
from PIL import Image

import imagegen


def _solid(w: int, h: int) -> pyvips.Image:
    return pyvips.Image.black(w, h).new_from_image([200, 40, 40]).cast("uchar")


def extreme_aspect() -> dict[str, bytes]:
    """Tiny files whose cover/crop fill used to be gigapixels (16383x1 covering 200x200 filled
    3,276,600x200; 1x65000 covering 2000x2000 put the crop past libvips' coordinate limit)."""
    return {
        "wide.avif": _solid(16383, 1).heifsave_buffer(compression="av1", effort=0),
        "tall.png": _solid(1, 65000).pngsave_buffer(),
        "wide.jpg": _solid(65000, 1).jpegsave_buffer(),
        "tall.gif": imagegen.gif(2, 4000, frames=3),
    }


FITS = ("cover", "crop", "pad", "contain", "scale-down")
GRAVITIES = ("center", "north", "south", "east", "west", "ne", "nw", "se", "sw")


def aspect_queries() -> list[tuple[str, tuple[int, int] | None]]:
    """(query, expected output size or None = just a valid image)."""
    out: list[tuple[str, tuple[int, int] | None]] = []
    for fit in FITS:
        exact = fit in ("cover", "crop", "pad")
        out.append((f"w=200&h=200&fit={fit}", (200, 200) if exact else None))
        out.append((f"w=2000&h=2000&fit={fit}", (2000, 2000) if exact else None))
    out += [(f"w=300&h=100&fit=cover&g={g}", (300, 100)) for g in GRAVITIES]
    out += [
        ("w=200&h=200&fit=cover&rotate=90&g=se", (200, 200)),
        ("w=500&h=500&fit=cover&dpr=4&blur=250", (2000, 2000)),
        ("size=social", (1200, 630)),
        ("w=8192&h=8192&fit=cover", (2048, 2048)),
    ]
    return out


def upscale() -> dict[str, bytes]:
    return {"one.png": _solid(1, 1).pngsave_buffer(), "tiny.jpg": _solid(3, 2).jpegsave_buffer()}


@functools.cache
def big_heic(side: int = 7000) -> bytes:
    """~11 KB that decodes to side x side (HEVC has no shrink-on-load: a full decode). x265's
    ultrafast preset: ~10 s to encode here instead of ~43 s."""
    import pillow_heif

    pil = Image.frombytes("RGB", (side, side), _solid(side, side).write_to_memory())
    out = io.BytesIO()
    pillow_heif.from_pillow(pil).save(out, quality=50, enc_params={"preset": "ultrafast"})
    return out.getvalue()


def truncated() -> dict[str, bytes]:
    heic = imagegen.heic(640, 480)
    gif = imagegen.gif(200, 150, frames=10)
    jpeg = _solid(7000, 7000).jpegsave_buffer()
    sos = jpeg.index(b"\xff\xda")
    files = {f"heic-{p}.heic": heic[: len(heic) * p // 100] for p in (30, 60, 95)}
    files |= {f"gif-{p}.gif": gif[: len(gif) * p // 100] for p in (60, 95)}
    files["jpeg-header-only.jpg"] = jpeg[: sos + 14] + b"\xff\xd9"  # claims 7000x7000
    return files


def svg_fanout(levels: int = 7, fan: int = 10) -> bytes:
    """~2 KB, no intrinsic size: each <use> references a group of ``fan`` <use>s, ``levels``
    deep (10^7 rectangles for librsvg to lay out when asked to measure it)."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<defs><g id="l0"><rect width="1" height="1" fill="red"/></g>'
    ]
    for i in range(1, levels):
        uses = "".join(f'<use xlink:href="#l{i - 1}" x="{j}"/>' for j in range(fan))
        parts.append(f'<g id="l{i}">{uses}</g>')
    parts.append(f'</defs><use xlink:href="#l{levels - 1}"/></svg>')
    return "".join(parts).encode()


def ico_with_text() -> bytes:
    """An ICO whose PNG entry carries a tEXt chunk (author/comment metadata)."""
    data = bytearray(imagegen.ico(32))
    png_at = data.index(b"\x89PNG")
    iend = data.index(b"IEND", png_at) - 4
    chunk = imagegen._png_chunk(b"tEXt", b"Author\x00Secret Person <me@example.com>")
    data[iend:iend] = chunk
    size_field = 6 + 8  # first directory entry: bytes-in-resource
    size = int.from_bytes(data[size_field : size_field + 4], "little") + len(chunk)
    data[size_field : size_field + 4] = size.to_bytes(4, "little")
    return bytes(data)
