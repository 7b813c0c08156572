"""pipeline.plan(): geometry, caps, frames and the canonical variant name. Pure: no pixels."""

from __future__ import annotations

import math
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpro.transforms.pipeline import (
    STEPS,
    Geometry,
    Limits,
    RenderPlan,
    plan,
    to_source_rect,
)
from imgpro.transforms.sizes import named_size
from imgpro.transforms.spec import OUTPUT_FORMATS, TransformSpec, parse_query

LIMITS = Limits(max_pixels=50_000_000, max_frames=1000)


def spec(query: str) -> TransformSpec:
    return parse_query([tuple(p.split("=", 1)) for p in query.split("&") if p]).spec  # type: ignore[misc]


def make(
    query: str,
    source: tuple[int, int] = (400, 300),
    *,
    fmt: str = "jpg",
    frames: int = 1,
    source_format: str = "jpeg",
    limits: Limits = LIMITS,
) -> RenderPlan:
    return plan(
        spec(query),
        source=source,
        frames=frames,
        source_format=source_format,
        out_format=fmt,
        limits=limits,
    )


def out(query: str, source: tuple[int, int] = (400, 300), **kw: object) -> tuple[int, int]:
    return make(query, source, **kw).geometry.output  # type: ignore[arg-type]


# --- every fit x source shape x box shape ---------------------------------------------------
LANDSCAPE, PORTRAIT, SQUARE = (400, 300), (300, 400), (300, 300)

# (source, box query) -> expected output size per fit. Hand-computed.
FIT_TABLE = {
    # smaller box, wide
    (LANDSCAPE, "w=200&h=100"): {
        "scale-down": (133, 100),
        "contain": (133, 100),
        "cover": (200, 100),
        "crop": (200, 100),
        "pad": (200, 100),
    },
    (PORTRAIT, "w=200&h=100"): {
        "scale-down": (75, 100),
        "contain": (75, 100),
        "cover": (200, 100),
        "crop": (200, 100),
        "pad": (200, 100),
    },
    (SQUARE, "w=200&h=100"): {
        "scale-down": (100, 100),
        "contain": (100, 100),
        "cover": (200, 100),
        "crop": (200, 100),
        "pad": (200, 100),
    },
    # smaller box, tall
    (LANDSCAPE, "w=100&h=200"): {
        "scale-down": (100, 75),
        "contain": (100, 75),
        "cover": (100, 200),
        "crop": (100, 200),
        "pad": (100, 200),
    },
    (PORTRAIT, "w=100&h=200"): {
        "scale-down": (100, 133),
        "contain": (100, 133),
        "cover": (100, 200),
        "crop": (100, 200),
        "pad": (100, 200),
    },
    (SQUARE, "w=100&h=200"): {
        "scale-down": (100, 100),
        "contain": (100, 100),
        "cover": (100, 200),
        "crop": (100, 200),
        "pad": (100, 200),
    },
    # smaller box, square
    (LANDSCAPE, "w=120&h=120"): {
        "scale-down": (120, 90),
        "contain": (120, 90),
        "cover": (120, 120),
        "crop": (120, 120),
        "pad": (120, 120),
    },
    (PORTRAIT, "w=120&h=120"): {
        "scale-down": (90, 120),
        "contain": (90, 120),
        "cover": (120, 120),
        "crop": (120, 120),
        "pad": (120, 120),
    },
    (SQUARE, "w=120&h=120"): {
        "scale-down": (120, 120),
        "contain": (120, 120),
        "cover": (120, 120),
        "crop": (120, 120),
        "pad": (120, 120),
    },
    # larger box: scale-down never enlarges, contain does, the box fits fill it
    (LANDSCAPE, "w=800&h=500"): {
        "scale-down": (400, 300),
        "contain": (667, 500),
        "cover": (800, 500),
        "crop": (800, 500),
        "pad": (800, 500),
    },
    (PORTRAIT, "w=800&h=500"): {
        "scale-down": (300, 400),
        "contain": (375, 500),
        "cover": (800, 500),
        "crop": (800, 500),
        "pad": (800, 500),
    },
    (SQUARE, "w=800&h=500"): {
        "scale-down": (300, 300),
        "contain": (500, 500),
        "cover": (800, 500),
        "crop": (800, 500),
        "pad": (800, 500),
    },
    # one side only: nothing to fill, so cover/crop/pad behave like contain
    (LANDSCAPE, "w=200"): {
        "scale-down": (200, 150),
        "contain": (200, 150),
        "cover": (200, 150),
        "crop": (200, 150),
        "pad": (200, 150),
    },
    (PORTRAIT, "h=200"): {
        "scale-down": (150, 200),
        "contain": (150, 200),
        "cover": (150, 200),
        "crop": (150, 200),
        "pad": (150, 200),
    },
    (SQUARE, "w=600"): {
        "scale-down": (300, 300),
        "contain": (600, 600),
        "cover": (600, 600),
        "crop": (600, 600),
        "pad": (600, 600),
    },
}
FIT_CASES = [
    (src, box, fit, dims) for (src, box), fits in FIT_TABLE.items() for fit, dims in fits.items()
]


@pytest.mark.parametrize(("source", "box", "fit", "expected"), FIT_CASES)
def test_output_size_for_every_fit(
    source: tuple[int, int], box: str, fit: str, expected: tuple[int, int]
) -> None:
    p = make(f"{box}&fit={fit}", source)
    assert p.geometry.output == expected
    g = p.geometry
    if g.crop is not None:  # the crop lies inside what is decoded
        left, top, w, h = g.crop
        assert min(left, top) >= 0 and left + w <= g.resize[0] and top + h <= g.resize[1]
        assert (w, h) == expected
    if g.canvas is not None:
        assert g.canvas == expected and g.resize[0] <= expected[0] and g.resize[1] <= expected[1]


@pytest.mark.parametrize(("source", "box", "fit", "expected"), FIT_CASES)
def test_box_refers_to_output_axes_after_rotate(
    source: tuple[int, int], box: str, fit: str, expected: tuple[int, int]
) -> None:
    # Rotating the source by 90 degrees and asking for the same box gives the same size; the
    # decode size is in the source's own (unrotated) axes.
    rotated_source = (source[1], source[0])
    p = make(f"{box}&fit={fit}&rotate=90", rotated_source)
    upright = make(f"{box}&fit={fit}", source)
    assert p.geometry.output == expected
    assert p.geometry.resize == upright.geometry.resize[::-1]


def test_the_side_that_decides_the_scale_is_exact() -> None:
    assert out("w=333", (1000, 777)) == (333, 259)  # 777 * 0.333 = 258.74 -> 259
    assert out("h=259", (1000, 777)) == (333, 259)
    assert out("w=1&h=1&fit=contain", (1000, 3)) == (1, 1)  # never 0


@pytest.mark.parametrize(
    "source",
    [(4000, 3000), (3000, 4000), (1000, 1000), (333, 250), (100, 50), (8000, 700), (2566, 3313)],
)
@pytest.mark.parametrize("name", ["s", "m", "l"])
def test_named_sizes_are_exactly_what_the_image_object_promises(
    source: tuple[int, int], name: str
) -> None:
    assert out(f"size={name}", source) == named_size(*source, name)


def test_social_is_exactly_1200x630_padded() -> None:
    for source in (LANDSCAPE, PORTRAIT, SQUARE, (100, 50), (5000, 1000)):
        p = make("size=social", source)
        assert p.geometry.output == (1200, 630)
        assert p.geometry.canvas in (None, (1200, 630))


def test_gravity_across_the_untrimmed_axis_is_the_same_variant() -> None:
    # A landscape source is trimmed left/right only: north and south keep the same pixels.
    assert (
        make("w=100&h=100&fit=cover&g=north").canonical
        == make("w=100&h=100&fit=cover&g=south").canonical
    )


def test_cover_trims_around_gravity() -> None:
    # 400x300 to 100x100: resized 133x100, 33 columns to trim.
    crops = {
        g: make(f"w=100&h=100&fit=cover&g={g}").geometry.crop
        for g in ("nw", "north", "ne", "west", "center", "east", "sw", "south", "se")
    }
    assert crops["west"] == crops["nw"] == crops["sw"] == (0, 0, 100, 100)
    assert crops["center"] == crops["north"] == crops["south"] == (16, 0, 100, 100)
    assert crops["east"] == crops["ne"] == crops["se"] == (33, 0, 100, 100)
    # Portrait: rows are trimmed instead.
    tall = {
        g: make(f"w=100&h=100&fit=cover&g={g}", PORTRAIT).geometry.crop
        for g in ("north", "center", "south", "ne")
    }
    assert tall == {
        "north": (0, 0, 100, 100),
        "center": (0, 16, 100, 100),
        "south": (0, 33, 100, 100),
        "ne": (0, 0, 100, 100),
    }


def test_crop_is_a_saliency_crop_of_the_box() -> None:
    g = make("w=100&h=100&fit=crop").geometry
    assert (g.smart, g.resize, g.crop) == (True, (100, 100), None)
    # With rotate the box is decoded in source axes.
    g = make("w=100&h=50&fit=crop&rotate=90").geometry
    assert (g.smart, g.resize, g.output) == (True, (50, 100), (100, 50))


def test_pad_canvas_only_when_there_is_something_to_pad() -> None:
    assert make("w=200&h=100&fit=pad").geometry.canvas == (200, 100)
    assert make("w=200&h=150&fit=pad").geometry.canvas is None  # same aspect: no bars
    assert make("w=200&h=150&fit=pad").canonical == make("w=200&h=150&fit=contain").canonical


# --- rotate/flip: rectangles map back to the source exactly ------------------------------
Grid = list[list[tuple[int, int]]]


def _source_grid(w: int, h: int) -> Grid:
    return [[(x, y) for x in range(w)] for y in range(h)]


def _orient(grid: Grid, rotate: int, flip: str | None) -> Grid:
    for _ in range(rotate // 90):  # clockwise
        grid = [list(row) for row in zip(*grid[::-1], strict=True)]
    if flip in ("h", "hv"):
        grid = [row[::-1] for row in grid]
    if flip in ("v", "hv"):
        grid = grid[::-1]
    return grid


@pytest.mark.parametrize(
    ("rotate", "flip"), list(product((0, 90, 180, 270), (None, "h", "v", "hv")))
)
def test_oriented_rectangles_map_to_the_source_pixels_they_came_from(
    rotate: int, flip: str | None
) -> None:
    oriented = _orient(_source_grid(7, 4), rotate, flip)
    dims = (len(oriented[0]), len(oriented))
    for rect in [
        (0, 0, 2, 1),
        (1, 1, 3, 2),
        (dims[0] - 2, dims[1] - 1, 2, 1),
        (0, 0, dims[0], dims[1]),
    ]:
        left, top, w, h = rect
        pixels = {oriented[y][x] for y in range(top, top + h) for x in range(left, left + w)}
        sl, st_, sw, sh = to_source_rect(rect, dims, rotate, flip)
        assert pixels == {(x, y) for y in range(st_, st_ + sh) for x in range(sl, sl + sw)}


def test_gravity_follows_the_output_after_rotate_and_flip() -> None:
    # Output west edge after rotate=90 is the source's bottom edge (rotated clockwise).
    g = make("w=100&h=100&fit=cover&g=west&rotate=90", (300, 400)).geometry
    assert g.resize == (100, 133)
    assert g.crop == (0, 33, 100, 100)
    # flip=h mirrors: output west is the source's east.
    g = make("w=100&h=100&fit=cover&g=west&flip=h").geometry
    assert g.crop == (33, 0, 100, 100)


# --- caps ----------------------------------------------------------------------------------
def test_every_side_is_capped_at_8192_and_avif_at_2048() -> None:
    assert out("w=8192&fit=contain", (100, 50)) == (8192, 4096)
    assert out("w=8192&fit=contain", (100, 50), fmt="avif") == (2048, 1024)
    assert out("", (3000, 2000), fmt="avif") == (2048, 1365)
    assert out("w=4000&h=1000&fit=cover", (100, 100), fmt="avif") == (2048, 512)
    assert out("size=social", (100, 100), fmt="avif") == (1200, 630)
    assert out("", (20000, 100)) == (8192, 41)


def test_output_never_exceeds_the_pixel_limit() -> None:
    small = Limits(max_pixels=10_000, max_frames=10)
    w, h = out("w=1000&h=1000&fit=cover", (400, 300), limits=small)
    assert w * h <= 10_000 and w == h  # the box keeps its shape
    w, h = out("", (400, 300), limits=small)
    assert w * h <= 10_000 and abs(w / h - 4 / 3) < 0.02
    big = out("w=8192&h=8192&fit=contain", (1000, 1000))
    assert big[0] * big[1] <= 50_000_000 and big == (7071, 7071)


def test_animations_keep_frames_within_the_limits() -> None:
    p = make("w=100&h=100&fit=cover", (400, 300), fmt="gif", frames=20, source_format="gif")
    assert p.frames == 20
    p = make(
        "w=100&h=100&fit=cover",
        fmt="gif",
        frames=20,
        source_format="gif",
        limits=Limits(max_pixels=55_000, max_frames=1000),
    )
    # Dropped frames, kept the size. Each frame costs its filled intermediate (133x100 before
    # the cover crop), not only its 100x100 output: 55,000 // 13,300 = 4.
    assert p.frames == 4 and p.geometry.output == (100, 100)
    p = make(
        "",
        fmt="webp",
        frames=2000,
        source_format="gif",
        limits=Limits(max_pixels=10**9, max_frames=50),
    )
    assert p.frames == 50
    # Formats that cannot animate get the first frame.
    for fmt in ("jpg", "png", "avif"):
        assert make("", fmt=fmt, frames=20, source_format="gif").frames == 1


# --- canonical names -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "source"),
    [
        ("w=200", "w=200&h=150", (400, 300)),
        ("w=200", "h=150", (400, 300)),
        ("w=200&h=150&fit=cover", "w=200&h=150&fit=contain", (400, 300)),
        ("w=200&h=150&fit=crop", "w=200", (400, 300)),
        ("w=200&h=150&fit=pad", "w=200", (400, 300)),
        ("w=5000", "", (400, 300)),  # scale-down never enlarges: it is the original
        ("size=l", "", (400, 300)),  # smaller than the named size: the original
        ("w=400&h=300&fit=contain", "", (400, 300)),
        ("size=s&dpr=2", "size=m", (4000, 3000)),
        ("w=100&dpr=2", "w=200", (400, 300)),
        ("bg=ff0000", "", (400, 300)),  # a JPEG has nothing to flatten and nothing is padded
        ("g=north&w=100", "w=100", (400, 300)),
        ("q=80", "", (400, 300)),
        ("quality=70&w=100", "w=100&q=70", (400, 300)),
        ("rotate=180", "flip=hv", (400, 300)),
        ("brightness=1&sharp=0", "", (400, 300)),
        ("w=abc&bogus=1", "", (400, 300)),
    ],
)
def test_equivalent_requests_share_one_variant(a: str, b: str, source: tuple[int, int]) -> None:
    assert make(a, source).canonical == make(b, source).canonical


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("w=200", "w=201"),
        ("w=100&h=100&fit=cover", "w=100&h=100&fit=crop"),
        ("w=100&h=100&fit=cover&g=nw", "w=100&h=100&fit=cover&g=ne"),
        ("w=100&h=100&fit=cover&g=west", "w=100&h=100&fit=cover&g=east"),
        ("w=100&h=100&fit=pad", "w=100&h=100&fit=pad&bg=000000"),
        ("rotate=90", "rotate=270"),
        ("flip=h", "flip=v"),
        ("q=50", "q=51"),
        ("blur=2", "blur=3"),
        ("brightness=1.1", "contrast=1.1"),
    ],
)
def test_different_renders_have_different_names(a: str, b: str) -> None:
    assert make(a).canonical != make(b).canonical


def test_canonical_shape() -> None:
    assert make("").canonical == "f=jpg"
    assert make("w=100&h=100&fit=cover&g=north&rotate=90&q=70&sharp=1").canonical == (
        "resize=133x100,crop=0,0,100,100,rotate=90,sharp=1,f=jpg,q=70"
    )  # output north =
    # the source's left edge: rotating clockwise moves it to the top
    assert make("size=social", source_format="png", fmt="png").canonical == (
        "resize=840x630,pad=1200x630,f=png"
    )


def test_background_only_where_it_can_matter() -> None:
    # JPEG output of a source that may have alpha: bg is the flatten colour.
    assert make("bg=ff0000", source_format="png").bg == "ff0000"
    assert "bg=ff0000" in make("bg=ff0000", source_format="png").canonical
    assert make("bg=ff0000", source_format="png").flatten
    assert not make("bg=ff0000", source_format="jpeg").flatten
    # Formats with alpha: only padding uses it; default transparent.
    assert make("bg=ff0000", fmt="png", source_format="png").bg is None
    assert make("w=10&h=20&fit=pad", fmt="png", source_format="png").bg is None
    assert make("w=10&h=20&fit=pad&bg=00ff00", fmt="webp").bg == "00ff00"
    assert make("w=10&h=20&fit=pad", fmt="jpg").bg == "ffffff"


def test_steps_are_named_and_in_order() -> None:
    assert [s.name for s in STEPS] == [
        "check",
        "load",
        "crop",
        "faces",
        "orient",
        "adjust",
        "blur",
        "sharpen",
        "segment",
        "flatten",
        "pad",
        "mark",
        "encode",
    ]


# --- properties ------------------------------------------------------------------------------
params = st.lists(
    st.tuples(
        st.sampled_from(["w", "h", "fit", "g", "size", "dpr", "rotate", "flip", "bg"]),
        st.sampled_from(
            [
                "1",
                "7",
                "99",
                "640",
                "4000",
                "8192",
                "cover",
                "crop",
                "pad",
                "contain",
                "s",
                "l",
                "social",
                "2.5",
                "90",
                "270",
                "h",
                "v",
                "north",
                "se",
                "fff",
            ]
        ),
    ),
    max_size=6,
)
sides = st.integers(min_value=1, max_value=20000)


@settings(max_examples=300, deadline=None)
@given(params, sides, sides, st.sampled_from(OUTPUT_FORMATS), st.integers(1, 300))
def test_plans_are_always_within_limits_and_consistent(
    pairs: list[tuple[str, str]], width: int, height: int, fmt: str, frames: int
) -> None:
    limits = Limits(max_pixels=50_000_000, max_frames=100)
    s = parse_query(pairs).spec
    p = plan(
        s, source=(width, height), frames=frames, source_format="gif", out_format=fmt, limits=limits
    )
    g = p.geometry
    ow, oh = g.output
    cap = 2048 if fmt == "avif" else 8192
    assert 1 <= ow <= cap and 1 <= oh <= cap and ow * oh * p.frames <= limits.max_pixels
    assert p.frames <= limits.max_frames
    if g.crop is not None:
        left, top, w, h = g.crop
        assert min(left, top) >= 0 and left + w <= g.resize[0] and top + h <= g.resize[1]
    swap = s.rotate in (90, 270)
    kept = (g.crop[2], g.crop[3]) if g.crop else g.resize
    kept = (kept[1], kept[0]) if swap else kept
    if g.canvas is not None:
        assert g.canvas == g.output and kept[0] <= ow and kept[1] <= oh
    else:
        assert kept == g.output
    if s.width and s.height and s.fit in ("cover", "crop", "pad"):
        # Box fits fill the box exactly unless a cap shrank it (then the aspect is kept).
        if max(s.width, s.height) <= cap and s.width * s.height <= limits.max_pixels:
            assert g.output == (s.width, s.height)
        else:
            assert math.isclose(ow / oh, s.width / s.height, rel_tol=0.05, abs_tol=2 / oh)
    assert p == plan(
        s, source=(width, height), frames=frames, source_format="gif", out_format=fmt, limits=limits
    )


# --- encoding choices alone: the full-size served copy ------------------------------------
@pytest.mark.parametrize(
    ("query", "identity"),
    [
        ("", True),
        ("format=webp&q=50&bg=000000", True),
        ("format=auto", True),
        ("rotate=360&brightness=1&dpr=2&fit=cover&g=north", True),
        ("w=5", False),
        ("h=5", False),
        ("size=s", False),
        ("size=social", False),
        ("rotate=90", False),
        ("flip=h", False),
        ("brightness=1.1", False),
        ("contrast=0", False),
        ("saturation=2", False),
        ("gamma=0.5", False),
        ("blur=1", False),
        ("sharp=1", False),
    ],
)
def test_only_pixel_changes_change_the_served_copy(query: str, identity: bool) -> None:
    # Format, quality and bg are encoding choices: a query with nothing else plans the original
    # at its own size, with no effect — what the CDN serves without parameters.
    source = (2000, 1500)  # large enough that every size=… shrinks it
    p = make(query, source)
    untouched = p.geometry == Geometry(resize=source, output=source) and p.effects == TransformSpec(
        quality=p.effects.quality
    )
    assert untouched is identity
