"""ThumbHash against vectors computed with the reference algorithm (thumbhash-python 1.0.1,
``rgba_to_thumbhash``) on the same generated pixels."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from imgpro.imaging.thumbhash import thumbhash_of

# (seed, width, height, opaque, the reference encoder's output)
VECTORS = [
    (1, 40, 30, True, "4PcBDYK3Z3NwpTKXmjloZmeQqrCk"),
    (2, 17, 64, False, "IPiBCQAIZZQJ8tXAKttflFcHWHg5ukc="),
    (3, 100, 100, True, "4AcCBwAHh7lJVqeYmn9HiehzXH/d+EMA"),
]


@pytest.mark.parametrize(("seed", "width", "height", "opaque", "expected"), VECTORS)
def test_matches_reference_on_noise(
    seed: int, width: int, height: int, opaque: bool, expected: str
) -> None:
    rgba = np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)
    if opaque:
        rgba[..., 3] = 255
    assert thumbhash_of(rgba.tobytes(), width, height) == expected


def test_matches_reference_with_an_alpha_shape() -> None:
    h, w = 60, 90
    y, x = np.mgrid[0:h, 0:w]
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0] = (x * 2.8).astype(np.uint8)
    rgba[..., 1] = (y * 4).astype(np.uint8)
    rgba[..., 2] = 200 - (x + y)
    rgba[..., 3] = np.where(((x - 45) / 40) ** 2 + ((y - 30) / 25) ** 2 < 1, 255, 0)
    assert thumbhash_of(rgba.tobytes(), w, h) == "3weCI4o5gIuAe7iAggjoeBdXh4iAeFg="


def test_header_records_alpha_and_orientation() -> None:
    landscape = np.full((20, 80, 4), 255, np.uint8)
    portrait = np.full((80, 20, 4), 255, np.uint8)
    portrait[..., 3] = 0
    l_bytes = base64.b64decode(thumbhash_of(landscape.tobytes(), 80, 20))
    p_bytes = base64.b64decode(thumbhash_of(portrait.tobytes(), 20, 80))
    assert l_bytes[2] >> 7 == 0 and p_bytes[2] >> 7 == 1  # has_alpha bit
    assert l_bytes[4] >> 7 == 1 and p_bytes[4] >> 7 == 0  # is_landscape bit
    assert len(l_bytes) < 32 and len(p_bytes) < 32


@pytest.mark.parametrize(("width", "height"), [(0, 10), (101, 10), (10, 101)])
def test_refuses_oversized_input(width: int, height: int) -> None:
    with pytest.raises(ValueError):
        thumbhash_of(b"\0" * max(width * height * 4, 4), width, height)
