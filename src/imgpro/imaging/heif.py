"""HEIC/HEIF through pillow-heif — the one decoder here for HEVC-coded files.

pyvips-binary's libheif is built without an HEVC decoder (patents), so the phone photos that make
up most HEIC uploads cannot be decoded by libvips; pillow-heif bundles libde265 and can. This
module turns such a file into raw 8-bit pixels that :mod:`imgpro.imaging.vips` wraps with
``new_from_memory`` and processes like any other image.

Orientation: HEIF carries rotation/mirroring as ``irot``/``imir`` transform properties, which are
authoritative; libheif applies them while decoding and reports the *transformed* size (pillow-heif
does not ask it to skip them). An EXIF Orientation tag inside a HEIC is informational only and
describes the same transform — applying it again would double-rotate. So the pixels and sizes
returned here are already as displayed, and callers must never autorotate them.
(Checked: the corpus iPhone file IMG_5195.HEIC has ``irot`` 0 and no EXIF Orientation — it really
is 2566x3313 as displayed; a file written with EXIF orientation 6 by pillow-heif gets ``irot`` 3
and decodes already upright.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgpro.errors import InvalidImage

if TYPE_CHECKING:
    import pillow_heif

# pillow_heif (and Pillow under it) is imported on the first HEIC, not at start-up: most
# processes never see one, and it is ~5 MB of every server process's RSS (measured).

_BANDS = {"L": 1, "RGB": 3, "RGBA": 4}


@dataclass(frozen=True)
class HeifPixels:
    """The primary image, decoded: tightly packed 8-bit rows, as displayed."""

    data: bytes | memoryview  # a view of libheif's buffer where no repacking is needed
    width: int
    height: int
    bands: int  # 1 (grey), 3 (RGB) or 4 (RGBA, straight alpha)
    icc_profile: bytes | None  # the embedded profile the pixels are in (iPhones: Display P3)


def _open(path: Path) -> pillow_heif.HeifFile:
    import pillow_heif

    try:
        # open_heif only parses the container; pixels are decoded on first access to .data.
        return pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
    except (ValueError, EOFError, SyntaxError, RuntimeError, OSError) as exc:
        raise InvalidImage() from exc


def read_size(path: Path) -> tuple[int, int]:
    """(width, height) of the primary image as displayed, from the header only."""
    width, height = _open(path).size
    if width < 1 or height < 1:
        raise InvalidImage()
    return width, height


def decode(path: Path) -> HeifPixels:
    """Decode the primary image (full resolution: HEVC has no shrink-on-load).

    Raises :class:`InvalidImage` on corrupt or truncated data, or when this build has no decoder
    for the file's codec (pillow-heif's wheel decodes HEVC only, not AV1)."""
    heif = _open(path)
    try:
        mode = heif.mode
        if mode not in _BANDS or heif.premultiplied_alpha:
            # Rare variants (16-bit mono, premultiplied alpha): let Pillow normalise them.
            return _from_pillow(heif)
        bands = _BANDS[mode]
        width, height = heif.size
        data = _packed(heif.data, heif.stride, width * bands, height)
    except (ValueError, EOFError, SyntaxError, RuntimeError, OSError) as exc:
        raise InvalidImage() from exc
    return HeifPixels(data, width, height, bands, _icc(heif))


def _packed(data: bytes, stride: int, row_bytes: int, height: int) -> bytes | memoryview:
    """Drop libheif's per-row alignment padding (if any) so rows are contiguous. Without any, a
    view of libheif's own buffer: a 7000x7000 decode is 147 MB, and a copy would double it."""
    if stride == row_bytes:
        return memoryview(data)[: row_bytes * height]
    view = memoryview(data)
    return b"".join(view[y * stride : y * stride + row_bytes] for y in range(height))


def _from_pillow(heif: pillow_heif.HeifFile) -> HeifPixels:
    im = heif.to_pillow()
    im = im.convert("RGBA" if "A" in im.mode else "RGB")
    return HeifPixels(im.tobytes(), im.width, im.height, len(im.mode), _icc(heif))


def _icc(heif: pillow_heif.HeifFile) -> bytes | None:
    profile = heif.info.get("icc_profile")
    # nclx colour descriptions (no ICC bytes) mean sRGB/BT.709 for 8-bit content in practice.
    return bytes(profile) if profile and heif.info.get("icc_profile_type") == "prof" else None
