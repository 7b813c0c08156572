"""Decoding a source for a render: shrink-on-load to the size asked (or a window of it), HEIC
through Pillow, animations frame by frame within the frame and pixel caps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyvips

from imgpro.errors import InvalidImage
from imgpro.imaging import heif
from imgpro.imaging.shrink import jpeg_draft_shrink

if TYPE_CHECKING:
    from imgpro.imaging.probe import Probe

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


def _open_header(path: Path, source_format: str) -> Any:
    try:
        loader = getattr(pyvips.Image, _LOADER[source_format])
        # Loading is lazy: this parses the header and nothing else.
        return loader(str(path), access="sequential")
    except pyvips.Error as exc:
        raise InvalidImage() from exc


def _has_icc(im: Any) -> bool:
    return bool(im.get_typeof("icc-profile-data"))


@dataclass
class Loaded:
    """Decoded frames (one for stills), each upright, 8-bit, sRGB or grey, alpha kept."""

    frames: list[Any]
    delays: list[int] | None = None  # ms per frame (animations only)
    loop: int | None = None


def load(
    path: Path,
    probe: Probe,
    size: tuple[int, int],
    *,
    smart: bool = False,
    animated: bool = False,
    max_frames: int = 1,
    has_icc: bool = True,
    draft_margin: float = 2.0,
) -> Loaded:
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
    draft = (
        jpeg_draft_shrink((probe.width, probe.height), size, draft_margin)
        if probe.source_format == "jpeg"
        else 1
    )
    im = _thumbnail(path, size, no_rotate=probe.frames > 1, has_icc=has_icc, draft=draft, **how)
    return Loaded([_to_8bit(im)])


def load_window(
    path: Path,
    probe: Probe,
    window: tuple[int, int, int, int],
    size: tuple[int, int],
    *,
    has_icc: bool = True,
) -> Any:
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


def _load(
    path: Path,
    probe: Probe,
    box: tuple[int, int],
    *,
    animated: bool = False,
    fail_on: str = "truncated",
) -> Any:
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
        im = _thumbnail(
            path, box, no_rotate=probe.frames > 1, has_icc=icc, size="down", fail_on=fail_on
        )
    return _to_8bit(im)


def _thumbnail(
    path: Path,
    box: tuple[int, int],
    *,
    no_rotate: bool,
    has_icc: bool,
    draft: int = 1,
    fail_on: str = "truncated",
    **options: Any,
) -> Any:
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
            im = pyvips.Image.jpegload(
                str(path), shrink=draft, access="sequential", fail_on=fail_on
            )
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


def _load_animation(
    path: Path, probe: Probe, size: tuple[int, int], smart: bool, max_frames: int
) -> Loaded:
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
        frames = [
            _resize(strip.crop(0, i * page, strip.width, page), size, smart) for i in range(count)
        ]
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    return Loaded([_to_8bit(f) for f in frames], delays[:count] if delays else None, loop)


def _thumbnail_animation(
    path: Path, probe: Probe, size: tuple[int, int], max_frames: int
) -> Loaded:
    """Every frame resized to exactly ``size`` while the file streams through libvips'
    page-aware ``thumbnail``: memory is bounded by the *output* strip, not the decoded
    source (a 50-frame 12 MP GIF no longer needs the whole full-size strip in memory)."""
    n = -1 if probe.frames <= max_frames else max(max_frames, 1)
    try:
        has_icc = _has_icc(_open_header(path, probe.source_format))
        to_srgb = {"output_profile": "srgb"} if has_icc else {}
        strip = pyvips.Image.thumbnail(
            f"{path}[n={n},fail_on=truncated]",
            size[0],
            height=size[1],
            size="force",
            no_rotate=True,
            **to_srgb,
        ).copy_memory()
        page = int(strip.get("page-height")) if strip.get_typeof("page-height") else size[1]
        page = page if 0 < page <= strip.height and strip.height % page == 0 else strip.height
        count = min(strip.height // page, max(max_frames, 1))
        delays = [int(d) for d in strip.get("delay")] if strip.get_typeof("delay") else None
        loop = int(strip.get("loop")) if strip.get_typeof("loop") else None
        frames = [strip.crop(0, i * page, strip.width, page) for i in range(count)]
    except pyvips.Error as exc:
        raise InvalidImage() from exc
    return Loaded([_to_8bit(f) for f in frames], delays[:count] if delays else None, loop)


def _resize(
    im: Any, size: tuple[int, int], smart: bool, mode: str = "force", icc: bool = False
) -> Any:
    """An already-decoded image to exactly ``size`` (or filled and saliency-cropped);
    ``icc``: convert from its attached profile to sRGB on the way (after shrinking)."""
    to_srgb = {"output_profile": "srgb"} if icc else {}
    if smart:
        return im.thumbnail_image(
            size[0], height=size[1], crop="attention", no_rotate=True, **to_srgb
        )
    if (im.width, im.height) == size or (
        mode == "down" and im.width <= size[0] and im.height <= size[1]
    ):
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


# --- placeholder -----------------------------------------------------------------------------


# libjpeg's warning for a scan that stops at a marker before its last block: the pixel data is
# missing (a header claiming 7000x7000 followed by EOI), even though the file "ends" properly.
