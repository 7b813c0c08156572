"""JPEG draft shrink-on-load (``Limits.draft_margin``): decoding at a smaller DCT scale than
libvips' own choice must give the same picture — upright, in sRGB, exactly sized — as the
conservative libvips path, on generated scenes and on real camera files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import pyvips

import imagegen
from imgpro.errors import InvalidImage
from imgpro.imaging.shrink import jpeg_draft_shrink

from .conftest import FIXTURES, LIMITS, Render

CONSERVATIVE = dataclasses.replace(LIMITS, draft_margin=2.0)
FAST = dataclasses.replace(LIMITS, draft_margin=1.0)  # the default
MIDDLE = dataclasses.replace(LIMITS, draft_margin=1.5)


@pytest.mark.parametrize(
    ("source", "size", "margin", "expected"),
    [
        # 8.48x: Pillow's draft mode decodes at 1/8 (530 px); a 1.5 margin asks for 750 px, so
        # 1/4 — which is libvips' own choice: 1 ("let thumbnail do it").
        ((4240, 2832), (500, 334), 1.0, 8),
        ((4240, 2832), (500, 334), 1.5, 1),
        ((6000, 4000), (500, 333), 1.5, 8),  # 12x: 1/8 leaves 1.5x (thumbnail: 1/4)
        ((1800, 1200), (500, 333), 1.5, 2),  # 3.6x: 1/2 leaves 1.8x (thumbnail: full size)
        ((6000, 4000), (2000, 1333), 1.5, 2),  # 3x: 1/2 leaves 1.5x (thumbnail: full size)
        ((4240, 2832), (2000, 1336), 1.0, 2),
        ((4240, 2832), (2000, 1336), 1.5, 1),
        ((1000, 1000), (125, 125), 1.0, 8),  # exactly 8x: the 1/8 decode is exactly the target
        ((999, 1000), (125, 125), 1.0, 4),  # a pixel short of covering it: one scale up
        ((4000, 1000), (500, 500), 1.0, 2),  # the tighter axis decides (a forced aspect ratio)
        ((100, 100), (400, 400), 1.0, 1),  # enlargements decode at full size
        ((6000, 4000), (500, 333), 2.0, 1),  # libvips' margin: always thumbnail's own choice
    ],
)
def test_draft_scale(
    source: tuple[int, int], size: tuple[int, int], margin: float, expected: int
) -> None:
    assert jpeg_draft_shrink(source, size, margin) == expected
    if expected == 1:
        return
    assert math.ceil(source[0] / expected) >= size[0] * margin
    assert math.ceil(source[1] / expected) >= size[1] * margin


def _psnr(a: pyvips.Image, b: pyvips.Image) -> float:
    mse = float(((a.cast("float") - b.cast("float")) ** 2).avg())
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(render: Render, orientation: int) -> None:
    source = imagegen.jpeg(2400, 1800, orientation=orientation)  # ~16x: 1/8 (libvips: 1/4)
    fast = render(source, "w=150&format=png", limits=MIDDLE)
    slow = render(source, "w=150&format=png", limits=CONSERVATIVE)
    assert fast.size == slow.size == (150, 113)
    fastest = render(source, "w=150&format=png", limits=FAST)
    assert imagegen.similarity(fastest.data, imagegen.jpeg(150, 113)) > 0.97
    # Same scene, marker in the top-left: upright whichever scale the JPEG was decoded at.
    assert imagegen.similarity(fast.data, imagegen.jpeg(150, 113)) > 0.97
    # Close to the conservative decode, but not identical: it really decoded at 1/8 scale.
    assert 35 < _psnr(fast.image, slow.image) < 99


@pytest.mark.parametrize(
    "name", ["Landscape_6.jpg", "Portrait_6.jpg", "Canon_40D.jpg", "DSCN0010_gps.jpg"]
)
def test_real_camera_files_match_the_conservative_path(render: Render, name: str) -> None:
    fast = render(FIXTURES / name, "w=120&h=120&fit=cover&format=png", limits=FAST)
    slow = render(FIXTURES / name, "w=120&h=120&fit=cover&format=png", limits=CONSERVATIVE)
    assert fast.size == slow.size == (120, 120)
    assert imagegen.similarity(fast.data, slow.data) > 0.98
    assert _psnr(fast.image, slow.image) > 30


def test_cmyk_without_a_profile_is_converted_to_srgb(render: Render) -> None:
    source = imagegen.jpeg(1200, 900, cmyk=True)
    fast = render(source, "w=100&format=png", limits=FAST)
    assert fast.image.bands == 3 and fast.image.interpretation == "srgb"
    assert imagegen.similarity(fast.data, imagegen.jpeg(100, 75)) > 0.93
    slow = render(source, "w=100&format=png", limits=CONSERVATIVE)
    assert imagegen.similarity(fast.data, slow.data) > 0.98


def test_smart_crop_works_on_a_draft_decode(render: Render) -> None:
    out = render(imagegen.jpeg(1600, 1200), "w=100&h=100&fit=crop&format=png", limits=FAST)
    assert out.plan.geometry.smart and out.size == (100, 100)


def test_truncated_jpeg_still_fails_on_the_draft_path(render: Render, tmp_path: Path) -> None:
    data = imagegen.jpeg(1600, 1200)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    render(path, "w=100", limits=FAST)  # probe while intact, as at upload time
    path.write_bytes(imagegen.truncated(data))
    with pytest.raises(InvalidImage):
        render(path, "w=100", limits=FAST)
