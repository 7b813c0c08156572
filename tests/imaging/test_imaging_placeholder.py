"""make_placeholder(): blurhash and average colour from a tiny shrink-on-load decode."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import blurhash
import pytest
import pyvips

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging.vips import make_placeholder

from .support import fixture, probe_path

Write = Callable[..., Path]
COLOR = re.compile(r"#[0-9a-f]{6}")


def _placeholder(path: Path) -> tuple[str, str]:
    found = make_placeholder(path, probe_path(path))
    assert found.thumbhash  # always beside the blurhash (tests/pixels check its content)
    return found.blurhash, found.color


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _close(a: str, b: str, tolerance: int = 8) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(_rgb(a), _rgb(b), strict=True))


@pytest.mark.parametrize(
    "data",
    [
        imagegen.jpeg(64, 48),
        imagegen.jpeg(64, 48, cmyk=True),
        imagegen.png(64, 48, alpha=True),
        imagegen.png(64, 48, sixteen_bit=True),
        imagegen.gif(64, 48, frames=3),
        imagegen.webp(64, 48, alpha=True),
        imagegen.avif(64, 48),
        imagegen.heic(64, 48),
        pyvips.Image.xyz(40, 30)[0].cast("uchar").pngsave_buffer(),  # greyscale
        imagegen.jpeg(4000, 10),  # extreme aspect ratio: a 32x1 thumbnail
    ],
    ids=["jpeg", "cmyk", "png-alpha", "png16", "gif", "webp", "avif", "heic", "grey", "strip"],
)
def test_valid_blurhash_and_colour(write: Write, data: bytes) -> None:
    hash_, color = _placeholder(write(data))
    assert blurhash.is_valid_blurhash(hash_)
    assert len(hash_) == 4 + 2 * 4 * 3  # 4x3 components
    assert COLOR.fullmatch(color)


def test_colour_is_the_average_of_the_displayed_image(write: Write) -> None:
    expected = "#" + "".join(
        f"{round(imagegen.scene(64, 48)[band].avg()):02x}" for band in range(3)
    )
    _, color = _placeholder(write(imagegen.png(64, 48)))
    assert _close(color, expected)


def test_transparent_areas_count_as_white(write: Write) -> None:
    clear = pyvips.Image.black(20, 20, bands=4).cast("uchar").copy(interpretation="srgb")
    _, color = _placeholder(write(clear.pngsave_buffer()))
    assert color == "#ffffff"


def test_orientation_is_applied(write: Write) -> None:
    upright = _placeholder(write(imagegen.jpeg(64, 48)))
    for orientation in (3, 6, 8):
        rotated = _placeholder(write(imagegen.jpeg(64, 48, orientation=orientation)))
        assert _close(rotated[1], upright[1], tolerance=2)
        # The blurhash's first AC components encode the left/right and top/bottom gradients;
        # a missed rotation changes them.
        assert rotated[0][6:14] == upright[0][6:14], orientation


def test_real_heic() -> None:
    hash_, color = _placeholder(fixture("IMG_5195.HEIC"))
    assert blurhash.is_valid_blurhash(hash_)
    assert COLOR.fullmatch(color)


def test_malformed_exif_is_fine() -> None:
    hash_, _ = _placeholder(fixture("image01137.jpg"))
    assert blurhash.is_valid_blurhash(hash_)


@pytest.mark.parametrize(
    "data",
    [imagegen.jpeg(512, 384), imagegen.png(256, 192), imagegen.gif(256, 192)],
    ids=["jpeg", "png", "gif"],
)
def test_truncated_pixels_are_invalid(write: Write, data: bytes) -> None:
    path = write(imagegen.truncated(data))
    probe = probe_path(path)  # the header is intact...
    with pytest.raises(InvalidImage):  # ...the pixels are not
        make_placeholder(path, probe)
