"""heif.py: HEVC HEIC through pillow-heif, orientation applied exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging import heif

from .support import fixture

Write = Callable[..., Path]


def test_real_iphone_heic() -> None:
    path = fixture("IMG_5195.HEIC")
    assert heif.read_size(path) == (2566, 3313)
    pixels = heif.decode(path)
    assert (pixels.width, pixels.height, pixels.bands) == (2566, 3313, 3)
    assert len(pixels.data) == 2566 * 3313 * 3
    assert pixels.icc_profile and b"Display P3" in pixels.icc_profile


@pytest.mark.parametrize("orientation", range(1, 9))
def test_transforms_are_applied_by_libheif(write: Write, orientation: int) -> None:
    path = write(imagegen.heic(40, 24, orientation=orientation))
    assert heif.read_size(path) == (40, 24)
    pixels = heif.decode(path)
    assert (pixels.width, pixels.height) == (40, 24)
    # The marker block sits in the top-left corner of the displayed scene.
    top_left = pixels.data[: pixels.bands]
    assert tuple(top_left[1:2]) > (150,) and tuple(top_left[0:1]) < (80,)


def test_odd_width_rows_are_packed(write: Write) -> None:
    pixels = heif.decode(write(imagegen.heic(33, 7)))
    assert len(pixels.data) == 33 * 7 * pixels.bands


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00\x00\x18ftypheic" + bytes(40), imagegen.truncated(imagegen.heic())]
)
def test_broken_files_are_invalid(write: Write, data: bytes) -> None:
    with pytest.raises(InvalidImage):
        heif.decode(write(data))


def test_av1_payload_is_not_decoded_here(write: Write) -> None:
    # pillow-heif's wheel has no AV1 decoder; vips.py falls back to libvips for such files.
    with pytest.raises(InvalidImage):
        heif.decode(write(imagegen.avif()))
