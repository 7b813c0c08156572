"""libvips — the ``imaging.vips`` package is the only place in imgpro that imports pyvips
(this module: loading, placeholders, the pipeline's operations and encoding; ``models.py``: the
copies the CPU models read and what their answers do to a frame).

Every pixel path starts at one loader (:func:`load`, or :func:`_load` for the fixed-size uses)
that returns the image *as a viewer sees it*: EXIF orientation applied, converted to 8-bit sRGB
(or grey), alpha kept. Loading is shrink-on-load (``thumbnail``) and sequential wherever the
output allows, so a 50 MP JPEG placeholder costs a 1/8-scale DCT decode, not a full one.

The transform operations further down (crop, orient, adjust, blur, sharpen, flatten, pad,
encode) are the vocabulary of :mod:`imgpro.transforms.pipeline`; images cross this module's
boundary as opaque values (``Any``), so nothing else needs to know pyvips.

All functions block; callers run them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyvips

from imgpro.errors import ImageTooLarge, InvalidImage
from imgpro.imaging import heif
from imgpro.imaging.placeholder import placeholder_of
from imgpro.imaging.thumbhash import thumbhash_of
from imgpro.imaging.vips.load import (
    Loaded,
    _has_icc,
    _load,
    _open_header,
    load,
    load_window,
)

if TYPE_CHECKING:
    from imgpro.imaging.probe import Probe

# Every call opens its file afresh; libvips' operation cache would only pin decoded images and
# file handles of blobs that may be deleted a moment later.
pyvips.cache_set_max(0)

# Security boundary: uploads are hostile. libvips can load many formats we never accept (TIFF,
# CSV, matrix, raw, .v ...); refuse them all at the library level so no sniffing mismatch can
# route a file to a loader we did not mean to expose.
_ALLOWED_LOADERS = ("Jpeg", "Png", "Nsgif", "Webp", "Heif", "Svg")
pyvips.operation_block_set("VipsForeignLoad", True)
for _name in _ALLOWED_LOADERS:
    pyvips.operation_block_set(f"VipsForeignLoad{_name}", False)

_PLACEHOLDER_BOX = 32  # px; plenty for a 4x3-component blurhash and an average colour


def set_concurrency(threads: int) -> None:
    """Threads libvips may use per operation. The app runs several renders in parallel in its
    own bounded pool, so a low number here avoids oversubscribing the CPU."""
    pyvips.concurrency_set(max(threads, 1))


# --- headers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    width: int  # as displayed (orientation 5-8 already swapped), one frame
    height: int
    frames: int


def read_header(path: Path, source_format: str) -> Header:
    """Dimensions from the file header only — no pixels are decoded.

    Animated GIF/WebP report their frame count; HEIF-family files count as one frame because only
    the primary image is ever decoded. EXIF orientation is honoured for stills only: libvips does
    not rotate multi-page images, so neither do we."""
    return _header_of(_open_header(path, source_format), source_format)


def _header_of(im: Any, source_format: str) -> Header:
    frames = _pages(im) if source_format in ("gif", "webp") else 1
    width, height = im.width, im.height  # one page: loaded with the default n=1
    if frames == 1 and _orientation(im) >= 5:
        width, height = height, width
    if width < 1 or height < 1:
        raise InvalidImage()
    return Header(width, height, frames)


def _pages(im: Any) -> int:
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1


def _orientation(im: Any) -> int:
    value = int(im.get("orientation")) if im.get_typeof("orientation") else 1
    return value if 1 <= value <= 8 else 1


@dataclass(frozen=True)
class Source:
    """What the header of a stored original says, read before any pixel is decoded."""

    width: int  # as displayed
    height: int
    frames: int
    has_icc: bool
    orientation: int = 1  # EXIF orientation of the stored pixels (stills; HEIC decodes upright)


def open_source(path: Path, probe: Probe, *, max_pixels: int) -> Source:
    """Re-read the header of a stored original and check it before decoding anything.

    Security boundary: the row's dimensions were checked at upload, but the bytes on disk are
    what libvips will decode. A file that claims more pixels than allowed (a decompression
    bomb) is refused with :class:`ImageTooLarge`, one whose header disagrees with what was
    probed with :class:`InvalidImage` — both before a single pixel is allocated."""
    if not probe.transformable:
        raise ValueError(f"{probe.source_format} is served as stored, never decoded by libvips")
    if probe.source_format == "heic":
        width, height = heif.read_size(path)
        frames, icc, orientation = 1, False, 1  # heif.decode: the profile comes with the pixels
    else:
        im = _open_header(path, probe.source_format)
        header = _header_of(im, probe.source_format)
        width, height, frames, icc = header.width, header.height, header.frames, _has_icc(im)
        orientation = _orientation(im) if frames == 1 else 1
    if width * height * frames > max_pixels:
        raise ImageTooLarge()
    if (width, height) != (probe.width, probe.height):
        raise InvalidImage()  # the stored file is not the one that was probed
    return Source(width, height, frames, icc, orientation)


def has_alpha(path: Path, source_format: str) -> bool:
    """Whether a stored original has an alpha channel (header only). HEIC counts as opaque:
    it is served as JPEG, and phones never write alpha into it."""
    if source_format in ("jpeg", "heic"):
        return False
    return bool(_open_header(path, source_format).hasalpha())


# --- loading pixels --------------------------------------------------------------------------


_JPEG_SCAN_CUT_SHORT = "premature end of data segment"


def _small(path: Path, probe: Probe) -> Any:
    """A <=32px, upright, sRGB first frame, alpha kept.

    Evaluating it decodes every byte of pixel data (at 1/8 scale for JPEG), so it doubles as the
    cheapest proof that the file is not truncated. A JPEG is decoded with libjpeg's warnings
    fatal first: the one that means "scan cut short" refuses the file, any other (extraneous
    bytes, odd markers: common in camera files) falls back to the tolerant decode."""
    box = (_PLACEHOLDER_BOX, _PLACEHOLDER_BOX)
    if probe.source_format == "jpeg":
        try:
            return _evaluated(_load(path, probe, box, fail_on="warning"))
        except InvalidImage as exc:
            detail = getattr(exc.__cause__, "detail", "") or ""
            if _JPEG_SCAN_CUT_SHORT in detail.lower():
                raise
    return _evaluated(_load(path, probe, box))


def _evaluated(im: Any) -> Any:
    if im.bands < 3:
        im = im.colourspace("srgb")
    try:
        return im.copy_memory()
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _rgb_bytes(im: Any) -> tuple[bytes, int, int]:
    """Packed RGB rows, alpha flattened on white (BlurHash has no alpha)."""
    return bytes(_flatten(im).extract_band(0, n=3).write_to_memory()), im.width, im.height


def _rgba_bytes(im: Any) -> bytes:
    """Packed RGBA rows (opaque where the image has no alpha): ThumbHash keeps alpha."""
    rgba = im if im.hasalpha() else im.bandjoin_const([255])
    return bytes(rgba.extract_band(0, n=4).write_to_memory())


def check_decodable(path: Path, probe: Probe) -> None:
    """Raise :class:`InvalidImage` unless the pixel data decodes (transformable formats)."""
    _small(path, probe)


@dataclass(frozen=True)
class Placeholder:
    blurhash: str  # 4x3 components, on white
    color: str  # ``#rrggbb`` average, on white
    thumbhash: str  # base64 ThumbHash: keeps the aspect ratio and alpha


def make_placeholder(path: Path, probe: Probe) -> Placeholder:
    """The placeholders of the displayed image, all from one <=32 px decode.

    ThumbHash reads the same 32 px thumbnail as BlurHash (it keeps only a few low frequencies:
    32 px carries all of them, and no second decode is needed). Also proves the pixels decode,
    so a caller that needs it need not call :func:`check_decodable` as well. Raises
    :class:`InvalidImage` on truncated/corrupt data."""
    small = _small(path, probe)
    blurhash, color = placeholder_of(*_rgb_bytes(small))
    return Placeholder(blurhash, color, thumbhash_of(_rgba_bytes(small), small.width, small.height))


# --- transform operations (the pipeline's vocabulary) ----------------------------------------
# Each takes and returns one frame. Colour operations leave alpha alone.


# The render steps' operations and the encoders live beside this module (ops.py, encode.py);
# callers keep importing them from ``imgpro.imaging.vips``.
from imgpro.imaging.vips.encode import (  # noqa: E402
    ANIMATED_OUTPUTS,
    OUTPUT_FORMATS,
    _flatten,
    encode,
)
from imgpro.imaging.vips.ops import (  # noqa: E402
    adjust,
    blur,
    extract,
    flatten,
    orient,
    pad,
    sharpen,
)

__all__ = [
    "ANIMATED_OUTPUTS",
    "OUTPUT_FORMATS",
    "Loaded",
    "adjust",
    "blur",
    "encode",
    "extract",
    "flatten",
    "load",
    "load_window",
    "orient",
    "pad",
    "sharpen",
]
