"""The render pipeline: a :class:`RenderPlan` (made by :mod:`imgpro.transforms.planning`,
pure arithmetic) runs as a visible list of named steps over libvips (:data:`STEPS`).

The planning names are re-exported here: callers plan and render through this one module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from imgpro.imaging import vips
from imgpro.imaging.probe import Probe
from imgpro.imaging.vips import models as vision
from imgpro.transforms.orientation import EXIF_ORIENTATION, to_source_rect
from imgpro.transforms.planning import (
    ANIMATED_FORMATS,
    AVIF_MAX_SIDE,
    Geometry,
    Limits,
    MarkPlan,
    MarkSource,
    RenderPlan,
    output_budget,
    plan,
)

__all__ = [
    "ANIMATED_FORMATS",
    "AVIF_MAX_SIDE",
    "EXIF_ORIENTATION",
    "STEPS",
    "Geometry",
    "Limits",
    "MarkPlan",
    "MarkSource",
    "RenderPlan",
    "Step",
    "Work",
    "configure",
    "output_budget",
    "plan",
    "render",
    "to_source_rect",
]


# --- rendering (the named steps) ------------------------------------------------------------


@dataclass
class Work:
    """One render in progress: what the steps read and write."""

    path: Path
    probe: Probe
    plan: RenderPlan
    limits: Limits
    has_icc: bool = True
    orientation: int = 1  # the stored file's EXIF orientation (stills; 1 = upright)
    frames: list[Any] = field(default_factory=list)
    delays: list[int] | None = None
    loop: int | None = None
    output: bytes = b""
    mark: bytes | None = None  # the mark's rendered variant (PNG at plan.mark.size)


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
    work.orientation = source.orientation


def _load(work: Work) -> None:
    g = work.plan.geometry
    if g.window is not None:
        # The window is in upright source axes; the file stores its pixels before EXIF
        # orientation, so cut the matching rectangle there and orient the small result.
        rotate, flip = EXIF_ORIENTATION[work.orientation]
        window = to_source_rect(g.window, work.plan.source, rotate, flip)
        size = (g.resize[1], g.resize[0]) if rotate in (90, 270) else g.resize
        frame = vips.load_window(work.path, work.probe, window, size, has_icc=work.has_icc)
        work.frames = [vips.orient(frame, rotate, flip)]
        return
    loaded = vips.load(
        work.path,
        work.probe,
        g.resize,
        smart=g.smart,
        animated=work.plan.frames > 1,
        max_frames=work.plan.frames,
        has_icc=work.has_icc,
        draft_margin=work.limits.draft_margin,
    )
    work.frames, work.delays, work.loop = loaded.frames, loaded.delays, loaded.loop


def _crop(p: RenderPlan, im: Any) -> Any:
    assert p.geometry.crop is not None
    return vips.extract(im, *p.geometry.crop)


def _faces(work: Work) -> None:
    """g=face: one window for every frame, chosen on the first (an animation's faces are
    found once: a detection per frame would cost more than the render and could jitter)."""
    g = work.plan.geometry
    assert g.crop is not None
    size = (g.crop[2], g.crop[3])
    first = vision.smart_window_source(work.frames[0])
    work.frames[0] = first
    where = vision.face_window(first, size) or vision.attention_window(first, size)
    work.frames = [vips.extract(f, where[0], where[1], *size) for f in work.frames]


def _segment(p: RenderPlan, im: Any) -> Any:
    return vision.remove_background(im)


def _mark(work: Work) -> None:
    m = work.plan.mark
    assert m is not None and work.mark is not None
    work.frames = [vision.watermark(f, work.mark, m.left, m.top, m.alpha) for f in work.frames]


def _orient(p: RenderPlan, im: Any) -> Any:
    return vips.orient(im, p.effects.rotate, p.effects.flip)


def _adjust(p: RenderPlan, im: Any) -> Any:
    e = p.effects
    return vips.adjust(
        im, brightness=e.brightness, contrast=e.contrast, saturation=e.saturation, gamma=e.gamma
    )


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
    work.output = vips.encode(
        work.frames, work.plan.out_format, work.plan.quality, delays=work.delays, loop=work.loop
    )


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
    Step("crop", lambda p: p.geometry.crop is not None and not p.geometry.faces, _each(_crop)),
    # g=face: keep the detected faces (saliency when there are none) — issue 15.
    Step("faces", lambda p: p.geometry.faces, _faces),
    # rotate clockwise, then flip — after cropping, so only the output is held in memory.
    Step("orient", lambda p: bool(p.effects.rotate or p.effects.flip), _each(_orient)),
    Step("adjust", _has_adjustments, _each(_adjust)),
    Step("blur", lambda p: p.effects.blur is not None, _each(_blur)),
    Step("sharpen", lambda p: p.effects.sharp is not None, _each(_sharpen)),
    # segment=foreground: the mask of a 320x320 copy becomes the frame's alpha (U²-Netp).
    Step("segment", lambda p: p.segment, _each(_segment)),
    # No alpha in the output format: composite onto bg (white by default).
    Step("flatten", lambda p: p.flatten, _each(_flatten)),
    Step("pad", lambda p: p.geometry.canvas is not None, _each(_pad)),
    # The watermark goes on last, over padding too, on every frame.
    Step("mark", lambda p: p.mark is not None, _mark),
    Step("encode", _always, _encode),
)


def render(
    path: Path,
    probe: Probe,
    plan: RenderPlan,
    limits: Limits,
    *,
    trace: list[str] | None = None,
    mark: bytes | None = None,
) -> bytes:
    """Run :data:`STEPS` for ``plan`` on the original at ``path``. Blocking: call it from a
    worker thread. Raises :class:`~imgpro.errors.InvalidImage` for damaged files and
    :class:`~imgpro.errors.ImageTooLarge` for files over the pixel limit. ``trace`` collects
    the names of the steps that ran. ``mark``: the mark's rendered variant when the plan has
    one (the renderer fetches it first, as a variant of its own)."""
    if plan.mark is not None and mark is None:
        raise ValueError("the plan has a mark: pass its rendered bytes")
    work = Work(path=path, probe=probe, plan=plan, limits=limits, mark=mark)
    for step in STEPS:
        if step.applies(plan):
            step.run(work)
            if trace is not None:
                trace.append(step.name)
    return work.output


def configure(vips_concurrency: int) -> None:
    """Process-wide libvips settings (threads per operation)."""
    vips.set_concurrency(vips_concurrency)
