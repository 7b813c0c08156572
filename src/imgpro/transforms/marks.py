"""The parameters of issue 15's pixel operations (SPEC §5): ``segment``, ``g=face`` and the
watermark (``mark``, ``mark_g``, ``mark_w``, ``mark_alpha``, ``mark_pad``). Pure: stdlib only.

Kept out of spec.py (which is at the house's size limit); spec.py's parser calls these value
parsers and :class:`Mark` is a field of its :class:`~imgpro.transforms.spec.TransformSpec`.

Decisions (pinned by tests/pixels/test_params.py)
- ``segment`` takes one value, ``foreground`` (ASCII case-insensitive, like every enum).
- ``mark`` is an image id: 1-64 ASCII letters and digits (case-sensitive: ids are). Whether it
  names a live image of the same workspace is decided at request time by the CDN; when it does
  not, ``mark`` is listed in ``X-Img-Ignored`` and the image renders without a watermark.
- ``mark_g`` is one of the nine cover gravities (not ``face``), default ``se``; ``mark_w``
  0.01-1 of the output width (default 0.2); ``mark_alpha`` 0-1 (default 0.7); ``mark_pad``
  0-1024 px (default 16). Decimals round half-up to 0.01 like every float parameter.
- ``mark_*`` without a valid ``mark`` are valid-but-without-effect: accepted silently and left
  out of the canonical form (the rule for ``g`` without cover). ``mark_alpha=0`` is a valid
  request for an invisible mark; it is kept (it still costs the render the user asked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

MARK_ID_RE: Final = re.compile(r"[A-Za-z0-9]{1,64}")
MARK_GRAVITIES: Final = ("center", "north", "south", "east", "west", "ne", "nw", "se", "sw")
MAX_MARK_PAD: Final = 1024
DEFAULT_MARK_G: Final = "se"
DEFAULT_MARK_W: Final = 0.2
DEFAULT_MARK_ALPHA: Final = 0.7
DEFAULT_MARK_PAD: Final = 16
SEGMENTS: Final = ("foreground",)


@dataclass(frozen=True)
class Mark:
    """A requested watermark: the mark image's id and where/how it goes."""

    image_id: str
    gravity: str = DEFAULT_MARK_G
    width: float = DEFAULT_MARK_W  # fraction of the output width
    alpha: float = DEFAULT_MARK_ALPHA
    pad: int = DEFAULT_MARK_PAD

    def __post_init__(self) -> None:
        if not MARK_ID_RE.fullmatch(self.image_id):
            raise ValueError(f"bad mark id: {self.image_id!r}")
        if self.gravity not in MARK_GRAVITIES:
            raise ValueError(f"bad mark gravity: {self.gravity}")
        if not 0.01 <= self.width <= 1 or not 0 <= self.alpha <= 1:
            raise ValueError(f"bad mark width/alpha: {self.width}/{self.alpha}")
        if not 0 <= self.pad <= MAX_MARK_PAD:
            raise ValueError(f"bad mark pad: {self.pad}")
        object.__setattr__(self, "width", round(self.width, 2))
        object.__setattr__(self, "alpha", round(self.alpha, 2))

    def tokens(self) -> list[str]:
        """Canonical tokens (defaults included: they are few, and a changed default must not
        silently alias old variants)."""
        return [
            f"mark={self.image_id}",
            f"mg={self.gravity}",
            f"mw={_fmt(self.width)}",
            f"ma={_fmt(self.alpha)}",
            f"mp={self.pad}",
        ]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def mark_id(raw: str) -> str | None:
    return raw if MARK_ID_RE.fullmatch(raw) else None
