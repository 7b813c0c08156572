"""libvips — the only module in imgpro that imports pyvips.

Every pixel path here goes through one loader (:func:`_load`) that returns the image *as a viewer
sees it*: EXIF orientation applied, converted to 8-bit sRGB. Loading is shrink-on-load
(``thumbnail``) and sequential wherever the output allows, so a 50 MP JPEG placeholder costs a
1/8-scale DCT decode, not a full one.

All functions block; callers run them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blurhash
import pyvips

from imgpro.errors import InvalidImage
from imgpro.imaging import heif

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

# The libvips loader each sniffed source format must be read with (probe.SOURCE_FORMATS).
_LOADER = {
    "jpeg": "jpegload",
    "png": "pngload",
    "gif": "gifload",
    "webp": "webpload",
    "avif": "heifload",
    "heic": "heifload",
    "svg": "svgload",
}
ANIMATED_OUTPUTS = frozenset({"gif", "webp"})
OUTPUT_FORMATS = frozenset({"jpg", "png", "webp", "avif", "gif"})
_WHITE = [255.0, 255.0, 255.0]
_PLACEHOLDER_BOX = 32  # px; plenty for a 4x3-component blurhash and an average colour


def set_concurrency(threads: int) -> None:
    """Threads libvips may use per operation. The app runs several renders in parallel in its
    own bounded pool, so a low number here avoids oversubscribing the CPU."""
    pyvips.concurrency_set(threads)


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
    im = _open_header(path, source_format)
    frames = _pages(im) if source_format in ("gif", "webp") else 1
    width, height = im.width, im.height  # one page: loaded with the default n=1
    if frames == 1 and _orientation(im) >= 5:
        width, height = height, width
    if width < 1 or height < 1:
        raise InvalidImage()
    return Header(width, height, frames)


def _open_header(path: Path, source_format: str) -> Any:
    try:
        loader = getattr(pyvips.Image, _LOADER[source_format])
        # Loading is lazy: this parses the header and nothing else.
        return loader(str(path), access="sequential")
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _pages(im: Any) -> int:
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1


def _orientation(im: Any) -> int:
    value = int(im.get("orientation")) if im.get_typeof("orientation") else 1
    return value if 1 <= value <= 8 else 1


def _has_icc(im: Any) -> bool:
    return bool(im.get_typeof("icc-profile-data"))


# --- loading pixels --------------------------------------------------------------------------


def _load(path: Path, probe: Probe, box: tuple[int, int], *, animated: bool = False) -> Any:
    """The image fitted inside ``box`` (never enlarged), upright, 8-bit sRGB, alpha kept.

    ``animated`` loads every frame at full size (GIF/WebP have no shrink-on-load anyway);
    otherwise only the first frame/primary image. Truncated pixel data raises at evaluation."""
    if not probe.transformable:
        raise ValueError(f"{probe.source_format} is served as stored, never decoded by libvips")
    if probe.source_format == "heic":
        im = _load_heic(path, probe, box)
    elif animated:
        im = _load_all_frames(path, probe)
    else:
        im = _thumbnail(path, probe, box)
    return _to_8bit(im)


def _thumbnail(path: Path, probe: Probe, box: tuple[int, int]) -> Any:
    # An embedded ICC profile (Display P3, Adobe RGB ...) must be converted to sRGB before the
    # profile is stripped; thumbnail only does so when asked. Without one we leave colour alone
    # (CMYK is still converted with libvips' fallback profile, greyscale stays greyscale).
    to_srgb = _has_icc(_open_header(path, probe.source_format))
    try:
        return pyvips.Image.thumbnail(
            str(path),
            box[0],
            height=box[1],
            size="down",
            no_rotate=probe.frames > 1,  # as read_header: multi-page images are never rotated
            fail_on="truncated",  # malformed metadata is fine; missing pixel data is not
            **({"output_profile": "srgb"} if to_srgb else {}),
        )
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _load_all_frames(path: Path, probe: Probe) -> Any:
    try:
        loader = getattr(pyvips.Image, _LOADER[probe.source_format])
        im = loader(str(path), n=-1, access="sequential", fail_on="truncated")
        return im.icc_transform("srgb", embedded=True) if _has_icc(im) else im
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _load_heic(path: Path, probe: Probe, box: tuple[int, int]) -> Any:
    try:
        pixels = heif.decode(path)
    except InvalidImage:
        # pillow-heif here decodes HEVC only. A file with HEIF brands but AV1 inside is rare but
        # legal, and libvips can decode that; anything else fails there as well.
        return _thumbnail(path, probe, box)
    im = pyvips.Image.new_from_memory(
        pixels.data, pixels.width, pixels.height, pixels.bands, "uchar"
    ).copy(interpretation="b-w" if pixels.bands == 1 else "srgb")
    if pixels.icc_profile:
        im.set_type(pyvips.GValue.blob_type, "icc-profile-data", pixels.icc_profile)
    # libheif already applied irot/imir (see heif.py): no autorotation here.
    try:
        if (im.width, im.height) != box:
            return im.thumbnail_image(
                box[0],
                height=box[1],
                size="down",
                no_rotate=True,
                **({"output_profile": "srgb"} if pixels.icc_profile else {}),
            )
        return im.icc_transform("srgb", embedded=True) if pixels.icc_profile else im
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _to_8bit(im: Any) -> Any:
    """16-bit PNGs (and anything else wider than a byte) become 8-bit, as every output wants."""
    if im.format == "uchar":
        return im
    target = "srgb" if im.bands >= 3 else "b-w"
    im = im.colourspace(target)
    return im if im.format == "uchar" else im.cast("uchar")


def _flatten(im: Any) -> Any:
    return im.flatten(background=_WHITE[: max(im.bands - 1, 1)]) if im.hasalpha() else im


# --- placeholder -----------------------------------------------------------------------------


def _small_rgb(path: Path, probe: Probe) -> tuple[bytes, int, int]:
    """A <=32px, upright, sRGB, alpha-flattened-on-white first frame as packed RGB bytes.

    Evaluating it decodes every byte of pixel data (at 1/8 scale for JPEG), so it doubles as the
    cheapest proof that the file is not truncated."""
    im = _flatten(_load(path, probe, (_PLACEHOLDER_BOX, _PLACEHOLDER_BOX)))
    if im.bands < 3:
        im = im.colourspace("srgb")
    try:
        return bytes(im.extract_band(0, n=3).write_to_memory()), im.width, im.height
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def check_decodable(path: Path, probe: Probe) -> None:
    """Raise :class:`InvalidImage` unless the pixel data decodes (transformable formats)."""
    _small_rgb(path, probe)


def make_placeholder(path: Path, probe: Probe) -> tuple[str, str]:
    """(blurhash with 4x3 components, ``#rrggbb`` average colour) of the displayed image.

    Also proves the pixels decode, so a caller that needs both need not call
    :func:`check_decodable` as well. Raises :class:`InvalidImage` on truncated/corrupt data."""
    rgb, width, height = _small_rgb(path, probe)
    n = width * height
    average = "#" + "".join(f"{sum(rgb[band::3]) // n:02x}" for band in range(3))
    return _blurhash(rgb, width, height), average


def _blurhash(rgb: bytes, width: int, height: int) -> str:
    # blurhash-python's encode() only accepts Pillow images and reads them through
    # Image.getdata(), deprecated in Pillow 12 and gone in Pillow 14. Its C function takes the
    # packed RGB rows we already have, so we call it directly through the package's cffi binding.
    ffi, lib = blurhash._ffi, blurhash._lib
    pixels = ffi.from_buffer("uint8_t[]", rgb)
    out = ffi.new("char[]", 2 + 4 + (9 * 9 - 1) * 2 + 1)
    result = lib.create_hash_from_pixels(4, 3, width, height, pixels, width * 3, out)
    if result == ffi.NULL:
        raise InvalidImage()
    return str(ffi.string(result).decode())


# --- full-size re-encode ---------------------------------------------------------------------

_DEFAULT_QUALITY = {"jpg": 82, "webp": 80, "avif": 55}
# AV1 encoding is the slow one: effort 3 of 0-9 is ~3x faster than the default 4 for a few % size.
_AVIF_EFFORT = 3
_NO_METADATA = pyvips.enums.ForeignKeep.NONE  # no EXIF, GPS, XMP, IPTC or ICC in any output


def render_original(
    path: Path, probe: Probe, out_format: str, *, quality: int | None = None
) -> bytes:
    """The whole image re-encoded in ``out_format``: upright, sRGB, 8-bit, all metadata stripped.

    PNG is lossless; JPEG flattens alpha on white; animated GIF/WebP keep every frame when
    ``out_format`` is gif or webp (other formats get the first frame)."""
    if out_format not in OUTPUT_FORMATS:
        raise ValueError(f"cannot render to {out_format!r}")
    animated = probe.frames > 1 and out_format in ANIMATED_OUTPUTS
    im = _load(path, probe, (probe.width, probe.height), animated=animated)
    try:
        return _encode(im, out_format, quality or _DEFAULT_QUALITY.get(out_format))
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
