"""validate_decodable(): truncated or corrupt pixel data is refused; odd metadata is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging.probe import validate_decodable

from .support import fixture, probe_path

Write = Callable[..., Path]


def _probe_and_validate(path: Path) -> None:
    """The upload path: a broken file may be caught by the header probe or by the decode."""
    validate_decodable(path, probe_path(path))


@pytest.mark.parametrize(
    "data",
    [
        imagegen.jpeg(64, 48),
        imagegen.jpeg(64, 48, orientation=6),
        imagegen.jpeg(64, 48, cmyk=True),
        imagegen.png(30, 20, alpha=True),
        imagegen.png(30, 20, sixteen_bit=True),
        imagegen.gif(40, 30, frames=3),
        imagegen.webp(40, 30, frames=2, alpha=True),
        imagegen.avif(40, 30),
        imagegen.heic(40, 30),
        imagegen.svg(40, 30),
        imagegen.bmp(40, 30),
        imagegen.ico(32),
    ],
)
def test_good_files_pass(write: Write, data: bytes) -> None:
    _probe_and_validate(write(data))


@pytest.mark.parametrize("name", ["image01137.jpg", "image01551.jpg", "Canon_40D.jpg"])
def test_malformed_exif_around_valid_pixels_passes(name: str) -> None:
    _probe_and_validate(fixture(name))


def test_real_heic_passes() -> None:
    _probe_and_validate(fixture("IMG_5195.HEIC"))


@pytest.mark.parametrize(
    "data",
    [
        imagegen.jpeg(256, 192),
        imagegen.png(256, 192),
        imagegen.gif(256, 192),
        imagegen.webp(256, 192),
        imagegen.avif(256, 192),
        imagegen.heic(256, 192),
        imagegen.bmp(64, 48),
        imagegen.ico(64),
    ],
    ids=["jpeg", "png", "gif", "webp", "avif", "heic", "bmp", "ico"],
)
def test_truncated_files_are_invalid(write: Write, data: bytes) -> None:
    with pytest.raises(InvalidImage):
        _probe_and_validate(write(imagegen.truncated(data)))


def test_large_truncated_jpeg_is_caught_at_shrink_on_load_scale(write: Write) -> None:
    # Shrink-on-load decodes at 1/8 scale but must still read the whole entropy-coded stream.
    data = imagegen.jpeg(2048, 1536)
    path = write(data[: len(data) * 9 // 10])
    with pytest.raises(InvalidImage):
        _probe_and_validate(path)


def test_jpeg_with_recoverable_corruption_passes(write: Write) -> None:
    # Policy pin: libjpeg *warnings* about damage that loses no pixel ("extraneous bytes before
    # marker": real camera files carry it far more often than real damage) pass, as browsers
    # display such files.
    data = imagegen.jpeg(256, 192)
    _probe_and_validate(write(data[:-2] + b"junk" + data[-2:]))


def test_jpeg_whose_scan_is_cut_short_is_refused(write: Write) -> None:
    # Policy pin (issue 12): "premature end of data segment" — the scan stops at a marker before
    # its last block, though the file is properly terminated — is missing pixel data, i.e.
    # truncated (SPEC: 422 invalid_image), not a cosmetic warning; served, it showed grey.
    data = bytearray(imagegen.jpeg(256, 192))
    sos = data.index(b"\xff\xda")
    data[sos + 20 :] = b"\xff\xd9"
    with pytest.raises(InvalidImage):
        _probe_and_validate(write(bytes(data)))


@pytest.mark.parametrize(
    "data",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>",  # mismatched tags
        b"<svg xmlns='http://www.w3.org/2000/svg'>&undefined;</svg>",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg><svg/>",  # two roots
        b"<svg xmlns='http://www.w3.org/2000/svg'>\x00</svg>",
        # XXE: an external entity is refused rather than silently skipped
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<svg xmlns='http://www.w3.org/2000/svg'><text>&x;</text></svg>",
        # billion laughs: expat's amplification limit stops it
        b'<?xml version="1.0"?><!DOCTYPE svg ['
        + b'<!ENTITY a0 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">'
        + b"".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'.encode() for i in range(1, 9))
        + b"]><svg xmlns='http://www.w3.org/2000/svg'><text>&a8;</text></svg>",
    ],
    ids=["mismatched", "undefined-entity", "two-roots", "nul", "xxe", "billion-laughs"],
)
def test_broken_svg_is_invalid(write: Write, data: bytes) -> None:
    with pytest.raises(InvalidImage):
        _probe_and_validate(write(data))


def test_svg_with_internal_entities_and_external_dtd_passes(write: Write) -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [\n'
        b'  <!ENTITY ns_svg "http://www.w3.org/2000/svg">\n]>\n'
        b'<svg xmlns="&ns_svg;" width="20" height="10"><text>caf\xc3\xa9</text></svg>'
    )
    _probe_and_validate(write(data))


def test_corrupt_bmp_pixels_are_invalid(write: Write) -> None:
    data = bytearray(imagegen.bmp(16, 16))
    data[30:34] = (99).to_bytes(4, "little")  # an unknown compression method
    with pytest.raises(InvalidImage):
        _probe_and_validate(write(bytes(data)))
