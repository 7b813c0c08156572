"""Planning a render (pure arithmetic, no pyvips): a :class:`TransformSpec` and the source's
size become a :class:`RenderPlan`, whose geometry and budgets are decided before a pixel is
decoded. :mod:`imgpro.transforms.pipeline` runs the plan.

Planning resolves everything that depends on the source: output size, the
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
- Enlargement: an output frame with more pixels than its source holds at most
  max(source pixels, ``max_upscale_pixels``) (:func:`output_budget`), scaled down as a whole.

Budgets (decided here, before decoding; docs/transforms.md "Render budgets")
- Every intermediate, not only the output, is held to ``max_pixels``: the decoded source (its
  header is checked), the shrink-on-load ``resize`` image, the cover/crop fill, the pad canvas,
  the frames of an animation together (each frame counted at its largest intermediate).
- cover/crop whose fill would pass the limit (extreme aspect ratios: 16383x1 covering 200x200
  fills 3,276,600x200) take the bounded path: cut the source window that the box shows, then
  resize it (``Geometry.window``). Its coordinates stay inside the source, so no offset can pass
  libvips' coordinate limit either. ``crop`` on that path trims around the centre (a saliency
  pass would need the whole fill), and an animation renders its first frame.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Final

from imgpro.transforms.canonical import background, canonical, effective_quality
from imgpro.transforms.marks import Mark
from imgpro.transforms.orientation import to_source_rect
from imgpro.transforms.plan_types import (
    Geometry,
    Limits,
    MarkPlan,
    MarkSource,
    RenderPlan,
    Size,
)
from imgpro.transforms.sizes import fit_short_side
from imgpro.transforms.spec import (
    ALPHA_FORMATS,
    DEFAULT_BG,
    FACE,
    MAX_SIDE,
    TransformSpec,
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
# U²-Netp's input: the copy segmentation makes of the frame is this many pixels, whatever the
# output size (models/segment.py).
SEGMENT_INPUT: Final = 320


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


def _box_geometry(
    src: Size, width: int, height: int, fit: str, gravity: str, budget: int
) -> Geometry:
    """cover / crop / pad with both sides given: the output is exactly width x height.

    ``budget``: the most pixels the filled intermediate of cover/crop may have. Over it, the
    bounded path cuts the source window first (:func:`_window_geometry`); crop then has no
    affordable saliency pass over the whole filled image and trims around the centre."""
    box = (width, height)
    same_aspect = src[0] * height == src[1] * width
    if fit == "pad" or same_aspect:
        inner = _fit_inside(src, width, height, enlarge=True)
        if fit != "pad" or inner == box:
            return Geometry(resize=box if same_aspect else inner, output=box)
        return Geometry(resize=inner, output=box, canvas=box)
    scale = max(Fraction(width, src[0]), Fraction(height, src[1]))
    resized = _scaled(src, scale, box)
    resized = (max(resized[0], width), max(resized[1], height))
    if resized[0] * resized[1] > budget:
        return _window_geometry(
            src, box, scale, "center" if fit == "crop" or gravity == FACE else gravity
        )
    if gravity == FACE:
        left, top = (resized[0] - width) // 2, (resized[1] - height) // 2
        return Geometry(resize=resized, output=box, crop=(left, top, width, height), faces=True)
    if fit == "crop":
        return Geometry(resize=box, output=box, smart=True)
    ax, ay = _ANCHOR[gravity]
    left = math.floor((resized[0] - width) * ax)
    top = math.floor((resized[1] - height) * ay)
    return Geometry(resize=resized, output=box, crop=(left, top, width, height))


def _window_geometry(src: Size, box: Size, scale: Fraction, gravity: str) -> Geometry:
    """cover as "cut, then resize": the source rectangle that fills ``box`` at ``scale``
    (whole source pixels, at least one), anchored like the crop would be. Every intermediate is
    at most the source or the box, whatever the aspect ratios or offsets."""
    window = tuple(
        min(side, max(1, _round_half_up(target / scale)))
        for side, target in zip(src, box, strict=True)
    )
    ax, ay = _ANCHOR[gravity]
    left = math.floor((src[0] - window[0]) * ax)
    top = math.floor((src[1] - window[1]) * ay)
    return Geometry(resize=box, output=box, window=(left, top, window[0], window[1]))


def _geometry(src: Size, spec: TransformSpec, budget: int) -> Geometry:
    """In output axes (``src`` already rotated by the request)."""
    w, h = spec.width, spec.height
    if w is not None and h is not None and spec.fit in _BOX_FITS:
        return _box_geometry(src, w, h, spec.fit, spec.gravity, budget)
    if w is not None or h is not None:
        size = _fit_inside(src, w, h, enlarge=spec.fit != "scale-down")
    elif spec.short_side is not None:
        size = fit_short_side(src[0], src[1], spec.short_side)
    else:
        size = src
    return Geometry(resize=size, output=size)


def output_budget(src: Size, limits: Limits) -> int:
    """Most pixels one output frame may have: the pixel limit, and for an enlargement
    max(source pixels, ``max_upscale_pixels``) — upscaling adds no detail, only CPU (an 8192 px
    square from a 1x1 source cost 3-6 s of CPU)."""
    if limits.max_upscale_pixels is None:
        return limits.max_pixels
    return min(limits.max_pixels, max(src[0] * src[1], limits.max_upscale_pixels))


def _cap(src: Size, spec: TransformSpec, max_side: int, limits: Limits) -> Geometry:
    max_pixels = output_budget(src, limits)
    geometry = _geometry(src, spec, limits.max_pixels)
    for _ in range(8):
        width, height = geometry.output
        if max(width, height) <= max_side and width * height <= max_pixels:
            return geometry
        k = min(max_side / max(width, height), math.sqrt(max_pixels / (width * height)))
        if spec.width is not None and spec.height is not None and spec.fit in _BOX_FITS:
            # The requested box shrinks as a whole and keeps its shape.
            spec = replace(
                spec, width=max(1, math.floor(width * k)), height=max(1, math.floor(height * k))
            )
        elif width >= height:  # the source's aspect: pin the long side, round the other
            spec = replace(
                spec,
                width=max(1, math.floor(width * k)),
                height=None,
                short_side=None,
                fit="contain",
            )
        else:
            spec = replace(
                spec,
                width=None,
                height=max(1, math.floor(height * k)),
                short_side=None,
                fit="contain",
            )
        geometry = _geometry(src, spec, limits.max_pixels)
    raise AssertionError(f"caps did not converge for {src} {spec}")  # pragma: no cover


def _to_source_axes(geometry: Geometry, oriented: Size, rotate: int, flip: str | None) -> Geometry:
    swap = rotate in (90, 270)
    resize = (geometry.resize[1], geometry.resize[0]) if swap else geometry.resize
    crop, window = geometry.crop, geometry.window
    if crop is not None:
        crop = to_source_rect(crop, geometry.resize, rotate, flip)
    if window is not None:
        window = to_source_rect(window, oriented, rotate, flip)
    return replace(geometry, resize=resize, crop=crop, window=window)


def plan(
    spec: TransformSpec,
    *,
    source: Size,
    frames: int,
    source_format: str,
    out_format: str,
    limits: Limits,
    mark: MarkSource | None = None,
) -> RenderPlan:
    """Resolve ``spec`` against a source of ``source`` (displayed) pixels and ``frames`` frames.

    ``source_format`` only tells whether the source may have alpha (a JPEG never does, so a
    flatten colour cannot matter for it). ``mark``: the watermark image the CDN found for
    ``spec.mark`` (None: not found, another workspace's, not transformable: dropped).

    ``segment``: the mask is computed on a 320x320 copy of the output frame, so the plan needs
    room for that copy besides the frame (``SEGMENT_INPUT``² pixels, refused under a smaller
    pixel limit); an animation renders its first frame only (one inference, not one per
    frame)."""
    dropped: list[str] = []
    segment = spec.segment
    if segment and limits.max_pixels < SEGMENT_INPUT * SEGMENT_INPUT:
        segment = False
        dropped.append("segment")
    if spec.mark is not None and mark is None:
        dropped.append("mark")
    effects = TransformSpec(
        rotate=spec.rotate,
        flip=spec.flip,
        brightness=spec.brightness,
        contrast=spec.contrast,
        saturation=spec.saturation,
        gamma=spec.gamma,
        blur=spec.blur,
        sharp=spec.sharp,
        quality=spec.quality,
    )
    swap = spec.rotate in (90, 270)
    oriented = (source[1], source[0]) if swap else source
    max_side = AVIF_MAX_SIDE if out_format == "avif" else MAX_SIDE
    geometry = _cap(oriented, spec, max_side, limits)
    geometry = _to_source_axes(geometry, oriented, spec.rotate, spec.flip)

    # The bounded cover path renders a still: cutting a window out of every frame would need
    # the whole decoded strip in memory.
    animated = (
        frames > 1 and out_format in ANIMATED_FORMATS and geometry.window is None and not segment
    )
    out_frames = 1
    if animated:
        # Every frame's largest intermediate counts, not only its output (cover fills first).
        per_frame = max(
            geometry.output[0] * geometry.output[1], geometry.resize[0] * geometry.resize[1]
        )
        out_frames = max(1, min(frames, limits.max_frames, limits.max_pixels // per_frame))

    bg = background(spec, out_format)
    may_flatten = out_format not in ALPHA_FORMATS and (source_format != "jpeg" or segment)
    if geometry.canvas is None and not may_flatten:
        bg = None if out_format in ALPHA_FORMATS else DEFAULT_BG  # cannot matter: normalise
    result = RenderPlan(
        source=source,
        out_format=out_format,
        geometry=geometry,
        effects=effects,
        quality=effective_quality(spec, out_format),
        bg=bg,
        frames=out_frames,
        flatten=may_flatten,
        segment=segment,
        dropped=tuple(dropped),
        mark=None
        if spec.mark is None or mark is None
        else plan_mark(spec.mark, mark, geometry.output),
    )
    return replace(result, canonical=_canonical(result))


def plan_mark(mark: Mark, source: MarkSource, output: Size) -> MarkPlan:
    """The mark's size and place on an ``output`` frame: ``mark.width`` of the output width,
    the mark's aspect kept, shrunk to fit inside the padded frame (the padding itself shrinks
    on frames too small for it), anchored by ``mark.gravity``. Never larger than the frame, so
    its pixels stay inside the output's budget."""
    out_w, out_h = output
    pad_x = mark.pad if 2 * mark.pad < out_w else 0
    pad_y = mark.pad if 2 * mark.pad < out_h else 0
    room = (out_w - 2 * pad_x, out_h - 2 * pad_y)
    width = Fraction(max(1, _round_half_up(Fraction(out_w) * Fraction(str(mark.width)))))
    scale = min(
        width / source.width, Fraction(room[0], source.width), Fraction(room[1], source.height)
    )
    size = (
        max(1, _round_half_up(source.width * scale)),
        max(1, _round_half_up(source.height * scale)),
    )
    size = (min(size[0], room[0]), min(size[1], room[1]))
    ax, ay = _ANCHOR[mark.gravity]
    left = pad_x + math.floor((room[0] - size[0]) * ax)
    top = pad_y + math.floor((room[1] - size[1]) * ay)
    return MarkPlan(source, size, left, top, mark.alpha)


def _canonical(p: RenderPlan) -> str:
    """Resolved geometry, then the spec's own canonical form of the rest, e.g.
    ``resize=500x400,crop=0,50,500,300,rotate=90,f=webp,q=70``."""
    g = p.geometry
    parts: list[str] = []
    if g.window is not None:
        parts.append("window=" + ",".join(str(v) for v in g.window))
    if g.smart:
        parts.append(f"smart={g.resize[0]}x{g.resize[1]}")
    elif g.resize != p.source or g.window is not None:
        parts.append(f"resize={g.resize[0]}x{g.resize[1]}")
    if g.faces:
        assert g.crop is not None
        parts.append(f"faces={g.crop[2]}x{g.crop[3]}")
    elif g.crop is not None:
        parts.append("crop=" + ",".join(str(v) for v in g.crop))
    if g.canvas is not None:
        parts.append(f"pad={g.canvas[0]}x{g.canvas[1]}")
    if p.frames > 1:
        parts.append(f"frames={p.frames}")
    if p.bg is not None and not (p.out_format not in ALPHA_FORMATS and p.bg == DEFAULT_BG):
        parts.append(f"bg={p.bg}")
    if p.segment:
        parts.append("segment=foreground")
    if p.mark is not None:
        m = p.mark
        parts.append(
            f"mark={m.source.image_id}.{m.source.sha256[:16]},msize={m.size[0]}x"
            f"{m.size[1]},mat={m.left},{m.top},ma={m.alpha:g}"
        )
    parts.append(canonical(p.effects, p.out_format))
    return ",".join(parts)
