"""probe_file(): header-only dimensions, served format and the pixel limit."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import imagegen
from imgpro.errors import ImageTooLarge, InvalidImage
from imgpro.imaging.probe import Probe, probe_file, validate_decodable
from imgpro.imaging.svg import SVG_DEFAULT_SIZE

from .support import fixture, probe_path

Write = Callable[..., Path]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (imagegen.jpeg(64, 48), Probe("jpeg", "jpg", "image/jpeg", 64, 48, 1, True)),
        (imagegen.png(30, 20), Probe("png", "png", "image/png", 30, 20, 1, True)),
        (imagegen.png(30, 20, sixteen_bit=True), Probe("png", "png", "image/png", 30, 20, 1, True)),
        (imagegen.gif(40, 30), Probe("gif", "gif", "image/gif", 40, 30, 1, True)),
        (imagegen.gif(40, 30, frames=3), Probe("gif", "gif", "image/gif", 40, 30, 3, True)),
        (imagegen.webp(40, 30), Probe("webp", "webp", "image/webp", 40, 30, 1, True)),
        (imagegen.webp(40, 30, frames=4), Probe("webp", "webp", "image/webp", 40, 30, 4, True)),
        (imagegen.avif(40, 30), Probe("avif", "avif", "image/avif", 40, 30, 1, True)),
        (imagegen.heic(40, 30), Probe("heic", "jpg", "image/jpeg", 40, 30, 1, True)),
        (imagegen.svg(40, 30), Probe("svg", "svg", "image/svg+xml", 40, 30, 1, False)),
        (imagegen.bmp(40, 30), Probe("bmp", "bmp", "image/bmp", 40, 30, 1, False)),
        (imagegen.ico(48), Probe("ico", "ico", "image/x-icon", 48, 48, 1, False)),
    ],
    ids=lambda v: v.source_format if isinstance(v, Probe) else "",
)
def test_probe_every_format(write: Write, data: bytes, expected: Probe) -> None:
    assert probe_path(write(data)) == expected


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_displayed_size(write: Write, orientation: int) -> None:
    probe = probe_path(write(imagegen.jpeg(64, 48, orientation=orientation)))
    assert (probe.width, probe.height) == (64, 48)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("Landscape_1.jpg", (1800, 1200)),
        ("Landscape_3.jpg", (1800, 1200)),
        ("Landscape_6.jpg", (1800, 1200)),  # stored 1200x1800
        ("Landscape_8.jpg", (1800, 1200)),  # stored 1200x1800
        ("Portrait_1.jpg", (1200, 1800)),
        ("Portrait_6.jpg", (1200, 1800)),  # stored 1800x1200
        ("DSCN0010_gps.jpg", (640, 480)),
        ("Canon_40D.jpg", (100, 68)),
        ("image01137.jpg", (88, 64)),  # malformed EXIF: still probes
        ("image01551.jpg", (61, 58)),
        ("IMG_5195.HEIC", (2566, 3313)),
    ],
)
def test_real_files(name: str, size: tuple[int, int]) -> None:
    probe = probe_path(fixture(name))
    assert (probe.width, probe.height) == size
    assert probe.frames == 1
    assert probe.transformable


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_transforms_give_displayed_size(write: Write, orientation: int) -> None:
    probe = probe_path(write(imagegen.heic(40, 24, orientation=orientation)))
    assert (probe.width, probe.height) == (40, 24)


# --- limits ------------------------------------------------------------------------------------


def test_frames_are_summed_in_the_pixel_limit(write: Write) -> None:
    path = write(imagegen.gif(40, 30, frames=3))  # 1200 px a frame, 3600 in all
    assert probe_path(path, max_pixels=3600).frames == 3
    with pytest.raises(ImageTooLarge):
        probe_path(path, max_pixels=3599)


def test_frame_limit(write: Write) -> None:
    path = write(imagegen.webp(16, 16, frames=5))
    assert probe_path(path, max_frames=5).frames == 5
    with pytest.raises(ImageTooLarge):
        probe_path(path, max_frames=4)


def test_still_image_over_the_limit(write: Write) -> None:
    with pytest.raises(ImageTooLarge):
        probe_path(write(imagegen.jpeg(64, 48)), max_pixels=64 * 48 - 1)


def _assert_refused_fast(path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageTooLarge):
        probe_path(path)
    assert time.perf_counter() - start < 3.0


def test_png_bomb_is_refused_fast(write: Write) -> None:
    data = imagegen.png_bomb()
    assert len(data) < 1024  # claims 10 gigapixels
    _assert_refused_fast(write(data))


def test_jpeg_bomb_is_refused_fast(write: Write) -> None:
    # A real small JPEG whose SOF header is rewritten to claim 65000x65000 pixels.
    data = bytearray(imagegen.jpeg(64, 48))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    _assert_refused_fast(write(bytes(data)))


def test_bmp_bomb_is_refused_before_pillow_sees_it(write: Write) -> None:
    data = bytearray(imagegen.bmp(8, 8))
    data[18:26] = struct.pack("<ii", 100_000, -100_000)  # top-down, 10 gigapixels
    _assert_refused_fast(write(bytes(data)))


def test_svg_bomb_dimensions_are_refused(write: Write) -> None:
    _assert_refused_fast(write(imagegen.svg(100_000, 100_000)))


# --- unreadable headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "jpeg"),
        (imagegen.png()[:20], "png"),  # cut inside IHDR
        (b"GIF89a\x00", "gif"),
        (imagegen.webp()[:30], "webp"),
        (imagegen.avif()[:60], "avif"),
        (imagegen.heic()[:60], "heic"),
        (imagegen.bmp()[:20], "bmp"),
        (imagegen.ico()[:10], "ico"),
        (b"<svg width='10' height='10'", "svg"),  # never closes its start tag
        (b"<?xml version='1.0'?><svg width='1' width='2'/>", "svg"),  # duplicate attribute
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_unreadable_header_is_invalid(write: Write, data: bytes, fmt: str) -> None:
    with pytest.raises(InvalidImage):
        probe_file(write(data), fmt, max_pixels=10**9, max_frames=1000)


def test_unknown_source_format_is_a_programming_error(write: Write) -> None:
    with pytest.raises(ValueError, match="tiff"):
        probe_file(write(b"II*\x00"), "tiff", max_pixels=10, max_frames=1)


def test_loader_is_chosen_by_sniffed_format_not_by_libvips(write: Write) -> None:
    # A PNG presented as a JPEG is refused rather than quietly decoded by another loader.
    with pytest.raises(InvalidImage):
        probe_file(write(imagegen.png()), "jpeg", max_pixels=10**9, max_frames=1000)


# --- SVG sizes ---------------------------------------------------------------------------------


def _svg(attrs: str, body: str = '<rect width="10" height="5"/>') -> bytes:
    return f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}>{body}</svg>'.encode()


@pytest.mark.parametrize(
    ("attrs", "size"),
    [
        ('width="120" height="80"', (120, 80)),
        ('width="120px" height=" 80.4PX "', (120, 80)),
        ('width="1in" height="72pt"', (96, 96)),
        ('width="2.54cm" height="25.4mm"', (96, 96)),
        ('width="10em" height="1e2"', (160, 100)),
        ('viewBox="0 0 300 200"', (300, 200)),
        ('viewBox="-10,-10, 50.5,20"', (50, 20)),
        ('width="600" viewBox="0 0 300 200"', (600, 400)),
        ('height="100" viewBox="0 0 300 200"', (150, 100)),
        ('width="100%" height="100%" viewBox="0 0 64 32"', (64, 32)),
        ('width="0.2" height="0.2"', (1, 1)),
    ],
)
def test_svg_dimensions(write: Write, attrs: str, size: tuple[int, int]) -> None:
    probe = probe_path(write(_svg(attrs)))
    assert (probe.width, probe.height) == size


def test_svg_without_size_uses_the_drawing_extent(write: Write) -> None:
    # Neither attributes nor viewBox: librsvg measures the content (the 10x5 rect).
    probe = probe_path(write(_svg('width="100%"')))
    assert (probe.width, probe.height) == (10, 5)


def test_svg_with_nothing_to_measure_gets_the_default_size(write: Write) -> None:
    probe = probe_path(write(_svg("", body="")))
    assert (probe.width, probe.height) == SVG_DEFAULT_SIZE


def test_svg_size_with_illustrator_entities(write: Write) -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [\n'
        b'  <!ENTITY ns_svg "http://www.w3.org/2000/svg">\n  <!ENTITY w "42">\n]>\n'
        b'<svg xmlns="&ns_svg;" width="&w;" height="21"><rect width="1" height="1"/></svg>'
    )
    probe = probe_path(write(data))
    assert (probe.width, probe.height) == (42, 21)


def test_ico_size_comes_from_the_largest_entry(write: Write) -> None:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (300, 300), (9, 9, 9)).save(out, format="ICO", sizes=[(16, 16), (256, 256)])
    probe = probe_path(write(out.getvalue()))
    assert (probe.width, probe.height) == (256, 256)


def test_ico_with_cut_png_entry_falls_back_to_the_directory_size(write: Write) -> None:
    # The PNG signature is there but its IHDR is cut off: no crash, the directory's size is
    # used, and the decode check (tested elsewhere) refuses the file.
    path = write(imagegen.ico(32)[:30])
    probe = probe_path(path)
    assert (probe.width, probe.height) == (32, 32)
    with pytest.raises(InvalidImage):
        validate_decodable(path, probe)
