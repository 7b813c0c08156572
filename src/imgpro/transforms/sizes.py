"""The named sizes of SPEC §4: short side 320 / 640 / 1080, aspect kept, never enlarged.

Pure arithmetic shared by the Image object (which promises dimensions without rendering) and
the renderer (which must deliver exactly those dimensions).
"""

from __future__ import annotations

NAMED_SIZES: dict[str, int] = {"s": 320, "m": 640, "l": 1080}
SIZE_NAMES: dict[str, str] = {"s": "small", "m": "medium", "l": "large"}
SOCIAL_SIZE = (1200, 630)


def fit_short_side(width: int, height: int, short: int) -> tuple[int, int]:
    """Scale so the short side is ``short`` (never enlarging); the long side is rounded."""
    current = min(width, height)
    if current <= short:
        return width, height
    scale = short / current
    if width <= height:
        return short, max(1, round(height * scale))
    return max(1, round(width * scale)), short


def named_size(width: int, height: int, name: str) -> tuple[int, int]:
    return fit_short_side(width, height, NAMED_SIZES[name])
