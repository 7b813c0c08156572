"""The plan's types: what planning.py computes and the pipeline runs (frozen, pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpro.transforms.spec import TransformSpec

Size = tuple[int, int]
Rect = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class MarkSource:
    """The watermark image as the CDN found it (same workspace, live, transformable)."""

    image_id: str
    sha256: str
    width: int
    height: int


@dataclass(frozen=True)
class MarkPlan:
    """The watermark, resolved: the mark image rendered to ``size`` (its own cached variant),
    composited at (``left``, ``top``) of every output frame with ``alpha``."""

    source: MarkSource
    size: Size
    left: int
    top: int
    alpha: float


@dataclass(frozen=True)
class Limits:
    """The operator's bounds and render policy (``IMGPRO_LIMITS``/``IMGPRO_RENDER``)."""

    max_pixels: int  # per output frame, every intermediate, and all frames of an animation
    max_frames: int
    draft_margin: float = 1.0  # JPEG DCT-scale decode margin (imaging/shrink.py)
    # An enlarged output frame (more pixels than the source) holds at most
    # max(source pixels, this); None = only the caps above (IMGPRO_RENDER__MAX_UPSCALE_PIXELS).
    max_upscale_pixels: int | None = None


@dataclass(frozen=True)
class Geometry:
    """Where the pixels go. ``resize``/``crop`` are in source axes (upright, before the
    request's rotate/flip); ``canvas``/``output`` in output axes."""

    resize: Size  # decode straight to this size (shrink-on-load)
    output: Size  # the final frame
    smart: bool = False  # instead: fill ``resize`` and trim the overflow by saliency
    crop: Rect | None = None  # then keep this rectangle
    canvas: Size | None = None  # then pad onto this, image centred
    # The bounded cover path: cut this rectangle out of the source first (source pixels), then
    # resize it to ``resize``. Used when filling the box would make an intermediate over the
    # pixel limit (extreme aspect ratios: 16383x1 covering 200x200 is 3,276,600x200 filled).
    window: Rect | None = None
    # g=face: ``crop`` gives the kept size; its position is decided at render time around the
    # detected faces (saliency when there are none), in the loaded fill (source axes).
    faces: bool = False


@dataclass(frozen=True)
class RenderPlan:
    """Everything :func:`render` needs; :attr:`canonical` names the result uniquely."""

    source: Size  # the source as displayed (after EXIF orientation)
    out_format: str
    geometry: Geometry
    effects: TransformSpec  # rotate, flip, adjustments, blur, sharp (no size, no bg)
    quality: int | None  # encoder quality; None for lossless png/gif
    bg: str | None  # flatten (jpg) and pad colour; None = transparent padding
    frames: int  # output frames: 1 unless an animation stays animated
    flatten: bool = False  # the output has no alpha and the source may have some
    segment: bool = False  # remove the background (alpha from U²-Netp's mask)
    mark: MarkPlan | None = None
    dropped: tuple[str, ...] = ()  # parameters the plan could not honour (X-Img-Ignored)
    canonical: str = field(default="", compare=False)
