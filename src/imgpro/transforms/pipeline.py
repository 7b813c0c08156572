"""The render pipeline: a :class:`TransformSpec` and the source's size become a
:class:`RenderPlan` (pure arithmetic), which :func:`render` runs as a visible list of named
steps over libvips (:data:`STEPS`).

Planning (pure, no pyvips) resolves everything that depends on the source: output size, the
resize box, the crop rectangle, the padding canvas, the caps, the frame count and which
background colour can matter. The plan's :attr:`RenderPlan.canonical` names the variant, so
two requests that resolve to the same pixels share one cached variant even when their specs
differ (``w=500`` and ``w=500&h=400`` on a 1000x800 source; ``w=5000`` and no parameters on a
small one).

Geometry (decisions; docs/transforms.md has the table)
- ``width``/``height`` are the *output* axes: after ``rotate`` (as Cloudflare does). The box is
  resolved in output axes and mapped back to the upright source for decoding and cropping.
- ``scale-down`` fits inside and never enlarges; ``contain`` fits inside and may enlarge;
  ``cover`` and ``crop`` fill the box exactly (enlarging if needed), ``cover`` trimming around
  ``g``, ``crop`` by saliency; ``pad`` fits inside (may enlarge, like ``contain``) and pads to
  exactly the box. With only one of ``w``/``h``, ``cover``/``crop``/``pad`` have no box to fill
  and behave like ``contain``.
- ``size=s|m|l`` uses :func:`imgpro.transforms.sizes.fit_short_side`, the same function that
  promised the Image object's ``sizes``, so the served size is exactly the promised one.
- Sizes are rounded half-up; the side that decides the scale is exact.
- Caps: every output side is at most 8192 px (AVIF 2048) and each frame at most
  ``max_pixels``. An output over a cap is scaled down as a whole (a box request keeps its
  aspect ratio; the box shrinks). Animations keep at most ``max_frames`` frames and as many as
  fit in ``max_pixels`` in total (frames are dropped from the end rather than shrinking the
  requested size). Caps win over the ``sizes`` promise for extreme panoramas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

from imgpro.imaging import vips
from imgpro.imaging.probe import Probe
from imgpro.transforms.sizes import fit_short_side
from imgpro.transforms.spec import (
    ALPHA_FORMATS,
    DEFAULT_BG,
    MAX_SIDE,
    TransformSpec,
    background,
    canonical,
    effective_quality,
)

AVIF_MAX_SIDE: Final = 2048
ANIMATED_FORMATS: Final = frozenset({"gif", "webp"})
# Gravity -> where the kept window sits along (x, y): 0 = left/top, 1/2 = centre, 1 = right/bottom.
_ANCHOR: Final[dict[str, tuple[Fraction, Fraction]]] = {
    "center": (Fraction(1, 2), Fraction(1, 2)),
    "north": (Fraction(1, 2), Fraction(0)),
    "south": (Fraction(1, 2), Fraction(1)),
    "east": (Fraction(1), Fraction(1, 2)),
    "west": (Fraction(0), Fraction(1, 2)),
    "ne": (Fraction(1), Fraction(0)),
    "nw": (Fraction(0), Fraction(0)),
    "se": (Fraction(1), Fraction(1)),
    "sw": (Fraction(0), Fraction(1)),
}
_BOX_FITS: Final = frozenset({"cover", "crop", "pad"})

Size = tuple[int, int]
Rect = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class Limits:
    """The operator's bounds and render policy (``IMGPRO_LIMITS``/``IMGPRO_RENDER``)."""

    max_pixels: int  # per output frame, and all frames of an animation together
    max_frames: int
    draft_margin: float = 1.0  # JPEG DCT-scale decode margin (imaging/shrink.py)


@dataclass(frozen=True)
class Geometry:
    """Where the pixels go. ``resize``/``crop`` are in source axes (upright, before the
    request's rotate/flip); ``canvas``/``output`` in output axes."""

    resize: Size  # decode straight to this size (shrink-on-load)
    output: Size  # the final frame
    smart: bool = False  # instead: fill ``resize`` and trim the overflow by saliency
    crop: Rect | None = None  # then keep this rectangle
    canvas: Size | None = None  # then pad onto this, image centred


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
    canonical: str = field(default="", compare=False)


# --- planning (pure) -------------------------------------------------------------------------


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _scaled(src: Size, scale: Fraction, box: tuple[int | None, int | None]) -> Size:
    """``src`` scaled; a side whose box value decided the scale is exactly that value."""
    out = []
    for side, target in zip(src, box, strict=True):
        if target is not None and scale == Fraction(target, side):
            out.append(target)
        else:
            out.append(max(1, _round_half_up(side * scale)))
    return out[0], out[1]


def _fit_inside(src: Size, width: int | None, height: int | None, *, enlarge: bool) -> Size:
    scales = [Fraction(t, s) for t, s in zip((width, height), src, strict=True) if t is not None]
    scale = min(scales)
    if not enlarge:
        scale = min(scale, Fraction(1))
    return _scaled(src, scale, (width, height))


def _box_geometry(src: Size, width: int, height: int, fit: str, gravity: str) -> Geometry:
    """cover / crop / pad with both sides given: the output is exactly width x height."""
    box = (width, height)
    same_aspect = src[0] * height == src[1] * width
    if fit == "pad" or same_aspect:
        inner = _fit_inside(src, width, height, enlarge=True)
        if fit != "pad" or inner == box:
            return Geometry(resize=box if same_aspect else inner, output=box)
        return Geometry(resize=inner, output=box, canvas=box)
    if fit == "crop":
        return Geometry(resize=box, output=box, smart=True)
    scale = max(Fraction(width, src[0]), Fraction(height, src[1]))
    resized = _scaled(src, scale, box)
    resized = (max(resized[0], width), max(resized[1], height))
    ax, ay = _ANCHOR[gravity]
    left = math.floor((resized[0] - width) * ax)
    top = math.floor((resized[1] - height) * ay)
    return Geometry(resize=resized, output=box, crop=(left, top, width, height))


def _geometry(src: Size, spec: TransformSpec) -> Geometry:
    """In output axes (``src`` already rotated by the request)."""
    w, h = spec.width, spec.height
    if w is not None and h is not None and spec.fit in _BOX_FITS:
        return _box_geometry(src, w, h, spec.fit, spec.gravity)
    if w is not None or h is not None:
        size = _fit_inside(src, w, h, enlarge=spec.fit != "scale-down")
    elif spec.short_side is not None:
        size = fit_short_side(src[0], src[1], spec.short_side)
    else:
        size = src
    return Geometry(resize=size, output=size)


def _cap(src: Size, spec: TransformSpec, max_side: int, max_pixels: int) -> Geometry:
    geometry = _geometry(src, spec)
    for _ in range(8):
        width, height = geometry.output
        if max(width, height) <= max_side and width * height <= max_pixels:
            return geometry
        k = min(max_side / max(width, height), math.sqrt(max_pixels / (width * height)))
        if spec.width is not None and spec.height is not None and spec.fit in _BOX_FITS:
            # The requested box shrinks as a whole and keeps its shape.
            spec = replace(spec, width=max(1, math.floor(width * k)),
                           height=max(1, math.floor(height * k)))
        elif width >= height:  # the source's aspect: pin the long side, round the other
            spec = replace(spec, width=max(1, math.floor(width * k)), height=None,
                           short_side=None, fit="contain")
        else:
            spec = replace(spec, width=None, height=max(1, math.floor(height * k)),
                           short_side=None, fit="contain")
        geometry = _geometry(src, spec)
    raise AssertionError(f"caps did not converge for {src} {spec}")  # pragma: no cover


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
    corners = [_unorient(x, y, dims, rotate, flip)
               for x, y in ((left, top), (left + width - 1, top + height - 1))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def _to_source_axes(geometry: Geometry, rotate: int, flip: str | None) -> Geometry:
    swap = rotate in (90, 270)
    resize = (geometry.resize[1], geometry.resize[0]) if swap else geometry.resize
    crop = geometry.crop
    if crop is not None:
        crop = to_source_rect(crop, geometry.resize, rotate, flip)
    return replace(geometry, resize=resize, crop=crop)


def plan(spec: TransformSpec, *, source: Size, frames: int, source_format: str,
         out_format: str, limits: Limits) -> RenderPlan:
    """Resolve ``spec`` against a source of ``source`` (displayed) pixels and ``frames`` frames.

    ``source_format`` only tells whether the source may have alpha (a JPEG never does, so a
    flatten colour cannot matter for it)."""
    effects = TransformSpec(
        rotate=spec.rotate, flip=spec.flip, brightness=spec.brightness, contrast=spec.contrast,
        saturation=spec.saturation, gamma=spec.gamma, blur=spec.blur, sharp=spec.sharp,
        quality=spec.quality,
    )
    swap = spec.rotate in (90, 270)
    oriented = (source[1], source[0]) if swap else source
    max_side = AVIF_MAX_SIDE if out_format == "avif" else MAX_SIDE
    geometry = _cap(oriented, spec, max_side, limits.max_pixels)
    geometry = _to_source_axes(geometry, spec.rotate, spec.flip)

    animated = frames > 1 and out_format in ANIMATED_FORMATS
    out_frames = 1
    if animated:
        per_frame = geometry.output[0] * geometry.output[1]
        out_frames = max(1, min(frames, limits.max_frames, limits.max_pixels // per_frame))

    bg = background(spec, out_format)
    may_flatten = out_format not in ALPHA_FORMATS and source_format != "jpeg"
    if geometry.canvas is None and not may_flatten:
        bg = None if out_format in ALPHA_FORMATS else DEFAULT_BG  # cannot matter: normalise
    result = RenderPlan(
        source=source, out_format=out_format, geometry=geometry, effects=effects,
        quality=effective_quality(spec, out_format), bg=bg, frames=out_frames,
        flatten=may_flatten,
    )
    return replace(result, canonical=_canonical(result))


def _canonical(p: RenderPlan) -> str:
    """Resolved geometry, then the spec's own canonical form of the rest, e.g.
    ``resize=500x400,crop=0,50,500,300,rotate=90,f=webp,q=70``."""
    g = p.geometry
    parts: list[str] = []
    if g.smart:
        parts.append(f"smart={g.resize[0]}x{g.resize[1]}")
    elif g.resize != p.source:
        parts.append(f"resize={g.resize[0]}x{g.resize[1]}")
    if g.crop is not None:
        parts.append("crop=" + ",".join(str(v) for v in g.crop))
    if g.canvas is not None:
        parts.append(f"pad={g.canvas[0]}x{g.canvas[1]}")
    if p.frames > 1:
        parts.append(f"frames={p.frames}")
    if p.bg is not None and not (p.out_format not in ALPHA_FORMATS and p.bg == DEFAULT_BG):
        parts.append(f"bg={p.bg}")
    parts.append(canonical(p.effects, p.out_format))
    return ",".join(parts)


# --- rendering (the named steps) ------------------------------------------------------------


@dataclass
class Work:
    """One render in progress: what the steps read and write."""

    path: Path
    probe: Probe
    plan: RenderPlan
    limits: Limits
    has_icc: bool = True
    frames: list[Any] = field(default_factory=list)
    delays: list[int] | None = None
    loop: int | None = None
    output: bytes = b""


@dataclass(frozen=True)
class Step:
    name: str
    applies: Callable[[RenderPlan], bool]
    run: Callable[[Work], None]


def _each(fn: Callable[[RenderPlan, Any], Any]) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        work.frames = [fn(work.plan, frame) for frame in work.frames]

    return run


def _check(work: Work) -> None:
    source = vips.open_source(work.path, work.probe, max_pixels=work.limits.max_pixels)
    work.has_icc = source.has_icc


def _load(work: Work) -> None:
    g = work.plan.geometry
    loaded = vips.load(work.path, work.probe, g.resize, smart=g.smart,
                       animated=work.plan.frames > 1, max_frames=work.plan.frames,
                       has_icc=work.has_icc, draft_margin=work.limits.draft_margin)
    work.frames, work.delays, work.loop = loaded.frames, loaded.delays, loaded.loop


def _crop(p: RenderPlan, im: Any) -> Any:
    assert p.geometry.crop is not None
    return vips.extract(im, *p.geometry.crop)


def _orient(p: RenderPlan, im: Any) -> Any:
    return vips.orient(im, p.effects.rotate, p.effects.flip)


def _adjust(p: RenderPlan, im: Any) -> Any:
    e = p.effects
    return vips.adjust(im, brightness=e.brightness, contrast=e.contrast,
                       saturation=e.saturation, gamma=e.gamma)


def _blur(p: RenderPlan, im: Any) -> Any:
    assert p.effects.blur is not None
    return vips.blur(im, p.effects.blur)


def _sharpen(p: RenderPlan, im: Any) -> Any:
    assert p.effects.sharp is not None
    return vips.sharpen(im, p.effects.sharp)


def _flatten(p: RenderPlan, im: Any) -> Any:
    assert p.bg is not None
    return vips.flatten(im, p.bg)


def _pad(p: RenderPlan, im: Any) -> Any:
    assert p.geometry.canvas is not None
    width, height = p.geometry.canvas
    left, top = (width - im.width) // 2, (height - im.height) // 2
    return vips.pad(im, width, height, left, top, p.bg)


def _encode(work: Work) -> None:
    work.output = vips.encode(work.frames, work.plan.out_format, work.plan.quality,
                              delays=work.delays, loop=work.loop)


def _always(_: RenderPlan) -> bool:
    return True


def _has_adjustments(p: RenderPlan) -> bool:
    e = p.effects
    return any(v is not None for v in (e.brightness, e.contrast, e.saturation, e.gamma))


# The pipeline, in order. Each step runs only where its predicate says it changes something.
STEPS: Final[tuple[Step, ...]] = (
    # Header against the pixel limit and the probed size, before any decoding (bombs).
    Step("check", _always, _check),
    # Shrink-on-load straight to the resize box (or fill + saliency crop); upright, sRGB, 8-bit.
    Step("load", _always, _load),
    # cover: keep the box around the gravity anchor (streams: no full copy in memory).
    Step("crop", lambda p: p.geometry.crop is not None, _each(_crop)),
    # rotate clockwise, then flip — after cropping, so only the output is held in memory.
    Step("orient", lambda p: bool(p.effects.rotate or p.effects.flip), _each(_orient)),
    Step("adjust", _has_adjustments, _each(_adjust)),
    Step("blur", lambda p: p.effects.blur is not None, _each(_blur)),
    Step("sharpen", lambda p: p.effects.sharp is not None, _each(_sharpen)),
    # No alpha in the output format: composite onto bg (white by default).
    Step("flatten", lambda p: p.flatten, _each(_flatten)),
    Step("pad", lambda p: p.geometry.canvas is not None, _each(_pad)),
    Step("encode", _always, _encode),
)


def render(path: Path, probe: Probe, plan: RenderPlan, limits: Limits, *,
           trace: list[str] | None = None) -> bytes:
    """Run :data:`STEPS` for ``plan`` on the original at ``path``. Blocking: call it from a
    worker thread. Raises :class:`~imgpro.errors.InvalidImage` for damaged files and
    :class:`~imgpro.errors.ImageTooLarge` for files over the pixel limit. ``trace`` collects
    the names of the steps that ran."""
    work = Work(path=path, probe=probe, plan=plan, limits=limits)
    for step in STEPS:
        if step.applies(plan):
            step.run(work)
            if trace is not None:
                trace.append(step.name)
    return work.output


def configure(vips_concurrency: int) -> None:
    """Process-wide libvips settings (threads per operation)."""
    vips.set_concurrency(vips_concurrency)
