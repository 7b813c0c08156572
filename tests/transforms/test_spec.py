"""CDN query parameters → TransformSpec → canonical string (SPEC §5; decisions in spec.py)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpro.transforms.canonical import background, canonical, effective_quality
from imgpro.transforms.negotiate import output_format
from imgpro.transforms.spec import (
    DEFAULT_QUALITY,
    FITS,
    GRAVITIES,
    OUTPUT_FORMATS,
    ParsedQuery,
    TransformSpec,
    parse_query,
)


def parse(query: str) -> ParsedQuery:
    """'w=1&h=2' → parse_query([('w','1'), ('h','2')]); no URL decoding (tests speak raw)."""
    pairs = [p.partition("=") for p in query.split("&") if p]
    return parse_query([(name, value) for name, _, value in pairs])


def spec(query: str) -> TransformSpec:
    return parse(query).spec


def canon(query: str, fmt: str = "jpg") -> str:
    return canonical(spec(query), fmt)


# --- valid values --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ("w=1", "width", 1),
        ("w=500", "width", 500),
        ("w=8192", "width", 8192),
        ("w=0500", "width", 500),
        ("h=1", "height", 1),
        ("h=8192", "height", 8192),
        *[(f"w=1&fit={f}", "fit", f) for f in FITS],
        ("w=1&fit=COVER", "fit", "cover"),
        *[(f"w=1&h=1&fit=cover&g={g}", "gravity", g) for g in GRAVITIES],
        ("w=1&h=1&fit=cover&g=NE", "gravity", "ne"),
        *[(f"format={f}", "format", f) for f in OUTPUT_FORMATS],
        ("format=jpeg", "format", "jpg"),
        ("format=JPEG", "format", "jpg"),
        ("format=WebP", "format", "webp"),
        ("format=auto", "auto_format", True),
        ("q=1", "quality", 1),
        ("q=100", "quality", 100),
        ("quality=75", "quality", 75),
        *[(f"{n}=0", n, 0.0) for n in ("brightness", "contrast", "saturation", "gamma")],
        *[(f"{n}=10", n, 10.0) for n in ("brightness", "contrast", "saturation", "gamma")],
        *[(f"{n}=1.5", n, 1.5) for n in ("brightness", "contrast", "saturation", "gamma")],
        ("brightness=0.25", "brightness", 0.25),
        ("gamma=2.2", "gamma", 2.2),
        ("blur=1", "blur", 1.0),
        ("blur=250", "blur", 250.0),
        ("blur=2.5", "blur", 2.5),
        ("sharp=10", "sharp", 10.0),
        ("sharp=0.5", "sharp", 0.5),
        ("rotate=90", "rotate", 90),
        ("rotate=180", "rotate", 180),
        ("rotate=270", "rotate", 270),
        ("flip=h", "flip", "h"),
        ("flip=v", "flip", "v"),
        ("flip=H", "flip", "h"),
        ("bg=ff0000", "bg", "ff0000"),
        ("bg=FF00AA", "bg", "ff00aa"),
        ("bg=#00ff00", "bg", "00ff00"),
        ("bg=f0a", "bg", "ff00aa"),
        ("bg=#F0A", "bg", "ff00aa"),
        ("size=s", "short_side", 320),
        ("size=m", "short_side", 640),
        ("size=l", "short_side", 1080),
        ("size=L", "short_side", 1080),
    ],
)
def test_valid_values_are_parsed(query: str, field: str, expected: object) -> None:
    parsed = parse(query)
    assert parsed.ignored == ()
    assert getattr(parsed.spec, field) == expected


def test_defaults() -> None:
    s = spec("")
    assert s == TransformSpec()
    assert (s.fit, s.gravity, s.rotate, s.format, s.auto_format) == (
        "scale-down",
        "center",
        0,
        None,
        False,
    )
    assert canonical(s, "jpg") == "f=jpg"


# --- invalid values: ignored, listed, never an error ----------------------------------------
INVALID = {
    "w": ["", "0", "8193", "-1", "+1", "5e2", "500px", "500.0", "1.5", " 500", "500 ",
          "\u0665\u0660\u0660", "\uff15\uff10\uff10", "0x10", "1_000", "99999999999",
          "9" * 5000, "nan", "abc"],
    "h": ["", "0", "8193", "-5", "1e3", "10%"],
    "fit": ["", "fill", "scale_down", "cover ", "côver"],
    "g": ["", "top", "northeast", "centre", "auto"],
    "dpr": ["", "0", "0.5", "0.99", "4.01", "5", "-1", "nan", "inf", "Infinity", "1e0", ".5",
            "1.", "2x", "1,5", "1.1234567"],
    "format": ["", "jpe", "heic", "svg", "bmp", "tiff", "AUTO ", "jpg,webp"],
    "q": ["", "0", "101", "-1", "80.5", "high", "1e2"],
    "quality": ["0", "101", "x"],
    "brightness": ["", "-0.5", "10.01", "11", "nan", "inf", "-inf", "1e1", "+1", "one"],
    "contrast": ["-1", "10.5", "NaN"],
    "saturation": ["-0.1", "100", "1/2"],
    "gamma": ["-1", "10.001", "x"],
    "blur": ["", "0", "0.5", "0.999", "250.01", "251", "-3", "nan"],
    "sharp": ["-1", "10.1", "inf"],
    "rotate": ["", "45", "-90", "450", "720", "90.0", "1", "right"],
    "flip": ["", "x", "hh", "horizontal", "hvh"],
    "bg": ["", "red", "ff00", "ff00zz", "fff0", "ff0000ff", "##ff0000", "#ff00000", "0xff0000",
           " ff0000", "\uff46\uff46\uff46"],
    "size": ["", "xl", "small", "S ", "1080"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, values in INVALID.items() for v in values]
)
def test_invalid_value_is_ignored_and_listed(name: str, value: str) -> None:
    parsed = parse_query([(name, value), ("w", "300")] if name != "w" else [(name, value)])
    assert parsed.ignored == (name,)
    expected = TransformSpec() if name == "w" else TransformSpec(width=300)
    assert parsed.spec == expected


@pytest.mark.parametrize(
    ("name", "listed"),
    [*[(n, n) for n in ("W", "width", "x", "Quality", "resize", "f", "fm")], ("w ", "w%20")],
)
def test_unknown_params_are_ignored_and_listed(name: str, listed: str) -> None:
    parsed = parse_query([(name, "500"), ("h", "10")])
    assert parsed.ignored == (listed,)
    assert parsed.spec == TransformSpec(height=10)


def test_ignored_names_are_sorted_unique_and_header_safe() -> None:
    parsed = parse_query(
        [("zz", "1"), ("aa", "1"), ("zz", "2"), ("w", "x"), ("evil\r\nSet-Cookie: a", "1"),
         ("ü", "1"), ("", "1"), ("a" * 200, "1")]
    )  # fmt: skip
    assert parsed.ignored == tuple(sorted(set(parsed.ignored)))
    assert "evil%0D%0ASet-Cookie%3A%20a" in parsed.ignored
    assert "%C3%BC" in parsed.ignored
    assert "a" * 64 in parsed.ignored
    assert "" not in parsed.ignored
    for name in parsed.ignored:
        assert name.isascii() and name.isprintable() and len(name) <= 64
    assert parse("w=1").ignored == ()
    assert parse("w=x&zz=1").ignored == ("w", "zz")


def test_ignored_list_is_capped() -> None:
    parsed = parse_query([(f"p{i:03}", "1") for i in range(100)])
    assert len(parsed.ignored) == 32


# --- duplicates and aliases -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "width", "ignored"),
    [
        ("w=100&w=200", 200, ("w",)),
        ("w=200&w=100", 100, ("w",)),
        ("w=100&w=100", 100, ()),
        ("w=100&w=bad", None, ("w",)),  # the last value counts, even when invalid
        ("w=bad&w=100", 100, ("w",)),
        ("w=1&w=2&w=1", 1, ("w",)),
    ],
)
def test_repeated_param_last_wins(query: str, width: int | None, ignored: tuple[str]) -> None:
    parsed = parse(query)
    assert parsed.spec.width == width
    assert parsed.ignored == ignored


@pytest.mark.parametrize(
    ("query", "quality", "ignored"),
    [
        ("quality=70", 70, ()),
        ("q=70&quality=70", 70, ()),
        ("q=70&quality=90", 90, ("q",)),
        ("quality=90&q=70", 70, ("quality",)),
        ("q=70&quality=abc", None, ("q", "quality")),
    ],
)
def test_quality_alias_is_the_same_param(
    query: str, quality: int | None, ignored: tuple[str]
) -> None:
    parsed = parse(query)
    assert parsed.spec.quality == quality
    assert parsed.ignored == ignored


def test_format_last_wins_between_auto_and_explicit() -> None:
    assert spec("format=auto&format=webp") == TransformSpec(format="webp")
    assert spec("format=webp&format=auto") == TransformSpec(auto_format=True)


# --- folding: dpr, size, fit/gravity, rotate/flip, no-ops -----------------------------------
@pytest.mark.parametrize(
    ("query", "width", "height"),
    [
        ("w=250&dpr=2", 500, None),
        ("h=250&dpr=2", None, 500),
        ("w=100&h=50&dpr=1.5", 150, 75),
        ("w=3&dpr=1.5", 5, None),  # 4.5 rounds half up
        ("w=1&dpr=1.2", 1, None),
        ("w=333&dpr=1.004", 333, None),  # dpr rounded to 0.01 first
        ("w=100&dpr=1.005", 101, None),  # 1.005 → 1.01, half up
        ("w=8192&dpr=2", 8192, None),  # capped
        ("w=8000&h=4000&dpr=2", 8192, 4096),  # capped together, aspect kept
        ("w=5000&h=1&dpr=4", 8192, 2),
        ("w=500&dpr=1", 500, None),
    ],
)
def test_dpr_is_folded_into_the_box(query: str, width: int | None, height: int | None) -> None:
    s = spec(query)
    assert (s.width, s.height) == (width, height)


def test_dpr_without_box_is_a_silent_no_op() -> None:
    assert parse("dpr=2") == ParsedQuery(TransformSpec(), ())


def test_size_presets() -> None:
    assert spec("size=s&dpr=2") == spec("size=m")
    assert spec("size=l&dpr=4").short_side == 4320
    assert spec("size=s&dpr=1.5").short_side == 480
    assert spec("size=social") == TransformSpec(width=1200, height=630, fit="pad")
    assert spec("size=social&dpr=3&fit=cover&g=north") == spec("size=social")
    assert spec("size=m&fit=cover&g=north") == spec("size=m")


@pytest.mark.parametrize("size", ["s", "m", "l", "social"])
@pytest.mark.parametrize("dims", ["w=400", "h=400", "w=400&h=300"])
def test_explicit_dimensions_win_over_size(size: str, dims: str) -> None:
    parsed = parse(f"size={size}&{dims}")
    assert parsed.ignored == ("size",)
    assert parsed.spec == spec(dims)


def test_fit_and_gravity_only_where_they_matter() -> None:
    assert spec("fit=cover&g=north") == TransformSpec()
    assert spec("w=5&g=north") == TransformSpec(width=5)
    assert spec("w=5&h=5&fit=contain&g=north").gravity == "center"
    assert spec("w=5&h=5&fit=crop&g=north").gravity == "center"
    assert spec("w=5&fit=cover&g=north") == TransformSpec(width=5, fit="cover")
    assert spec("w=5&h=5&fit=cover&g=north").gravity == "north"


@pytest.mark.parametrize(
    ("query", "rotate", "flip"),
    [
        ("rotate=0", 0, None),
        ("rotate=360", 0, None),
        ("rotate=000", 0, None),
        ("flip=hv", 180, None),
        ("flip=vh", 180, None),
        ("rotate=180&flip=hv", 0, None),
        ("rotate=180&flip=h", 0, "v"),
        ("rotate=180&flip=v", 0, "h"),
        ("rotate=90&flip=hv", 270, None),
        ("rotate=270&flip=h", 90, "v"),
        ("rotate=270&flip=v", 90, "h"),
        ("rotate=90&flip=h", 90, "h"),
        ("rotate=270&flip=hv", 90, None),
    ],
)
def test_rotate_and_flip_fold_into_one_symmetry(query: str, rotate: int, flip: str | None) -> None:
    s = spec(query)
    assert (s.rotate, s.flip) == (rotate, flip)


Grid = tuple[tuple[int, ...], ...]


def _render(grid: Grid, rotate: int, flip: str | None) -> Grid:
    """Reference pixels: rotate clockwise, then flip (the pipeline's contract)."""
    for _ in range(rotate // 90):
        grid = tuple(zip(*grid[::-1], strict=True))
    if flip in ("h", "hv"):
        grid = tuple(row[::-1] for row in grid)
    if flip in ("v", "hv"):
        grid = grid[::-1]
    return grid


@pytest.mark.parametrize("rotate", [0, 90, 180, 270, 360])
@pytest.mark.parametrize("flip", [None, "h", "v", "hv"])
def test_rotate_flip_fold_renders_the_same_pixels(rotate: int, flip: str | None) -> None:
    grid: Grid = ((1, 2, 3), (4, 5, 6))  # 3 wide, 2 high: every symmetry is distinguishable
    query = f"rotate={rotate}" + (f"&flip={flip}" if flip else "")
    folded = spec(query)
    assert folded.flip in (None, "h", "v")
    assert _render(grid, folded.rotate, folded.flip) == _render(grid, rotate, flip)


def test_no_op_adjustments_become_none() -> None:
    q = "brightness=1&contrast=1.0&saturation=1.00&gamma=1.004&sharp=0&rotate=360"
    assert parse(q) == ParsedQuery(TransformSpec(), ())
    assert spec("blur=1").blur == 1.0  # blur has no no-op value


def test_decimal_rounding() -> None:
    assert spec("gamma=2.225").gamma == 2.23  # half up on the exact decimal
    assert spec("gamma=9.999").gamma == 10.0
    assert spec("brightness=0.004").brightness == 0.0


# --- TransformSpec built by hand ------------------------------------------------------------
def test_hand_built_spec_is_normalised() -> None:
    assert TransformSpec(fit="cover", gravity="north", rotate=360, brightness=1.0) == (
        TransformSpec()
    )
    assert TransformSpec(format="png", auto_format=True).auto_format is False
    assert TransformSpec(rotate=-90) == TransformSpec(rotate=270)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0},
        {"height": 9000},
        {"short_side": 0},
        {"short_side": 320, "width": 5},
        {"fit": "fill"},
        {"gravity": "top"},
        {"format": "jpeg"},
        {"quality": 0},
        {"rotate": 45},
        {"flip": "x"},
        {"bg": "FFF"},
        {"blur": 0.5},
        {"gamma": float("nan")},
        {"sharp": float("inf")},
    ],
)
def test_hand_built_spec_is_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TransformSpec(**kwargs)


# --- canonical form -------------------------------------------------------------------------
EQUIVALENT = [
    ("w=500&fit=scale-down", "w=500"),
    ("quality=80", "q=80"),
    ("q=70", "quality=70"),
    ("w=250&dpr=2", "w=500"),
    ("h=300&w=500", "w=500&h=300"),
    ("format=jpeg", "format=jpg"),
    ("", "q=80"),  # the jpg default
    ("", "bg=ffffff"),  # jpg flattens/pads on white anyway
    ("", "bg=fff"),
    ("", "g=center"),
    ("", "dpr=2"),
    ("", "fit=cover"),
    ("w=5", "w=5&g=north"),
    ("w=5&h=5&fit=pad", "w=5&h=5&fit=pad&bg=#FFFFFF"),
    ("", "rotate=0&flip=hv&rotate=180"),
    ("rotate=180", "flip=hv"),
    ("", "brightness=1&contrast=1&saturation=1&gamma=1&sharp=0"),
    ("", "zz=1&w=bad"),
    ("size=s&dpr=2", "size=m"),
    ("size=social", "w=1200&h=630&fit=pad"),
    ("size=social", "w=600&h=315&dpr=2&fit=pad"),
    ("w=700", "size=m&w=700"),
    ("gamma=1.5", "gamma=1.50"),
    ("blur=3", "blur=3.001"),
    ("w=500&fit=cover&g=north&h=5", "h=5&g=north&w=500&fit=cover"),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent_queries_share_a_canonical(a: str, b: str) -> None:
    assert canon(a) == canon(b)


DIFFERENT = [
    ("w=500", "w=501"),
    ("w=500", "h=500"),
    ("w=500", "w=500&fit=contain"),
    ("w=5&h=5&fit=cover", "w=5&h=5&fit=crop"),
    ("w=5&h=5&fit=cover", "w=5&h=5&fit=cover&g=north"),
    ("size=s", "w=320"),
    ("size=s", "size=m"),
    ("q=80", "q=81"),
    ("rotate=90", "rotate=270"),
    ("flip=h", "flip=v"),
    ("rotate=90&flip=h", "rotate=90&flip=v"),
    ("brightness=1.5", "contrast=1.5"),
    ("gamma=1.5", "gamma=1.51"),
    ("blur=2", "sharp=2"),
    ("bg=000000", ""),
    ("bg=000000", "bg=000001"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_renders_have_different_canonicals(a: str, b: str) -> None:
    assert canon(a) != canon(b)


def test_canonical_shape() -> None:
    assert canon("w=500&fit=cover&h=300&g=north&format=webp&q=70", "webp") == (
        "w=500,h=300,fit=cover,g=north,f=webp,q=70"
    )
    full = (
        "size=s&dpr=2&rotate=270&flip=h&brightness=1.2&contrast=0.8&saturation=2&gamma=2.2"
        "&blur=3.5&sharp=1&bg=123456&q=90"
    )
    assert canon(full) == (
        "short=640,rotate=90,flip=v,brightness=1.2,contrast=0.8,saturation=2,gamma=2.2,"
        "blur=3.5,sharp=1,bg=123456,f=jpg,q=90"
    )


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_canonical_names_the_format_and_auto_resolves_to_it(fmt: str) -> None:
    assert canon("w=5", fmt).endswith(f"f={fmt}")
    assert canon("w=5&format=auto", fmt) == canon(f"w=5&format={fmt}", fmt) == canon("w=5", fmt)


@pytest.mark.parametrize(
    ("fmt", "default"), [("jpg", 80), ("webp", 80), ("avif", 60), ("png", None), ("gif", None)]
)
def test_quality_per_format(fmt: str, default: int | None) -> None:
    assert effective_quality(spec(""), fmt) == default
    assert DEFAULT_QUALITY.get(fmt) == default
    if default is None:  # lossless: q has no effect
        assert effective_quality(spec("q=30"), fmt) is None
        assert canon("q=30", fmt) == canon("", fmt) == f"f={fmt}"
    else:
        assert effective_quality(spec("q=30"), fmt) == 30
        assert canon(f"q={default}", fmt) == canon("", fmt)
        assert canon("q=30", fmt) == f"f={fmt},q=30"


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "gif"])
def test_bg_with_alpha_formats(fmt: str) -> None:
    # Nothing padded: bg cannot matter. Padded: bg differs from the transparent default.
    assert canon("w=5&bg=ff0000", fmt) == canon("w=5", fmt)
    assert canon("w=5&h=5&fit=pad&bg=ffffff", fmt) != canon("w=5&h=5&fit=pad", fmt)
    assert canon("size=social&bg=000000", fmt) == f"w=1200,h=630,fit=pad,bg=000000,f={fmt}"
    assert background(spec("w=5&h=5&fit=pad"), fmt) is None
    assert background(spec("bg=ff0000"), fmt) == "ff0000"


def test_bg_with_jpeg() -> None:
    assert background(spec(""), "jpg") == "ffffff"
    assert background(spec("bg=000"), "jpg") == "000000"
    assert canon("bg=000000") == "bg=000000,f=jpg"  # an alpha source is flattened on it
    assert canon("w=5&h=5&fit=pad&bg=ffffff") == canon("w=5&h=5&fit=pad")


def test_canonical_rejects_unknown_formats() -> None:
    for bad in ("jpeg", "auto", "svg", ""):
        with pytest.raises(ValueError):
            canonical(TransformSpec(), bad)
        with pytest.raises(ValueError):
            effective_quality(TransformSpec(), bad)


# --- output format --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "path_ext", "source", "expected"),
    [
        ("", "jpg", "jpeg", "jpg"),
        ("", "jpeg", "jpeg", "jpg"),
        ("", "JPG", "png", "jpg"),
        ("", "png", "jpeg", "png"),
        ("", "webp", "png", "webp"),
        ("", "avif", "png", "avif"),
        ("", "gif", "gif", "gif"),
        ("", ".webp", "png", "webp"),
        ("format=png", "jpg", "jpeg", "png"),
        ("format=jpeg", "webp", "png", "jpg"),
        ("format=bad", "webp", "png", "webp"),
        ("", "heic", "heic", "jpg"),  # HEIC serves as JPEG
        ("", "svg", "png", "png"),  # not an output format: fall back to the source's
        ("", "", "webp", "webp"),
        ("", "txt", "heif", "jpg"),
        ("", "bmp", "bmp", "jpg"),
    ],
)
def test_output_format_from_param_path_and_source(
    query: str, path_ext: str, source: str, expected: str
) -> None:
    assert output_format(spec(query), path_ext=path_ext, source_format=source, accept=None) == (
        expected,
        False,
    )


CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
OLD_SAFARI = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CHROME, "avif"),
        (OLD_SAFARI, "webp"),
        ("image/avif", "avif"),
        ("image/webp", "webp"),
        ("IMAGE/AVIF", "avif"),
        ("image/avif;q=0,image/webp", "webp"),
        ("image/avif; q=0.0, image/webp; q=0.5", "webp"),
        ("image/avif;q=0,image/webp;q=0", "jpg"),
        ("image/avif;q=0.5,image/webp;q=0.9", "webp"),  # the client's preference
        ("image/webp;q=0.5,image/avif;q=0.5", "avif"),  # tie: avif
        ("image/avif;q=1.0", "avif"),
        ("image/avif;q=2", "jpg"),  # malformed q: entry skipped
        ("image/avif;q=abc,image/webp", "webp"),
        ("image/avif;level=1;q=0.3", "avif"),
        ("*/*", "jpg"),  # wildcards do not opt in to modern formats
        ("image/*", "jpg"),
        ("image/*,*/*;q=0.8", "jpg"),
        ("image/jpeg", "jpg"),
        ("", "jpg"),
        (None, "jpg"),
        (",,;;,=,q=1", "jpg"),
        ("image/avif" + ",x" * 5000, "avif"),
    ],
)
def test_auto_format_from_accept(accept: str | None, expected: str) -> None:
    result = output_format(spec("format=auto"), path_ext="png", source_format="png", accept=accept)
    assert result == (expected, True)


def test_auto_format_alpha_and_animation() -> None:
    auto = spec("format=auto")

    def pick(accept: str | None, **kw: bool) -> str:
        return output_format(auto, path_ext="jpg", source_format="gif", accept=accept, **kw)[0]

    assert pick("*/*", has_alpha=True) == "png"
    assert pick("image/webp", has_alpha=True) == "webp"
    assert pick("image/avif", has_alpha=True) == "avif"
    assert pick("*/*", animated=True) == "gif"
    assert pick(CHROME, animated=True) == "webp"  # no animated AVIF
    assert pick("image/avif", animated=True) == "gif"
    assert pick("image/avif", animated=True, has_alpha=True) == "gif"


def test_explicit_format_does_not_vary() -> None:
    s = spec("format=webp")
    assert output_format(s, path_ext="jpg", source_format="jpeg", accept=CHROME) == ("webp", False)


# --- properties -----------------------------------------------------------------------------
NAMES = [*INVALID, "zz", "W", ""]
VALUE_POOL = [
    "0", "1", "2", "90", "180", "270", "360", "100", "500", "8192", "8193", "1.5", "2.25",
    "10", "250", "s", "m", "social", "cover", "pad", "crop", "north", "se", "h", "hv", "auto",
    "webp", "jpeg", "ff0000", "#abc", "nan", "inf", "-1", "", "5e2",
]  # fmt: skip
names = st.sampled_from(NAMES) | st.text(max_size=8)
values = st.sampled_from(VALUE_POOL) | st.text(max_size=12)
param_lists = st.lists(st.tuples(names, values), max_size=12)


@settings(max_examples=150, deadline=None)
@given(param_lists)
def test_parse_never_raises_and_canonical_is_deterministic(params: list[tuple[str, str]]) -> None:
    parsed = parse_query(params)
    again = parse_query(list(params))
    assert parsed == again
    assert parsed.ignored == tuple(sorted(set(parsed.ignored)))
    for fmt in OUTPUT_FORMATS:
        text = canonical(parsed.spec, fmt)
        assert text == canonical(again.spec, fmt)
        assert text.isascii() and " " not in text
    # A spec round-trips through its own constructor unchanged (normalisation is idempotent).
    assert dataclasses.replace(parsed.spec) == parsed.spec


def _key(name: str) -> str:
    return "q" if name == "quality" else name


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(names, values), max_size=12, unique_by=lambda p: _key(p[0])),
    st.randoms(use_true_random=False),
)
def test_order_never_matters(params: list[tuple[str, str]], rnd: random.Random) -> None:
    shuffled = list(params)
    rnd.shuffle(shuffled)
    a, b = parse_query(params), parse_query(shuffled)
    assert a == b
    for fmt in OUTPUT_FORMATS:
        assert canonical(a.spec, fmt) == canonical(b.spec, fmt)


# Few names and values, short lists: collisions of the canonical form are frequent here.
small_lists = st.lists(
    st.tuples(st.sampled_from([n for n in NAMES if n]), st.sampled_from(VALUE_POOL)), max_size=4
)


@settings(max_examples=150, deadline=None)
@given(small_lists, small_lists)
def test_canonical_equal_implies_same_render(
    p1: list[tuple[str, str]], p2: list[tuple[str, str]]
) -> None:
    """Soundness: one canonical string never names two different renders."""
    s1, s2 = parse_query(p1).spec, parse_query(p2).spec
    for fmt in OUTPUT_FORMATS:
        if canonical(s1, fmt) != canonical(s2, fmt):
            continue
        pixels: dict[str, Any] = {"format": None, "auto_format": False, "quality": None, "bg": None}
        assert dataclasses.replace(s1, **pixels) == dataclasses.replace(s2, **pixels)
        assert effective_quality(s1, fmt) == effective_quality(s2, fmt)
        if s1.fit == "pad" or fmt == "jpg":
            assert background(s1, fmt) == background(s2, fmt)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=200) | st.none())
def test_output_format_never_raises(ext: str, source: str, accept: str | None) -> None:
    for q in ("", "format=auto", "format=png"):
        fmt, _ = output_format(spec(q), path_ext=ext, source_format=source, accept=accept)
        assert fmt in OUTPUT_FORMATS
