"""Face detection with OpenCV's shipped Haar cascades, and the crop window that keeps faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tests.factories import CORPUS

from imgpro.models.faces import Box, crop_around, detect_faces


def _grey(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im.thumbnail((640, 640))
        return np.asarray(im.convert("L"))


def test_finds_the_face_near_the_left_edge_of_a_real_photo() -> None:
    faces = detect_faces(_grey(CORPUS / "image01137.jpg"))
    assert len(faces) >= 1
    face = max(faces, key=lambda b: b.width)
    # The woman's face sits in the left half of the frame.
    assert face.left + face.width / 2 < 640 / 2


def test_a_flat_image_has_no_faces() -> None:
    assert detect_faces(np.full((300, 400), 128, np.uint8)) == []
    assert detect_faces(np.zeros((10, 10), np.uint8)) == []


def test_crop_keeps_every_face_that_fits() -> None:
    faces = [Box(10, 100, 50, 50), Box(300, 120, 40, 40)]
    left, top = crop_around(faces, (1000, 400), (400, 400))
    for f in faces:
        assert left <= f.left and f.right <= left + 400
        assert top <= f.top and f.bottom <= top + 400


def test_crop_prefers_the_largest_face_when_all_do_not_fit() -> None:
    big, small = Box(900, 50, 80, 80), Box(10, 50, 20, 20)
    left, _ = crop_around([small, big], (1000, 300), (300, 300))
    assert left <= big.left and big.right <= left + 300


def test_crop_without_faces_is_centred_and_clamped() -> None:
    assert crop_around([], (1000, 500), (200, 500)) == (400, 0)
    assert crop_around([Box(0, 0, 10, 10)], (1000, 500), (200, 500)) == (0, 0)
