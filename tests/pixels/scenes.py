"""Generated test pictures with a known foreground mask (for background removal) and a real
face pasted near an edge (for face-aware crops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvips

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "images"
FACE_PHOTO = CORPUS / "image01137.jpg"


def object_mask(w: int, h: int) -> np.ndarray:
    """A bool mask: a rounded object (an ellipse body with a round head) in the middle."""
    yy, xx = np.mgrid[0:h, 0:w]
    body = ((xx - w * 0.5) / (w * 0.2)) ** 2 + ((yy - h * 0.62) / (h * 0.27)) ** 2 <= 1
    head = ((xx - w * 0.5) / (w * 0.12)) ** 2 + ((yy - h * 0.25) / (h * 0.13)) ** 2 <= 1
    return np.asarray(body | head)


def object_scene(w: int, h: int, *, textured: bool) -> tuple[bytes, np.ndarray]:
    """(JPEG bytes, known mask): a shaded red object on a plain grey or a textured background."""
    rng = np.random.default_rng(7)
    mask = object_mask(w, h)
    yy, xx = np.mgrid[0:h, 0:w]
    if textured:
        stripes = 40 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
        noise = rng.normal(0, 12, (h, w))
        base = np.clip(150 + stripes + noise, 0, 255)
        bg = np.stack([base * 0.9, base, base * 0.8], axis=-1)
    else:
        bg = np.full((h, w, 3), (205, 210, 215), dtype=np.float64)
    shade = 1.0 - 0.35 * (yy / h)
    fg = np.stack([200 * shade, 40 * shade + 10, 50 * shade + 10], axis=-1)
    rgb = np.where(mask[..., None], fg, bg).astype(np.uint8)
    im = pyvips.Image.new_from_array(rgb, interpretation="srgb")
    return bytes(im.jpegsave_buffer(Q=92)), mask


def face_near_edge(width: int = 1200, height: int = 400, *, side: str = "left") -> bytes:
    """The corpus's face photo pasted near one edge of a wide plain canvas (JPEG)."""
    face = pyvips.Image.new_from_file(str(FACE_PHOTO)).thumbnail_image(10_000, height=height)
    canvas = (
        pyvips.Image.black(width, height)
        .new_from_image([120, 130, 140])
        .copy(interpretation="srgb")
    )
    left = 10 if side == "left" else width - face.width - 10
    return bytes(canvas.insert(face, left, 0).cast("uchar").jpegsave_buffer(Q=90))


def iou(alpha: np.ndarray, mask: np.ndarray) -> float:
    found = alpha >= 128
    return float((found & mask).sum() / max((found | mask).sum(), 1))
