"""Background removal with the real U²-Netp weights on generated images with a known mask."""

from __future__ import annotations

import numpy as np
import pytest

from imgpro.models import segment
from imgpro.models.weights import U2NETP, ModelUnavailable, Weights

H, W = 480, 640


def _scene(background: str, shape: str) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:H, 0:W]
    if shape == "ellipse":
        known = ((xx - 330) / 150) ** 2 + ((yy - 250) / 120) ** 2 <= 1
    else:
        known = (xx > 200) & (xx < 440) & (yy > 140) & (yy < 380)
    if background == "plain":
        bg = np.full((H, W, 3), 235, np.float32)
    elif background == "texture":
        bg = np.stack([120 + 60 * np.sin(xx / 7.0) * np.cos(yy / 9.0)] * 3, -1).astype(np.float32)
        bg[..., 1] += 20
    else:
        bg = np.random.default_rng(1).integers(90, 200, (H, W, 3)).astype(np.float32)
    fg = np.zeros((H, W, 3), np.float32)
    fg[..., 0] = 200 - 0.2 * (yy - 250)
    fg[..., 1] = 40
    fg[..., 2] = 50 + 0.1 * xx
    return np.where(known[..., None], fg, bg).clip(0, 255).astype(np.uint8), known


def _resize_nearest(a: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = (np.arange(height) * a.shape[0] / height).astype(int)
    cols = (np.arange(width) * a.shape[1] / width).astype(int)
    return a[rows][:, cols]


@pytest.mark.parametrize("background", ["plain", "texture", "noise"])
@pytest.mark.parametrize("shape", ["ellipse", "rect"])
def test_iou_against_the_known_mask(background: str, shape: str) -> None:
    image, known = _scene(background, shape)
    small = _resize_nearest(image, segment.INPUT_SIZE, segment.INPUT_SIZE)
    mask = segment.foreground_mask(np.ascontiguousarray(small))
    predicted = _resize_nearest(mask, H, W) > 127
    iou = (predicted & known).sum() / (predicted | known).sum()
    assert iou >= 0.9, iou


def test_weights_are_the_pinned_bytes() -> None:
    path = U2NETP.locate()
    assert path.name == "u2netp.onnx" and path.stat().st_size > 4_000_000


def test_a_wrong_hash_is_refused() -> None:
    tampered = Weights(U2NETP.name, U2NETP.distribution, U2NETP.path_in_wheel, "0" * 64, "")
    with pytest.raises(ModelUnavailable, match="expected"):
        tampered.locate()


def test_a_missing_distribution_says_how_to_install() -> None:
    missing = Weights("x", "no-such-distribution-imgpro", "x.onnx", "0" * 64, "")
    with pytest.raises(ModelUnavailable, match="install"):
        missing.locate()


def test_wrong_input_shape_is_refused() -> None:
    with pytest.raises(ValueError):
        segment.foreground_mask(np.zeros((10, 10, 3), np.uint8))
