"""Rotate and flip as the dihedral group of the square (pure arithmetic, screen coordinates,
y down): any sequence of quarter turns and mirrors folds into one of 8 orientations, written
with the fewest steps. ``TransformSpec`` uses it so equivalent requests share one variant.

The same vocabulary maps a stored file to what a viewer sees: :data:`EXIF_ORIENTATION` turns
the stored pixels upright, and :func:`to_source_rect` carries a rectangle of the oriented image
back to the pixels it came from (planning crops in output axes; decoding cuts source pixels)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from imgpro.transforms.plan_types import Rect, Size

_Matrix = tuple[int, int, int, int]  # (a, b, c, d): (x, y) -> (a*x + b*y, c*x + d*y)
_ROT90: Final[_Matrix] = (0, -1, 1, 0)  # clockwise on screen: top (0,-1) -> right (1,0)
FLIP_MATRICES: Final[Mapping[str | None, _Matrix]] = {
    None: (1, 0, 0, 1),
    "h": (-1, 0, 0, 1),
    "v": (1, 0, 0, -1),
    "hv": (-1, 0, 0, -1),
}


def _mul(m: _Matrix, n: _Matrix) -> _Matrix:  # m after n
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
    )


def orient_matrix(rotate: int, flip: str | None) -> _Matrix:
    m = FLIP_MATRICES[None]
    for _ in range(rotate // 90):
        m = _mul(_ROT90, m)
    return _mul(FLIP_MATRICES[flip], m)  # rotate first, then flip


# Representatives in order of preference: fewest operations first.
_PREFERRED: Final = (
    (0, None), (90, None), (180, None), (270, None), (0, "h"), (0, "v"), (90, "h"), (90, "v"),
)  # fmt: skip
CANON_ORIENT: Final[Mapping[_Matrix, tuple[int, str | None]]] = {
    orient_matrix(r, f): (r, f) for r, f in reversed(_PREFERRED)
}

# EXIF orientation -> (rotate clockwise, then flip) that turns the stored pixels upright, in the
# pipeline's own vocabulary (5 is the transpose, 7 the transverse).
EXIF_ORIENTATION: Final[dict[int, tuple[int, str | None]]] = {
    1: (0, None),
    2: (0, "h"),
    3: (180, None),
    4: (0, "v"),
    5: (90, "h"),
    6: (90, None),
    7: (270, "h"),
    8: (270, None),
}


def _unorient(x: int, y: int, dims: Size, rotate: int, flip: str | None) -> tuple[int, int]:
    """A pixel of the oriented image (size ``dims``) → the same pixel of the source."""
    width, height = dims
    if flip in ("h", "hv"):
        x = width - 1 - x
    if flip in ("v", "hv"):
        y = height - 1 - y
    if rotate == 90:  # forward (sx, sy) -> (source_h - 1 - sy, sx); source_h == width
        return y, width - 1 - x
    if rotate == 180:
        return width - 1 - x, height - 1 - y
    if rotate == 270:  # forward (sx, sy) -> (sy, source_w - 1 - sx); source_w == height
        return height - 1 - y, x
    return x, y


def to_source_rect(rect: Rect, dims: Size, rotate: int, flip: str | None) -> Rect:
    """A rectangle of the oriented image (size ``dims``) → the source rectangle it came from."""
    left, top, width, height = rect
    corners = [
        _unorient(x, y, dims, rotate, flip)
        for x, y in ((left, top), (left + width - 1, top + height - 1))
    ]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
