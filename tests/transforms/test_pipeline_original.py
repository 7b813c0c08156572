"""The full-size served copy — a CDN URL without transform parameters (``/i/{prefix}/{id}.jpg``):
the plan of an empty query run through the pipeline. Upright, sRGB, 8-bit, no metadata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging.probe import Probe
from imgpro.transforms import pipeline
from imgpro.transforms.spec import parse_query

from .conftest import FIXTURES, LIMITS, Render, probe_path
from .conftest import pages as count_pages

Write = Callable[..., Path]
OUTPUTS = ("jpg", "png", "webp", "avif", "gif")
# Anything that could identify a person or a device, as libvips names the fields it read back.
PRIVATE_FIELD_PREFIXES = ("exif", "xmp", "iptc", "icc", "gps", "orientation")


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """``write(data)`` -> a real file holding ``data`` (names carry no type)."""
    counter = iter(range(1_000_000))

    def _write(data: bytes) -> Path:
        path = tmp_path / f"upload-{next(counter)}"
        path.write_bytes(data)
        return path

    return _write


Original = Callable[..., tuple[bytes, pyvips.Image]]


@pytest.fixture
def original(render: Render) -> Original:
    """``original(path, out_format, quality=None)``: what the CDN serves for the image at
    ``path`` with no parameters but the extension (and ``q``)."""

    def _original(
        path: Path, out_format: str | None, quality: int | None = None
    ) -> tuple[bytes, pyvips.Image]:
        out = render(path, "" if quality is None else f"q={quality}", out_format)
        # No geometry and no effect: what the original needs to be served, nothing else.
        assert set(out.trace) <= {"check", "load", "flatten", "encode"}
        return out.data, out.image

    return _original


def fixture(name: str) -> Path:
    return FIXTURES / name


def _private_fields(im: pyvips.Image) -> list[str]:
    return [f for f in im.get_fields() if f.startswith(PRIVATE_FIELD_PREFIXES)]


LOADER = {"jpg": "jpegload", "png": "pngload", "webp": "webpload", "avif": "heifload"}


@pytest.mark.parametrize("out_format", OUTPUTS)
def test_output_format_and_size(original: Original, write: Write, out_format: str) -> None:
    data, im = original(write(imagegen.jpeg(64, 48)), out_format)
    assert im.get("vips-loader").startswith(LOADER.get(out_format, "gifload"))
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.95


@pytest.mark.parametrize("out_format", OUTPUTS)
def test_gps_and_exif_are_stripped(original: Original, out_format: str) -> None:
    source = pyvips.Image.new_from_file(str(fixture("DSCN0010_gps.jpg")))
    assert any(f.startswith("exif-ifd3-GPS") for f in source.get_fields())  # there is GPS to strip
    _, im = original(fixture("DSCN0010_gps.jpg"), out_format)
    assert _private_fields(im) == []


def test_heic_metadata_is_stripped_and_served_as_jpeg(original: Original) -> None:
    path = fixture("IMG_5195.HEIC")
    assert probe_path(path).format == "jpg"
    _, im = original(path, None, quality=40)  # the served format: /i/….jpg
    assert im.get("vips-loader") == "jpegload_buffer"
    assert (im.width, im.height) == (2566, 3313)
    assert _private_fields(im) == []


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(original: Original, write: Write, orientation: int) -> None:
    data, im = original(write(imagegen.jpeg(64, 48, orientation=orientation)), "png")
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.97


@pytest.mark.parametrize("orientation", [3, 6])
def test_heic_is_rotated_exactly_once(original: Original, write: Write, orientation: int) -> None:
    # irot/imir are applied by libheif; the EXIF tag pillow-heif leaves behind must not rotate
    # the picture a second time.
    data, im = original(write(imagegen.heic(64, 48, orientation=orientation)), "png")
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.png(64, 48)) > 0.97


def test_real_orientation_files_show_the_same_scene(original: Original) -> None:
    upright, _ = original(fixture("Landscape_1.jpg"), "jpg", quality=50)
    for name in ("Landscape_3.jpg", "Landscape_6.jpg", "Landscape_8.jpg"):
        data, im = original(fixture(name), "jpg", quality=50)
        assert (im.width, im.height) == (1800, 1200)
        assert imagegen.similarity(data, upright) > 0.95, name


def test_cmyk_jpeg_becomes_srgb(original: Original, write: Write) -> None:
    data, im = original(write(imagegen.jpeg(64, 48, cmyk=True)), "jpg")
    assert (im.bands, im.interpretation) == (3, "srgb")
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.95


def test_embedded_profile_is_converted_before_it_is_stripped(
    original: Original, write: Write
) -> None:
    # Same scene, stored as Display P3 pixels with the P3 profile attached.
    p3 = imagegen.scene(64, 48).icc_transform("p3", input_profile="srgb")
    data, im = original(write(p3.pngsave_buffer()), "png")
    assert _private_fields(im) == []
    assert imagegen.similarity(data, imagegen.png(64, 48)) > 0.98
    # ...whereas dropping the profile without converting visibly shifts the colours.
    unconverted = p3.pngsave_buffer(keep=pyvips.enums.ForeignKeep.NONE)
    assert imagegen.similarity(unconverted, imagegen.png(64, 48)) < 0.98


def test_sixteen_bit_png_becomes_eight_bit(original: Original, write: Write) -> None:
    data, im = original(write(imagegen.png(30, 20, sixteen_bit=True)), "png")
    assert (im.format, im.interpretation) == ("uchar", "srgb")
    assert imagegen.similarity(data, imagegen.png(30, 20)) > 0.99


def test_png_alpha_is_kept_losslessly(original: Original, write: Write) -> None:
    source = imagegen.png(30, 20, alpha=True)
    _, im = original(write(source), "png")
    assert im.bands == 4
    assert (im - pyvips.Image.new_from_buffer(source, "")).abs().max() == 0


def test_alpha_is_flattened_on_white_for_jpeg(original: Original, write: Write) -> None:
    _, im = original(write(imagegen.png(30, 20, alpha=True)), "jpg")
    assert im.bands == 3
    right_edge = im.crop(29, 0, 1, 20).avg()  # fully transparent in the source
    assert right_edge > 240  # white, give or take JPEG ringing


@pytest.mark.parametrize(("out_format", "pages"), [("webp", 3), ("gif", 3), ("png", 1)])
def test_animated_gif(original: Original, write: Write, out_format: str, pages: int) -> None:
    _, im = original(write(imagegen.gif(40, 30, frames=3)), out_format)
    assert count_pages(im) == pages
    assert (im.width, im.height) == (40, 30 * pages)
    if pages > 1:
        assert im.get("page-height") == 30
        assert list(im.get("delay")) == [80, 80, 80]


def test_animated_webp_stays_animated(original: Original, write: Write) -> None:
    _, im = original(write(imagegen.webp(40, 30, frames=4, alpha=True)), "webp")
    assert count_pages(im) == 4
    assert im.bands == 4


@pytest.mark.parametrize(
    "data",
    [imagegen.avif(40, 30), imagegen.heic(40, 30), imagegen.webp(40, 30), imagegen.gif(40, 30)],
    ids=["avif", "heic", "webp", "gif"],
)
def test_other_sources_render(original: Original, write: Write, data: bytes) -> None:
    out, im = original(write(data), "jpg")
    assert (im.width, im.height) == (40, 30)
    assert imagegen.similarity(out, data) > 0.95


def test_quality_changes_the_output(original: Original, write: Write) -> None:
    path = write(imagegen.jpeg(128, 96))
    small, _ = original(path, "jpg", quality=20)
    large, _ = original(path, "jpg", quality=95)
    assert len(small) < len(large)


def _served_plan(path: Path, out_format: str) -> tuple[Probe, pipeline.RenderPlan]:
    """The probe and the no-parameter plan the CDN makes for the original at ``path``."""
    probe = probe_path(path)
    served = pipeline.plan(
        parse_query([]).spec,
        source=(probe.width, probe.height),
        frames=probe.frames,
        source_format=probe.source_format,
        out_format=out_format,
        limits=LIMITS,
    )
    return probe, served


def test_damaged_file_fails_at_render(write: Write) -> None:
    data = imagegen.jpeg(256, 192)
    path = write(data)
    probe, served = _served_plan(path, "jpg")
    path.write_bytes(imagegen.truncated(data))  # damaged after upload
    with pytest.raises(InvalidImage):
        pipeline.render(path, probe, served, LIMITS)


def test_unknown_output_format_is_a_programming_error(write: Write) -> None:
    # The CDN never plans one (an unservable extension is a 404 before planning).
    with pytest.raises(ValueError, match="tiff"):
        _served_plan(write(imagegen.jpeg()), "tiff")
