"""What an upload is, how big it is, and whether it decodes — before anything expensive happens.

The upload path calls, in order: :func:`sniff` on the first bytes (type from magic bytes only,
never from names or headers), :func:`probe_file` (header-only dimensions and the pixel limit,
so a decompression bomb is refused before a single pixel is allocated), then
:func:`validate_decodable` (or :func:`imgpro.imaging.vips.make_placeholder`, which proves the
same for transformable formats).

Pillow appears here only to decode BMP and ICO, which libvips' bundle cannot read; their
dimensions come from our own header parsing so the pixel limit never depends on Pillow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from imgpro.errors import ImageTooLarge, InvalidImage
from imgpro.imaging import heif, vips
from imgpro.imaging.svg import check_svg, looks_like_svg, svg_size

SOURCE_FORMATS = ("jpeg", "png", "gif", "webp", "avif", "heic", "svg", "bmp", "ico")

# source format -> served format; HEIC has no browser support, so it is served as JPEG.
_SERVED = {"jpeg": "jpg", "heic": "jpg"}
MIME = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
}
SNIFF_BYTES = 4096  # how much of the file sniff() wants to see

# ISO-BMFF brands (ftyp box). AVIF wins when both families are listed: libvips decodes AV1.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# BITMAPCOREHEADER, INFOHEADER, V2, V3, OS/2 2.x (16 and 64 bytes), V4, V5.
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


# --- sniffing --------------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The source format from the first bytes (pass at least :data:`SNIFF_BYTES`), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head[:4] == b"\x00\x00\x01\x00":
        return "ico" if _looks_like_ico(head) else None
    if head[:2] == b"BM":
        return "bmp" if _looks_like_bmp(head) else None
    return "svg" if looks_like_svg(head) else None


def _sniff_ftyp(head: bytes) -> str | None:
    size = struct.unpack(">I", head[:4])[0]
    start = 8
    if size == 1:  # 64-bit "largesize" follows the type
        size, start = struct.unpack(">Q", head[8:16])[0], 16
    end = len(head) if size == 0 else min(size, len(head))
    if end < start + 8:
        return None
    # major brand, 4 bytes of minor version, then compatible brands to the end of the box
    brands = [head[start : start + 4]]
    brands += [head[i : i + 4] for i in range(start + 8, end - 3, 4)]
    if any(b in _AVIF_BRANDS for b in brands):
        return "avif"
    if any(b in _HEIC_BRANDS for b in brands):
        return "heic"
    return None


def _looks_like_ico(head: bytes) -> bool:
    if len(head) < 22:
        return False
    count = struct.unpack("<H", head[4:6])[0]
    # First directory entry: reserved byte 0, colour planes 0 or 1, data after the directory.
    reserved, planes = head[9], struct.unpack("<H", head[10:12])[0]
    offset = struct.unpack("<I", head[18:22])[0]
    return 0 < count <= 256 and reserved == 0 and planes <= 1 and offset >= 6 + 16 * count


def _looks_like_bmp(head: bytes) -> bool:
    return len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_DIB_SIZES


# --- probing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    source_format: str  # one of SOURCE_FORMATS
    format: str  # served format: jpg png gif webp avif svg bmp ico
    mime: str  # of the served format
    width: int  # as displayed: after EXIF orientation
    height: int
    frames: int  # 1 for stills; frame count for animated GIF/WebP
    transformable: bool  # False for svg, bmp, ico: served as stored


def probe_file(path: Path, source_format: str, *, max_pixels: int, max_frames: int) -> Probe:
    """Header-only dimensions and limits. Raises :class:`ImageTooLarge` (over ``max_pixels``,
    frames summed, or over ``max_frames``) before any pixel is decoded, :class:`InvalidImage`
    when the header cannot be read. Blocking."""
    if source_format not in SOURCE_FORMATS:
        raise ValueError(f"unknown source format {source_format!r}")
    if source_format == "bmp":
        (width, height), frames = _bmp_size(path), 1
    elif source_format == "ico":
        (width, height), frames = _ico_size(path), 1
    elif source_format == "svg":
        (width, height), frames = svg_size(path), 1
    elif source_format == "heic":
        (width, height), frames = heif.read_size(path), 1
    else:
        header = vips.read_header(path, source_format)
        width, height, frames = header.width, header.height, header.frames

    if frames > max_frames:
        raise ImageTooLarge(f"The image has {frames} frames; the limit is {max_frames}.")
    if width * height * frames > max_pixels:
        raise ImageTooLarge(
            f"The image has {width}x{height} pixels"
            + (f" in each of {frames} frames" if frames > 1 else "")
            + f"; the limit is {max_pixels} pixels in total."
        )
    served = _SERVED.get(source_format, source_format)
    return Probe(
        source_format=source_format,
        format=served,
        mime=MIME[served],
        width=width,
        height=height,
        frames=frames,
        transformable=source_format not in ("svg", "bmp", "ico"),
    )


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _bmp_size(path: Path) -> tuple[int, int]:
    head = _read_head(path, 26)
    if len(head) < 26 or not _looks_like_bmp(head):
        raise InvalidImage()
    if struct.unpack("<I", head[14:18])[0] == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", head[18:22])
    else:
        width, height = struct.unpack("<ii", head[18:26])
        height = abs(height)  # negative height means rows are stored top-down
    if width < 1 or height < 1:
        raise InvalidImage()
    return width, height


def _ico_size(path: Path) -> tuple[int, int]:
    """The largest entry (the one Pillow decodes and browsers show when space allows)."""
    data = path.read_bytes()  # icons are small; the upload byte cap bounds this anyway
    if not _looks_like_ico(data):
        raise InvalidImage()
    count = struct.unpack("<H", data[4:6])[0]
    best = (0, 0)
    for i in range(count):
        entry = data[6 + 16 * i : 22 + 16 * i]
        if len(entry) < 16:
            raise InvalidImage()
        width, height = entry[0] or 256, entry[1] or 256  # 0 means 256
        offset = struct.unpack("<I", entry[12:16])[0]
        ihdr = data[offset + 16 : offset + 24]
        if data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and len(ihdr) == 8:
            # PNG-compressed entries may be larger than a byte can say; trust their IHDR.
            width, height = struct.unpack(">II", ihdr)
        if width * height > best[0] * best[1]:
            best = (width, height)
    if best[0] < 1 or best[1] < 1:
        raise InvalidImage()
    return best


# --- decodability ----------------------------------------------------------------------------

_PILLOW_FORMAT = {"bmp": "BMP", "ico": "ICO"}


def validate_decodable(path: Path, probe: Probe) -> None:
    """Raise :class:`InvalidImage` unless the pixel data decodes, as cheaply as possible:
    a tiny shrink-on-load decode for transformable formats (malformed metadata is tolerated,
    missing pixel data is not), Pillow's decode for BMP/ICO (already bounded by the pixel
    limit), and a safe XML parse with an ``<svg>`` root for SVG."""
    if probe.transformable:
        vips.check_decodable(path, probe)
    elif probe.source_format == "svg":
        check_svg(path)
    else:
        _pillow_decode(path, _PILLOW_FORMAT[probe.source_format])


def _pillow_decode(path: Path, pillow_format: str) -> None:
    try:
        with Image.open(path, formats=[pillow_format]) as im:
            im.load()
    except Exception as exc:
        # Pillow raises a zoo of types on bad input (OSError, ValueError, SyntaxError,
        # struct.error, IndexError, DecompressionBombError ...); all mean "not decodable".
        raise InvalidImage() from exc
