"""Rotate and flip as the dihedral group of the square (pure arithmetic, screen coordinates,
y down): any sequence of quarter turns and mirrors folds into one of 8 orientations, written
with the fewest steps. ``TransformSpec`` uses it so equivalent requests share one variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

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
