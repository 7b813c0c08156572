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
from imgpro.imaging.shrink import jpeg_draft_shrink
from imgpro.imaging.thumbhash import thumbhash_of

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


@dataclass
class Loaded:
    """Decoded frames (one for stills), each upright, 8-bit, sRGB or grey, alpha kept."""

    frames: list[Any]
    delays: list[int] | None = None  # ms per frame (animations only)
    loop: int | None = None


def load(path: Path, probe: Probe, size: tuple[int, int], *, smart: bool = False,
         animated: bool = False, max_frames: int = 1, has_icc: bool = True,
         draft_margin: float = 2.0) -> Loaded:
    """Decode straight to exactly ``size`` (shrink-on-load where the format has it).

    ``smart``: fill ``size`` and trim the rest by saliency (``interesting="attention"``)
    instead of resizing to it. ``animated``: every frame (up to ``max_frames``), each sized the
    same way; otherwise the first frame only. ``has_icc`` (from :func:`open_source`) says
    whether an embedded profile must be converted to sRGB. ``draft_margin``: JPEGs decode at
    the smallest DCT scale still that many times ``size`` (:func:`jpeg_draft_shrink`). Truncated
    data raises :class:`InvalidImage` here or when encoding (libvips is lazy)."""
    if not probe.transformable:
        raise ValueError(f"{probe.source_format} is served as stored, never decoded by libvips")
    if probe.source_format == "heic":
        return Loaded([_to_8bit(_load_heic(path, size, "force", smart))])
    if animated:
        return _load_animation(path, probe, size, smart, max_frames)
    how: dict[str, Any] = {"crop": "attention"} if smart else {"size": "force"}
    draft = (jpeg_draft_shrink((probe.width, probe.height), size, draft_margin)
             if probe.source_format == "jpeg" else 1)
    im = _thumbnail(path, size, no_rotate=probe.frames > 1, has_icc=has_icc, draft=draft, **how)
    return Loaded([_to_8bit(im)])


def load_window(path: Path, probe: Probe, window: tuple[int, int, int, int],
                size: tuple[int, int], *, has_icc: bool = True) -> Any:
    """The bounded cover path: cut ``window`` (left, top, width, height in the *stored* pixels,
    before EXIF orientation; first frame) out of the source, then resize it to exactly ``size``.

    Streams: the loader is sequential and the cut is lazy, so memory holds a few source rows
    and the ``size`` result, never a filled intermediate; however far down the window sits the
    coordinates stay inside the source (libvips refuses coordinates past ~10^7). The caller
    orients the result (:func:`orient`)."""
    if not probe.transformable:
        raise ValueError(f"{probe.source_format} is served as stored, never decoded by libvips")
    try:
        if probe.source_format == "heic":
            im = _heic_image(path)
            has_icc = _has_icc(im)
        else:
            loader = getattr(pyvips.Image, _LOADER[probe.source_format])
            im = loader(str(path), access="sequential", fail_on="truncated")
        left, top, width, height = window
        cut = im.extract_area(left, top, width, height)
        return _to_8bit(_resize(cut, size, smart=False, icc=has_icc))
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _load(path: Path, probe: Probe, box: tuple[int, int], *, animated: bool = False,
          fail_on: str = "truncated") -> Any:
    """The image fitted inside ``box`` (never enlarged), upright, 8-bit sRGB, alpha kept.

    ``animated`` loads every frame at full size (GIF/WebP have no shrink-on-load anyway);
    otherwise only the first frame/primary image. Truncated pixel data raises at evaluation."""
    if not probe.transformable:
        raise ValueError(f"{probe.source_format} is served as stored, never decoded by libvips")
    if probe.source_format == "heic":
        im = _load_heic(path, box, "down", smart=False)
    elif animated:
        im = _load_all_frames(path, probe)
    else:
        icc = _has_icc(_open_header(path, probe.source_format))
        im = _thumbnail(path, box, no_rotate=probe.frames > 1, has_icc=icc, size="down",
                        fail_on=fail_on)
    return _to_8bit(im)


def _thumbnail(path: Path, box: tuple[int, int], *, no_rotate: bool, has_icc: bool,
               draft: int = 1, fail_on: str = "truncated", **options: Any) -> Any:
    # An embedded ICC profile (Display P3, Adobe RGB ...) must be converted to sRGB before the
    # profile is stripped; thumbnail only does so when asked. Without one we leave colour alone
    # (CMYK is still converted with libvips' fallback profile, greyscale stays greyscale).
    # thumbnail opens the file for sequential access, shrinks on load and applies the EXIF
    # orientation (a sequential load + autorot() would fail with "out of order read";
    # thumbnail_image copies its small result to memory before rotating, so it is safe too).
    # ``draft`` > 1: a JPEG decoded at that DCT scale by us, the rest done by thumbnail_image.
    how: dict[str, Any] = {
        "height": box[1],
        "no_rotate": no_rotate,  # as read_header: multi-page images are never rotated
        **({"output_profile": "srgb"} if has_icc else {}),
        **options,
    }
    try:
        if draft > 1:
            im = pyvips.Image.jpegload(str(path), shrink=draft, access="sequential",
                                       fail_on=fail_on)
            return im.thumbnail_image(box[0], **how)
        # fail_on: malformed metadata is fine; missing pixel data is not.
        return pyvips.Image.thumbnail(str(path), box[0], fail_on=fail_on, **how)
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _load_all_frames(path: Path, probe: Probe, *, access: str = "sequential") -> Any:
    try:
        loader = getattr(pyvips.Image, _LOADER[probe.source_format])
        im = loader(str(path), n=-1, access=access, fail_on="truncated")
        return im.icc_transform("srgb", embedded=True) if _has_icc(im) else im
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _load_animation(path: Path, probe: Probe, size: tuple[int, int], smart: bool,
                    max_frames: int) -> Loaded:
    if not smart:
        return _thumbnail_animation(path, probe, size, max_frames)
    # Saliency crops are chosen frame by frame: cut frames out of the full-size strip
    # (random access, so the whole strip is decoded once).
    strip = _load_all_frames(path, probe, access="random")
    try:
        page = int(strip.get("page-height")) if strip.get_typeof("page-height") else 0
        page = page if 0 < page <= strip.height and strip.height % page == 0 else strip.height
        count = min(strip.height // page, max(max_frames, 1))
        delays = [int(d) for d in strip.get("delay")] if strip.get_typeof("delay") else None
        loop = int(strip.get("loop")) if strip.get_typeof("loop") else None
        frames = [_resize(strip.crop(0, i * page, strip.width, page), size, smart)
                  for i in range(count)]
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    return Loaded([_to_8bit(f) for f in frames], delays[:count] if delays else None, loop)


def _thumbnail_animation(path: Path, probe: Probe, size: tuple[int, int],
                         max_frames: int) -> Loaded:
    """Every frame resized to exactly ``size`` while the file streams through libvips'
    page-aware ``thumbnail``: memory is bounded by the *output* strip, not the decoded
    source (a 50-frame 12 MP GIF no longer needs the whole full-size strip in memory)."""
    n = -1 if probe.frames <= max_frames else max(max_frames, 1)
    try:
        has_icc = _has_icc(_open_header(path, probe.source_format))
        to_srgb = {"output_profile": "srgb"} if has_icc else {}
        strip = pyvips.Image.thumbnail(f"{path}[n={n},fail_on=truncated]", size[0],
                                       height=size[1], size="force", no_rotate=True,
                                       **to_srgb).copy_memory()
        page = int(strip.get("page-height")) if strip.get_typeof("page-height") else size[1]
        page = page if 0 < page <= strip.height and strip.height % page == 0 else strip.height
        count = min(strip.height // page, max(max_frames, 1))
        delays = [int(d) for d in strip.get("delay")] if strip.get_typeof("delay") else None
        loop = int(strip.get("loop")) if strip.get_typeof("loop") else None
        frames = [strip.crop(0, i * page, strip.width, page) for i in range(count)]
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    return Loaded([_to_8bit(f) for f in frames], delays[:count] if delays else None, loop)


def _resize(im: Any, size: tuple[int, int], smart: bool, mode: str = "force",
            icc: bool = False) -> Any:
    """An already-decoded image to exactly ``size`` (or filled and saliency-cropped);
    ``icc``: convert from its attached profile to sRGB on the way (after shrinking)."""
    to_srgb = {"output_profile": "srgb"} if icc else {}
    if smart:
        return im.thumbnail_image(size[0], height=size[1], crop="attention", no_rotate=True,
                                  **to_srgb)
    if (im.width, im.height) == size or (mode == "down" and im.width <= size[0]
                                         and im.height <= size[1]):
        return im.icc_transform("srgb", embedded=True) if icc else im
    return im.thumbnail_image(size[0], height=size[1], size=mode, no_rotate=True, **to_srgb)


def _load_heic(path: Path, size: tuple[int, int], mode: str, smart: bool) -> Any:
    try:
        pixels = heif.decode(path)
    except InvalidImage:
        # pillow-heif here decodes HEVC only. A file with HEIF brands but AV1 inside is rare but
        # legal, and libvips can decode that; anything else fails there as well.
        icc = _has_icc(_open_header(path, "heic"))
        how: dict[str, Any] = {"crop": "attention"} if smart else {"size": mode}
        return _thumbnail(path, size, no_rotate=False, has_icc=icc, **how)
    try:
        im = _wrap_heic(pixels)
        return _resize(im, size, smart, mode, icc=bool(pixels.icc_profile))
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _wrap_heic(pixels: heif.HeifPixels) -> Any:
    im = pyvips.Image.new_from_memory(
        pixels.data, pixels.width, pixels.height, pixels.bands, "uchar"
    ).copy(interpretation="b-w" if pixels.bands < 3 else "srgb")
    # libheif already applied irot/imir (see heif.py): no autorotation here.
    if pixels.icc_profile:
        im.set_type(pyvips.GValue.blob_type, "icc-profile-data", pixels.icc_profile)
    return im


def _heic_image(path: Path) -> Any:
    """The whole primary image (HEVC through pillow-heif, else libheif in libvips)."""
    try:
        return _wrap_heic(heif.decode(path))
    except InvalidImage:
        return pyvips.Image.heifload(str(path), access="sequential", fail_on="truncated")


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


# libjpeg's warning for a scan that stops at a marker before its last block: the pixel data is
# missing (a header claiming 7000x7000 followed by EOI), even though the file "ends" properly.
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
    return Placeholder(blurhash, color, thumbhash_of(_rgba_bytes(small), small.width,
                                                     small.height))


# --- transform operations (the pipeline's vocabulary) ----------------------------------------
# Each takes and returns one frame. Colour operations leave alpha alone.


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


def adjust(im: Any, *, brightness: float | None = None, contrast: float | None = None,
           saturation: float | None = None, gamma: float | None = None) -> Any:
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

_DEFAULT_QUALITY = {"jpg": 82, "webp": 80, "avif": 55}
# AV1 encoding is the slow one: effort 3 of 0-9 is ~3x faster than the default 4 for a few % size.
_AVIF_EFFORT = 3
_NO_METADATA = pyvips.enums.ForeignKeep.NONE  # no EXIF, GPS, XMP, IPTC or ICC in any output


def encode(frames: list[Any], out_format: str, quality: int | None, *,
           delays: list[int] | None = None, loop: int | None = None) -> bytes:
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
            im.set_type(pyvips.GValue.array_int_type, "delay",
                        (delays or [])[: len(frames)] + [100] * (len(frames) - len(delays or [])))
            im.set_type(pyvips.GValue.gint_type, "loop", loop or 0)
        return _encode(im, out_format, quality)
    except pyvips.Error as exc:
        # Lazy pipeline: a file that was valid at upload but damaged since fails only here.
        raise InvalidImage() from exc


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
