"""sniff(): the source format from magic bytes, never from names."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from collections.abc import Callable

import pytest

import imagegen
from imgpro.imaging.probe import SNIFF_BYTES, SOURCE_FORMATS, sniff

from .support import fixture

GENERATED: dict[str, Callable[[], bytes]] = {
    "jpeg": imagegen.jpeg,
    "png": imagegen.png,
    "gif": lambda: imagegen.gif(frames=2),
    "webp": imagegen.webp,
    "avif": imagegen.avif,
    "heic": imagegen.heic,
    "svg": imagegen.svg,
    "bmp": imagegen.bmp,
    "ico": imagegen.ico,
}


def test_every_source_format_has_a_generator() -> None:
    assert set(GENERATED) == set(SOURCE_FORMATS)


@pytest.mark.parametrize("fmt", SOURCE_FORMATS)
def test_generated_files_are_recognised(fmt: str) -> None:
    assert sniff(GENERATED[fmt]()[:SNIFF_BYTES]) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("IMG_5195.HEIC", "heic"), ("DSCN0010_gps.jpg", "jpeg"), ("image01137.jpg", "jpeg")],
)
def test_real_files_are_recognised(name: str, fmt: str) -> None:
    assert sniff(fixture(name).read_bytes()[:SNIFF_BYTES]) == fmt


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        # A fixed timestamp: the bytes (and so the test id) must match across xdist workers.
        z.writestr(zipfile.ZipInfo("a.txt", date_time=(2026, 1, 1, 0, 0, 0)), "hello")
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, world\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        _zip(),
        random.Random(20261125).randbytes(4096),  # seeded: ids must match across xdist workers
        b"\x00" * 4096,
        b"<!DOCTYPE html><html><body><svg></svg></body></html>",
        b'<?xml version="1.0"?><rss version="2.0"></rss>',
        b"<svgfoo/>",
        b"II*\x00\x08\x00\x00\x00",  # TIFF, which libvips could read but we do not accept
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",  # MP4
        b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",  # QuickTime
        b"GIF88a",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"BM" + b"not really a bitmap header" * 4,
        b"\x00\x00\x01\x00\x00\x00" + bytes(32),  # ICO magic with zero images
        b"\x00\x00\x02\x00\x01\x00" + bytes(32),  # CUR (cursor), not ICO
        b"\xff\xd8",  # a JPEG SOI without a marker after it
    ],
    ids=lambda d: repr(d[:12]),
)
def test_other_bytes_are_not_images(data: bytes) -> None:
    assert sniff(data[:SNIFF_BYTES]) is None


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08meta"


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (_ftyp(b"avif", b"mif1", b"miaf"), "avif"),
        (_ftyp(b"avis", b"msf1", b"avif"), "avif"),
        (_ftyp(b"mif1", b"avif", b"miaf"), "avif"),  # compatible brand decides
        (_ftyp(b"heic", b"mif1", b"avif"), "avif"),  # an AVIF brand wins
        (_ftyp(b"heic", b"mif1", b"heic"), "heic"),
        (_ftyp(b"heix", b"mif1"), "heic"),
        (_ftyp(b"mif1", b"heic"), "heic"),
        (_ftyp(b"msf1", b"hevc"), "heic"),
        (_ftyp(b"mif1"), "heic"),  # generic HEIF still image
        (_ftyp(b"isom", b"iso2", b"mp41"), None),
        (_ftyp(b"crx ", b"isom"), None),  # Canon CR3 raw
        (b"\x00\x00\x00\x0cftypavi", None),  # cut-off box
    ],
)
def test_iso_bmff_brands(data: bytes, fmt: str | None) -> None:
    assert sniff(data) == fmt


def test_brands_beyond_the_box_are_ignored() -> None:
    # "avif" appears after the ftyp box ends: it is some other box's payload, not a brand.
    data = _ftyp(b"heic", b"mif1") + b"avif"
    assert sniff(data) == "heic"


SVG_ROOT = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'


@pytest.mark.parametrize(
    "prefix",
    [
        b"",
        b"\n\n   \t",
        b"\xef\xbb\xbf",  # UTF-8 BOM
        b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
        b"<!-- Generator: Adobe Illustrator 24.0.0 -->\n",
        b'<?xml version="1.0"?><!-- a > b --><?xml-stylesheet href="x.css"?>',
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n',
        b'<!DOCTYPE svg [ <!ENTITY ns_svg "http://www.w3.org/2000/svg"> <!ENTITY x "<>"> ]>',
    ],
)
def test_svg_prologs(prefix: bytes) -> None:
    assert sniff(prefix + SVG_ROOT) == "svg"


def test_svg_in_utf16() -> None:
    assert sniff(("\ufeff" + SVG_ROOT.decode()).encode("utf-16-le")) == "svg"


def test_svg_root_after_the_sniff_window_is_not_recognised() -> None:
    data = b"<!--" + b"x" * SNIFF_BYTES + b"-->" + SVG_ROOT
    assert sniff(data[:SNIFF_BYTES]) is None


def test_svg_prolog_scan_is_linear_on_hostile_input() -> None:
    # Thousands of unterminated constructs must not make the scan blow up.
    assert sniff((b" <?" * 1500)[:SNIFF_BYTES]) is None
    assert sniff((b"<!DOCTYPE [" * 400)[:SNIFF_BYTES]) is None
