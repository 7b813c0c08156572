"""Render budgets (issue 12): every intermediate within the pixel limit, decided by plan();
the bounded cover path renders the same picture as the fill-and-trim path."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

import imagegen
from imgpro.imaging.probe import probe_file
from imgpro.transforms.pipeline import Limits, plan, render
from imgpro.transforms.spec import parse_query

LIMITS = Limits(max_pixels=50_000_000, max_frames=1000, max_upscale_pixels=4_194_304)
SHAPES = [(16383, 1), (1, 65000), (65000, 1), (3, 40000), (8000, 4000), (1, 1)]
QUERIES = [
    "w=200&h=200&fit=cover",
    "w=200&h=200&fit=crop",
    "w=2000&h=2000&fit=cover&g=south",
    "w=8192&h=8192&fit=cover&g=ne",
    "w=8192&h=10&fit=crop",
    "w=300&h=100&fit=pad",
    "w=8192&fit=contain",
    "size=social",
    "w=500&h=500&fit=cover&rotate=90&flip=h",
]


def _plan(
    query: str,
    source: tuple[int, int],
    *,
    limits: Limits = LIMITS,
    frames: int = 1,
    fmt: str = "jpg",
    source_format: str = "jpeg",
):  # type: ignore[no-untyped-def]
    spec = parse_query([tuple(p.split("=", 1)) for p in query.split("&")]).spec  # type: ignore[misc]
    return plan(
        spec,
        source=source,
        frames=frames,
        source_format=source_format,
        out_format=fmt,
        limits=limits,
    )


@pytest.mark.parametrize(("source", "query"), list(product(SHAPES, QUERIES)))
def test_every_intermediate_is_within_the_pixel_limit(source, query) -> None:  # type: ignore[no-untyped-def]
    p = _plan(query, source)
    g = p.geometry
    for w, h in (g.resize, g.output, g.canvas or (1, 1)):
        assert w * h <= LIMITS.max_pixels
    if g.window is not None:
        left, top, w, h = g.window
        assert left >= 0 and top >= 0 and left + w <= source[0] and top + h <= source[1]
    out = g.output[0] * g.output[1]
    if out > source[0] * source[1]:
        assert out <= 4_194_304  # enlargement bounded


def test_animation_frames_count_their_fill() -> None:
    p = _plan(
        "w=200&h=200&fit=cover",
        (2, 4000),
        frames=50,
        fmt="gif",
        source_format="gif",
        limits=Limits(max_pixels=5_000_000, max_frames=1000),
    )
    assert p.geometry.resize[0] * p.geometry.resize[1] * p.frames <= 5_000_000


@pytest.mark.parametrize("orientation", [1, 3, 5, 6, 7, 8])
@pytest.mark.parametrize(
    "query",
    [
        "w=300&h=60&fit=cover&g=sw",
        "w=60&h=150&fit=cover&g=ne",
        "w=150&h=60&fit=cover&rotate=90&flip=h&g=north",
    ],
)
def test_the_window_path_draws_what_fill_and_trim_draws(
    tmp_path: Path, orientation: int, query: str
) -> None:
    path = tmp_path / "o.jpg"
    path.write_bytes(imagegen.jpeg(160, 120, orientation=orientation))
    probe = probe_file(path, "jpeg", max_pixels=10**8, max_frames=10)
    roomy = Limits(max_pixels=10**8, max_frames=10)
    # The source (19,200 px) fits, the enlarged fill (30,000-67,500 px) does not: window path.
    tight = Limits(max_pixels=25_000, max_frames=10)
    normal = _plan(query, (probe.width, probe.height), limits=roomy)
    bounded = _plan(query, (probe.width, probe.height), limits=tight)
    assert normal.geometry.window is None and bounded.geometry.window is not None
    assert normal.geometry.output == bounded.geometry.output
    a, b = render(path, probe, normal, roomy), render(path, probe, bounded, tight)
    assert imagegen.similarity(a, b) > 0.9
