"""Which variant a request asks for: a request (the image row, extension, resolved parameters,
``Accept``) becomes a planned :class:`Variant` — its output format, its :class:`RenderPlan`
(pure arithmetic, planning.py), its blob key and ETag, the mark it needs.

Plans are cached per process: a variant depends only on the original (id + sha256:
immutable), the extension, the parameters, the limits, and ``Accept`` when ``format=auto``.
The one input read from the original itself, whether it has alpha (for the JPEG/PNG fallback
of ``format=auto``), is cached per original too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from imgpro.errors import InvalidImage
from imgpro.imaging import vips
from imgpro.settings import LimitSettings, RenderSettings
from imgpro.storage import BlobNotFound
from imgpro.transforms import pipeline
from imgpro.transforms.cache import etag_for, variant_key
from imgpro.transforms.negotiate import output_format
from imgpro.transforms.spec import MAX_IGNORED, OUTPUT_FORMATS, TransformSpec, parse_query
from imgpro.transforms.variant import Variant, _mark_source

# Runs ``use`` with a filesystem path to the original of ``row`` (Renderer._with_source).
WithSource = Callable[[Any, Callable[[Path], Awaitable[Any]]], Awaitable[Any]]

_ALPHA_CACHE_SIZE = 4096
_PLAN_CACHE_SIZE = 4096


class VariantPlanner:
    def __init__(self, settings: RenderSettings, with_source: WithSource) -> None:
        self.with_source = with_source
        self.draft_margin = settings.shrink_on_load_margin
        self.max_upscale_pixels = settings.max_upscale_pixels
        self._alpha: OrderedDict[str, bool] = OrderedDict()
        self._plans: OrderedDict[tuple[Any, ...], Variant] = OrderedDict()

    def limits(self, limits: LimitSettings) -> pipeline.Limits:
        """The pipeline's limits: the request's caps and this host's render settings."""
        return pipeline.Limits(
            limits.max_pixels, limits.max_frames, self.draft_margin, self.max_upscale_pixels
        )

    async def plan(
        self,
        row: Any,
        ext: str,
        params: Sequence[tuple[str, str]],
        accept: str | None,
        limits: LimitSettings,
        ignored: tuple[str, ...] = (),
        mark_row: Any = None,
    ) -> Variant | None:
        """Which variant a request asks for; None if the extension is not servable.

        ``params`` are the resolved parameters (a preset already expanded, ``s`` removed:
        transforms/access.py), so a preset and the same explicit parameters plan the same
        variant; ``ignored`` names more to list in ``X-Img-Ignored`` (an unknown preset).

        Cached: a variant depends only on the original (id + sha256: immutable), the extension,
        the parameters, the limits, and ``Accept`` when ``format=auto``. ``ignored``: names the
        CDN already dropped (an unknown preset). ``mark_row``: the live, same-workspace image
        that ``mark=`` names (the CDN looked it up); None drops the mark (listed as ignored)."""
        if ext not in OUTPUT_FORMATS:
            return None
        params = tuple(params)
        auto = any(name == "format" and value.lower() == "auto" for name, value in params)
        marked = None if mark_row is None else (mark_row.id, mark_row.sha256)
        key = (
            row.id,
            row.sha256,
            ext,
            params,
            accept if auto else None,
            limits.max_pixels,
            limits.max_frames,
            ignored,
            marked,
        )
        variant = self._plans.get(key)
        if variant is None:
            variant = await self._plan(row, ext, params, accept, limits, ignored, mark_row)
            self._plans[key] = variant
            while len(self._plans) > _PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return variant

    async def _plan(
        self,
        row: Any,
        ext: str,
        params: Sequence[tuple[str, str]],
        accept: str | None,
        limits: LimitSettings,
        ignored: tuple[str, ...] = (),
        mark_row: Any = None,
    ) -> Variant:
        parsed = parse_query(params)
        spec = parsed.spec
        fmt, vary = output_format(
            spec,
            path_ext=ext,
            source_format=row.source_format,
            accept=accept,
            animated=row.frames > 1,
        )
        if vary and fmt == "jpg" and await self._has_alpha(row):
            # The fallback for clients without AVIF/WebP: PNG only if there is alpha to keep.
            fmt, vary = output_format(
                spec,
                path_ext=ext,
                source_format=row.source_format,
                accept=accept,
                animated=row.frames > 1,
                has_alpha=True,
            )
        render_plan = pipeline.plan(
            spec,
            source=(row.width, row.height),
            frames=row.frames,
            source_format=row.source_format,
            out_format=fmt,
            limits=self.limits(limits),
            mark=_mark_source(spec, mark_row),
        )
        dropped = sorted({*parsed.ignored, *render_plan.dropped, *ignored})[:MAX_IGNORED]
        mark = None
        if render_plan.mark is not None:
            mark = self._mark_variant(mark_row, render_plan.mark.size, limits)
        return Variant(
            key=variant_key(row.id, render_plan.canonical, fmt),
            etag=etag_for(row.sha256, render_plan.canonical),
            format=fmt,
            plan=render_plan,
            ignored=", ".join(dropped) or None,
            vary_accept=vary,
            mark_row=mark_row if mark is not None else None,
            mark=mark,
        )

    def _mark_variant(self, mark_row: Any, size: tuple[int, int], limits: LimitSettings) -> Variant:
        """The mark image at ``size`` as an ordinary PNG variant *of the mark image*: cached,
        budgeted, and swept with the mark's other variants when it is deleted."""
        spec = TransformSpec(width=size[0], height=size[1], fit="cover")
        mark_plan = pipeline.plan(
            spec,
            source=(mark_row.width, mark_row.height),
            frames=1,
            source_format=mark_row.source_format,
            out_format="png",
            limits=self.limits(limits),
        )
        return Variant(
            key=variant_key(mark_row.id, mark_plan.canonical, "png"),
            etag=etag_for(mark_row.sha256, mark_plan.canonical),
            format="png",
            plan=mark_plan,
        )

    async def _has_alpha(self, row: Any) -> bool:
        """Cached per original (immutable, so caching in-process is safe)."""
        cached = self._alpha.get(row.sha256)
        if cached is not None:
            return cached

        async def probe_alpha(path: Path) -> bool:
            return await asyncio.to_thread(vips.has_alpha, path, row.source_format)

        try:
            found = await self.with_source(row, probe_alpha)
        except (InvalidImage, BlobNotFound):
            return False  # gone meanwhile: the render that follows answers 404
        self._alpha[row.sha256] = found
        while len(self._alpha) > _ALPHA_CACHE_SIZE:
            self._alpha.popitem(last=False)
        return found
