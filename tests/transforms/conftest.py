"""Helpers for the pipeline tests: render real bytes through the real pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pyvips

from imgpro.imaging.probe import SNIFF_BYTES, Probe, probe_file, sniff
from imgpro.transforms import pipeline
from imgpro.transforms.negotiate import output_format
from imgpro.transforms.spec import parse_query

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "images"
LIMITS = pipeline.Limits(max_pixels=50_000_000, max_frames=1000)


def probe_path(path: Path) -> Probe:
    with path.open("rb") as f:
        source_format = sniff(f.read(SNIFF_BYTES))
    assert source_format is not None
    return probe_file(
        path, source_format, max_pixels=LIMITS.max_pixels, max_frames=LIMITS.max_frames
    )


def decode(data: bytes, fmt: str) -> pyvips.Image:
    every_page = {"n": -1} if fmt in ("gif", "webp") else {}
    return pyvips.Image.new_from_buffer(data, "", **every_page)


def pages(im: pyvips.Image) -> int:
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1


@dataclass
class Rendered:
    data: bytes
    image: pyvips.Image  # decoded output (every page for gif/webp)
    plan: pipeline.RenderPlan
    trace: list[str]

    @property
    def size(self) -> tuple[int, int]:
        return self.image.width, self.image.height // pages(self.image)


Render = Callable[..., Rendered]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """``render(bytes_or_path, "w=100&fit=cover", fmt=None, limits=LIMITS)``."""
    counter = iter(range(1_000_000))

    def _render(
        source: bytes | Path,
        query: str = "",
        fmt: str | None = None,
        *,
        limits: pipeline.Limits = LIMITS,
    ) -> Rendered:
        if isinstance(source, bytes):
            path = tmp_path / f"source-{next(counter)}"
            path.write_bytes(source)
        else:
            path = source
        probe = probe_path(path)
        pairs = [(n, v) for n, _, v in (p.partition("=") for p in query.split("&") if p)]
        spec = parse_query(pairs).spec
        if fmt is None:
            fmt, _ = output_format(
                spec, path_ext=probe.format, source_format=probe.source_format, accept=None
            )
        plan = pipeline.plan(
            spec,
            source=(probe.width, probe.height),
            frames=probe.frames,
            source_format=probe.source_format,
            out_format=fmt,
            limits=limits,
        )
        trace: list[str] = []
        data = pipeline.render(path, probe, plan, limits, trace=trace)
        return Rendered(data, decode(data, fmt), plan, trace)

    return _render
