"""Face detection for face-aware crops (``g=face``), with OpenCV's Haar cascades.

The cascades ship inside the ``opencv-python-headless`` wheel (BSD-3/Apache-2.0 OpenCV data), so
no model is downloaded. Detection runs on a grey copy whose long side is at most DETECT_SIDE px:
Haar cascades are fast at that size (~10–30 ms) and faces smaller than ~2 % of the long side are
not what a crop must keep anyway.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

DETECT_SIDE = 640

_detectors: dict[int, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def _cascades() -> Any:
    # cv2.CascadeClassifier is not thread-safe: one set of cascades per render thread.
    key = threading.get_ident()
    with _lock:
        found = _detectors.get(key)
        if found is None:
            import cv2

            # One thread per detection: the render pool already runs one render per core, and
            # OpenCV's own pool spinning beside it cost ~100x the detection's CPU (measured:
            # ~0.9 s of process CPU per request with it, ~7 ms without).
            cv2.setNumThreads(1)
            base = cv2.data.haarcascades  # type: ignore[attr-defined]
            found = (
                cv2.CascadeClassifier(base + "haarcascade_frontalface_default.xml"),
                cv2.CascadeClassifier(base + "haarcascade_profileface.xml"),
            )
            _detectors[key] = found
        return found


def detect_faces(grey: np.ndarray) -> list[Box]:
    """Faces in a grey uint8 image (already reduced to at most DETECT_SIDE px on its long side)."""
    import cv2

    if grey.ndim != 2 or min(grey.shape) < 24:
        return []
    frontal, profile = _cascades()
    equalised = cv2.equalizeHist(grey)
    min_side = max(24, min(grey.shape) // 20)
    boxes: list[Box] = []
    for cascade, image, mirrored in (
        (frontal, equalised, False),
        (profile, equalised, False),
        (profile, equalised[:, ::-1], True),
    ):
        found = cascade.detectMultiScale(
            image, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
        )
        for x, y, w, h in found if len(found) else []:
            left = grey.shape[1] - int(x) - int(w) if mirrored else int(x)
            boxes.append(Box(left, int(y), int(w), int(h)))
    return _merge_overlapping(boxes)


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    """The frontal and profile cascades often find the same face: keep one box per face."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.width * b.height, reverse=True):
        if not any(_overlap(box, other) > 0.3 for other in kept):
            kept.append(box)
    return kept


def _overlap(a: Box, b: Box) -> float:
    w = min(a.right, b.right) - max(a.left, b.left)
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    if w <= 0 or h <= 0:
        return 0.0
    return (w * h) / min(a.width * a.height, b.width * b.height)


def crop_around(
    faces: list[Box], source: tuple[int, int], crop: tuple[int, int]
) -> tuple[int, int]:
    """Top-left of a ``crop``-sized window inside ``source`` that keeps the faces.

    All faces when their union fits; otherwise the largest face and as many of the others as
    fit around it. The window is centred on what it keeps and clamped to the source.
    """
    sw, sh = source
    cw, ch = crop
    if not faces:
        return (sw - cw) // 2, (sh - ch) // 2
    ordered = sorted(faces, key=lambda b: b.width * b.height, reverse=True)
    keep = [ordered[0]]
    for face in ordered[1:]:
        trial = [*keep, face]
        if _union(trial).width <= cw and _union(trial).height <= ch:
            keep = trial
    union = _union(keep)
    # A little headroom above faces reads better than a face centred dead-on.
    cx = union.left + union.width / 2
    cy = union.top + union.height / 2 - union.height * 0.1
    left = round(cx - cw / 2)
    top = round(cy - ch / 2)
    return max(0, min(left, sw - cw)), max(0, min(top, sh - ch))


def _union(boxes: list[Box]) -> Box:
    left = min(b.left for b in boxes)
    top = min(b.top for b in boxes)
    right = max(b.right for b in boxes)
    bottom = max(b.bottom for b in boxes)
    return Box(left, top, right - left, bottom - top)
