"""render_original(): the full-size served copy — upright, sRGB, 8-bit, no metadata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging.vips import render_original

from .support import fixture, probe_path

Write = Callable[..., Path]
OUTPUTS = ("jpg", "png", "webp", "avif", "gif")
# Anything that could identify a person or a device, as libvips names the fields it read back.
PRIVATE_FIELD_PREFIXES = ("exif", "xmp", "iptc", "icc", "gps", "orientation")


def _render(path: Path, out_format: str, **kwargs: int) -> tuple[bytes, pyvips.Image]:
    data = render_original(path, probe_path(path), out_format, **kwargs)
    every_page = {"n": -1} if out_format in ("gif", "webp") else {}
    return data, pyvips.Image.new_from_buffer(data, "", **every_page)


def _pages(im: pyvips.Image) -> int:
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1


def _private_fields(im: pyvips.Image) -> list[str]:
    return [f for f in im.get_fields() if f.startswith(PRIVATE_FIELD_PREFIXES)]


LOADER = {"jpg": "jpegload", "png": "pngload", "webp": "webpload", "avif": "heifload"}


@pytest.mark.parametrize("out_format", OUTPUTS)
def test_output_format_and_size(write: Write, out_format: str) -> None:
    data, im = _render(write(imagegen.jpeg(64, 48)), out_format)
    assert im.get("vips-loader").startswith(LOADER.get(out_format, "gifload"))
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.95


@pytest.mark.parametrize("out_format", OUTPUTS)
def test_gps_and_exif_are_stripped(out_format: str) -> None:
    source = pyvips.Image.new_from_file(str(fixture("DSCN0010_gps.jpg")))
    assert any(f.startswith("exif-ifd3-GPS") for f in source.get_fields())  # there is GPS to strip
    _, im = _render(fixture("DSCN0010_gps.jpg"), out_format)
    assert _private_fields(im) == []


def test_heic_metadata_is_stripped_and_served_as_jpeg() -> None:
    path = fixture("IMG_5195.HEIC")
    probe = probe_path(path)
    assert probe.format == "jpg"
    im = pyvips.Image.new_from_buffer(render_original(path, probe, probe.format, quality=40), "")
    assert im.get("vips-loader") == "jpegload_buffer"
    assert (im.width, im.height) == (2566, 3313)
    assert _private_fields(im) == []


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(write: Write, orientation: int) -> None:
    data, im = _render(write(imagegen.jpeg(64, 48, orientation=orientation)), "png")
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.97


@pytest.mark.parametrize("orientation", [3, 6])
def test_heic_is_rotated_exactly_once(write: Write, orientation: int) -> None:
    # irot/imir are applied by libheif; the EXIF tag pillow-heif leaves behind must not rotate
    # the picture a second time.
    data, im = _render(write(imagegen.heic(64, 48, orientation=orientation)), "png")
    assert (im.width, im.height) == (64, 48)
    assert imagegen.similarity(data, imagegen.png(64, 48)) > 0.97


def test_real_orientation_files_show_the_same_scene() -> None:
    upright, _ = _render(fixture("Landscape_1.jpg"), "jpg", quality=50)
    for name in ("Landscape_3.jpg", "Landscape_6.jpg", "Landscape_8.jpg"):
        data, im = _render(fixture(name), "jpg", quality=50)
        assert (im.width, im.height) == (1800, 1200)
        assert imagegen.similarity(data, upright) > 0.95, name


def test_cmyk_jpeg_becomes_srgb(write: Write) -> None:
    data, im = _render(write(imagegen.jpeg(64, 48, cmyk=True)), "jpg")
    assert (im.bands, im.interpretation) == (3, "srgb")
    assert imagegen.similarity(data, imagegen.jpeg(64, 48)) > 0.95


def test_embedded_profile_is_converted_before_it_is_stripped(write: Write) -> None:
    # Same scene, stored as Display P3 pixels with the P3 profile attached.
    p3 = imagegen.scene(64, 48).icc_transform("p3", input_profile="srgb")
    data, im = _render(write(p3.pngsave_buffer()), "png")
    assert _private_fields(im) == []
    assert imagegen.similarity(data, imagegen.png(64, 48)) > 0.98
    # ...whereas dropping the profile without converting visibly shifts the colours.
    unconverted = p3.pngsave_buffer(keep=pyvips.enums.ForeignKeep.NONE)
    assert imagegen.similarity(unconverted, imagegen.png(64, 48)) < 0.98


def test_sixteen_bit_png_becomes_eight_bit(write: Write) -> None:
    data, im = _render(write(imagegen.png(30, 20, sixteen_bit=True)), "png")
    assert (im.format, im.interpretation) == ("uchar", "srgb")
    assert imagegen.similarity(data, imagegen.png(30, 20)) > 0.99


def test_png_alpha_is_kept_losslessly(write: Write) -> None:
    source = imagegen.png(30, 20, alpha=True)
    _, im = _render(write(source), "png")
    assert im.bands == 4
    assert (im - pyvips.Image.new_from_buffer(source, "")).abs().max() == 0


def test_alpha_is_flattened_on_white_for_jpeg(write: Write) -> None:
    _, im = _render(write(imagegen.png(30, 20, alpha=True)), "jpg")
    assert im.bands == 3
    right_edge = im.crop(29, 0, 1, 20).avg()  # fully transparent in the source
    assert right_edge > 240  # white, give or take JPEG ringing


@pytest.mark.parametrize(("out_format", "pages"), [("webp", 3), ("gif", 3), ("png", 1)])
def test_animated_gif(write: Write, out_format: str, pages: int) -> None:
    _, im = _render(write(imagegen.gif(40, 30, frames=3)), out_format)
    assert _pages(im) == pages
    assert (im.width, im.height) == (40, 30 * pages)
    if pages > 1:
        assert im.get("page-height") == 30
        assert list(im.get("delay")) == [80, 80, 80]


def test_animated_webp_stays_animated(write: Write) -> None:
    _, im = _render(write(imagegen.webp(40, 30, frames=4, alpha=True)), "webp")
    assert _pages(im) == 4
    assert im.bands == 4


@pytest.mark.parametrize(
    "data",
    [imagegen.avif(40, 30), imagegen.heic(40, 30), imagegen.webp(40, 30), imagegen.gif(40, 30)],
    ids=["avif", "heic", "webp", "gif"],
)
def test_other_sources_render(write: Write, data: bytes) -> None:
    out, im = _render(write(data), "jpg")
    assert (im.width, im.height) == (40, 30)
    assert imagegen.similarity(out, data) > 0.95


def test_quality_changes_the_output(write: Write) -> None:
    path = write(imagegen.jpeg(128, 96))
    small, _ = _render(path, "jpg", quality=20)
    large, _ = _render(path, "jpg", quality=95)
    assert len(small) < len(large)


def test_damaged_file_fails_at_render(write: Write) -> None:
    data = imagegen.jpeg(256, 192)
    path = write(data)
    probe = probe_path(path)
    path.write_bytes(imagegen.truncated(data))  # damaged after upload
    with pytest.raises(InvalidImage):
        render_original(path, probe, "jpg")


def test_unknown_output_format_is_a_programming_error(write: Write) -> None:
    path = write(imagegen.jpeg())
    with pytest.raises(ValueError, match="tiff"):
        render_original(path, probe_path(path), "tiff")
