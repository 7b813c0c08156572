"""pipeline.render() on real images: sizes, formats, orientation, colour, alpha, animation,
effects and limits. Assertions are on dimensions, formats and pixel similarity, not bytes."""

from __future__ import annotations

import time
from itertools import product
from pathlib import Path

import pytest
import pyvips

import imagegen
from imgpro.errors import ImageTooLarge, InvalidImage
from imgpro.imaging import vips
from imgpro.imaging.probe import Probe
from imgpro.transforms import pipeline
from imgpro.transforms.sizes import named_size
from imgpro.transforms.spec import TransformSpec

from .conftest import FIXTURES, LIMITS, Render, pages, probe_path

FITS = ("scale-down", "contain", "cover", "crop", "pad")
OUTPUTS = ("jpg", "png", "webp", "avif", "gif")
LOADER = {
    "jpg": "jpegload",
    "png": "pngload",
    "webp": "webpload",
    "avif": "heifload",
    "gif": "gifload",
}
PRIVATE_FIELD_PREFIXES = ("exif", "xmp", "iptc", "icc", "gps", "orientation")


def _scene_png(w: int, h: int) -> bytes:
    return bytes(imagegen.scene(w, h).pngsave_buffer())


# --- exact output size: every fit x source orientation x box shape -------------------------
SOURCES = {
    "landscape": imagegen.jpeg(80, 60),
    "portrait": imagegen.jpeg(60, 80),
    "square": imagegen.jpeg(60, 60),
    "landscape-exif6": imagegen.jpeg(80, 60, orientation=6),  # stored 60x80, shown 80x60
}
BOXES = ("w=40&h=20", "w=20&h=40", "w=30&h=30", "w=160&h=100", "w=40", "h=40")
EXPECTED_BOX = {
    "w=40&h=20": (40, 20),
    "w=20&h=40": (20, 40),
    "w=30&h=30": (30, 30),
    "w=160&h=100": (160, 100),
}


@pytest.mark.parametrize(("source", "box", "fit"), list(product(SOURCES, BOXES, FITS)))
def test_exact_output_size(render: Render, source: str, box: str, fit: str) -> None:
    out = render(SOURCES[source], f"{box}&fit={fit}")
    assert out.size == out.plan.geometry.output
    if fit in ("cover", "crop", "pad") and box in EXPECTED_BOX:
        assert out.size == EXPECTED_BOX[box]
    shown = (
        (80, 60)
        if source.startswith("landscape")
        else (60, 80)
        if source == "portrait"
        else (60, 60)
    )
    if fit == "scale-down":
        assert out.size[0] <= shown[0] and out.size[1] <= shown[1]  # never enlarged


@pytest.mark.parametrize(("box", "fit"), list(product(("w=40&h=20", "w=20&h=40"), FITS)))
def test_exact_output_size_with_rotate(render: Render, box: str, fit: str) -> None:
    upright = render(SOURCES["landscape"], f"{box}&fit={fit}")
    rotated = render(SOURCES["portrait"], f"{box}&fit={fit}&rotate=270")
    assert rotated.size == upright.size  # w/h are the output's axes


@pytest.mark.parametrize("name", ["s", "m", "l"])
def test_named_sizes_on_real_orientation_files(render: Render, name: str) -> None:
    for file, shown in [("Landscape_6.jpg", (1800, 1200)), ("Portrait_6.jpg", (1200, 1800))]:
        out = render(FIXTURES / file, f"size={name}&q=40")
        assert out.size == named_size(*shown, name)


def test_social_is_exactly_1200x630(render: Render) -> None:
    for source in (imagegen.jpeg(80, 60), imagegen.png(30, 90, alpha=True)):
        out = render(source, "size=social")
        assert out.size == (1200, 630)


# --- formats ---------------------------------------------------------------------------------
INPUTS = {
    "jpeg": imagegen.jpeg(64, 48),
    "png": imagegen.png(64, 48),
    "gif": imagegen.gif(64, 48),
    "webp": imagegen.webp(64, 48),
    "avif": imagegen.avif(64, 48),
    "heic": imagegen.heic(64, 48),
}


@pytest.mark.parametrize(("source", "out_format"), list(product(INPUTS, OUTPUTS)))
def test_format_matrix(render: Render, source: str, out_format: str) -> None:
    out = render(INPUTS[source], "w=32", out_format)
    assert out.image.get("vips-loader").startswith(LOADER[out_format])
    assert out.size == (32, 24)
    assert imagegen.similarity(out.data, INPUTS[source]) > 0.93


@pytest.mark.parametrize("out_format", OUTPUTS)
def test_no_parameters_is_the_original_size_without_metadata(
    render: Render, out_format: str
) -> None:
    source = pyvips.Image.new_from_file(str(FIXTURES / "DSCN0010_gps.jpg"))
    assert any(f.startswith("exif-ifd3-GPS") for f in source.get_fields())
    out = render(FIXTURES / "DSCN0010_gps.jpg", "", out_format)
    assert out.size == (source.width, source.height)
    assert [f for f in out.image.get_fields() if f.startswith(PRIVATE_FIELD_PREFIXES)] == []
    assert out.image.interpretation in ("srgb", "b-w")


# --- orientation, colour, bit depth ------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_before_resizing(render: Render, orientation: int) -> None:
    out = render(imagegen.jpeg(64, 48, orientation=orientation), "w=32", "png")
    assert out.size == (32, 24)
    assert imagegen.similarity(out.data, imagegen.jpeg(64, 48)) > 0.96


def test_real_orientation_files_show_the_same_scene(render: Render) -> None:
    upright = render(FIXTURES / "Landscape_1.jpg", "w=300").data
    for name in ("Landscape_3.jpg", "Landscape_6.jpg", "Landscape_8.jpg"):
        out = render(FIXTURES / name, "w=300")
        assert out.size == (300, 200)
        assert imagegen.similarity(out.data, upright) > 0.95, name


@pytest.mark.parametrize(("rotate", "flip"), list(product((0, 90, 180, 270), (None, "h", "v"))))
def test_rotate_clockwise_then_flip(render: Render, rotate: int, flip: str | None) -> None:
    scene = imagegen.scene(64, 48)
    reference = scene.rot(f"d{rotate}") if rotate else scene
    if flip == "h":
        reference = reference.fliphor()
    elif flip == "v":
        reference = reference.flipver()
    query = f"rotate={rotate}" + (f"&flip={flip}" if flip else "")
    out = render(_scene_png(64, 48), query, "png")
    assert out.size == (reference.width, reference.height)
    assert (out.image - reference).abs().max() == 0  # lossless and exact


def test_cmyk_jpeg_becomes_srgb(render: Render) -> None:
    out = render(imagegen.jpeg(64, 48, cmyk=True), "w=32", "jpg")
    assert (out.image.bands, out.image.interpretation) == (3, "srgb")
    assert imagegen.similarity(out.data, imagegen.jpeg(64, 48)) > 0.94


def test_sixteen_bit_png_becomes_eight_bit(render: Render) -> None:
    out = render(imagegen.png(60, 40, sixteen_bit=True), "w=30", "png")
    assert (out.image.format, out.image.interpretation, out.size) == ("uchar", "srgb", (30, 20))
    assert imagegen.similarity(out.data, imagegen.png(60, 40)) > 0.98


def test_iphone_heic(render: Render) -> None:
    out = render(FIXTURES / "IMG_5195.HEIC", "size=m")  # served as JPEG
    assert out.image.get("vips-loader") == "jpegload_buffer"
    assert out.size == named_size(2566, 3313, "m") == (640, 826)
    assert [f for f in out.image.get_fields() if f.startswith(PRIVATE_FIELD_PREFIXES)] == []


# --- alpha -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [imagegen.png(40, 20, alpha=True), imagegen.webp(40, 20, alpha=True)],
    ids=["png", "webp"],
)
@pytest.mark.parametrize("out_format", ["png", "webp", "avif"])
def test_alpha_is_kept(render: Render, source: bytes, out_format: str) -> None:
    out = render(source, "w=20", out_format)
    assert out.image.hasalpha()
    alpha = out.image.extract_band(out.image.bands - 1)
    assert alpha.crop(0, 0, 4, 10).min() > 240  # opaque left
    assert alpha.crop(19, 0, 1, 10).max() < 40  # transparent right edge


def test_alpha_flattens_on_bg_for_jpeg(render: Render) -> None:
    source = imagegen.png(40, 20, alpha=True)
    white = render(source, "", "jpg").image
    assert white.bands == 3 and white.crop(39, 0, 1, 20).min() > 235
    red = render(source, "bg=ff0000", "jpg").image
    r, g, b = (red.crop(39, 0, 1, 20)[i].avg() for i in range(3))
    assert r > 230 and g < 30 and b < 30


def test_pad_colours(render: Render) -> None:
    source = imagegen.png(80, 40)  # opaque; padded above and below to 80x80
    transparent = render(source, "w=80&h=80&fit=pad", "png").image
    assert transparent.bands == 4 and transparent.extract_band(3).crop(0, 0, 80, 10).max() == 0
    red = render(source, "w=80&h=80&fit=pad&bg=ff0000", "png").image
    assert red.bands == 3 and red.getpoint(0, 0) == red.getpoint(79, 79) == [255.0, 0.0, 0.0]
    jpg = render(source, "w=80&h=80&fit=pad", "jpg").image
    assert jpg.crop(0, 0, 80, 15).min() > 240  # white bars
    centre = jpg.crop(0, 30, 80, 20)  # the picture itself is centred
    assert centre.avg() < 200


def test_grey_source_padded_with_a_colour(render: Render) -> None:
    grey = bytes(imagegen.scene(40, 20).colourspace("b-w").pngsave_buffer())
    out = render(grey, "w=40&h=40&fit=pad&bg=00ff00", "png").image
    assert out.bands >= 3
    assert out.getpoint(0, 0)[:3] == [0.0, 255.0, 0.0]


# --- cover gravity and saliency crop -----------------------------------------------------------
def test_cover_gravity_chooses_what_is_kept(render: Render) -> None:
    source = _scene_png(80, 40)  # green marker in the top-left 20x10
    green = [20.0, 220.0, 60.0]
    west = render(source, "w=40&h=40&fit=cover&g=west", "png").image
    east = render(source, "w=40&h=40&fit=cover&g=east", "png").image
    assert west.getpoint(3, 3) == green
    assert east.getpoint(3, 3) != green


def test_crop_finds_the_interesting_part(render: Render) -> None:
    flat = pyvips.Image.black(240, 80).new_from_image([128, 128, 128]).copy(interpretation="srgb")
    busy = flat.insert(imagegen.scene(40, 40), 190, 20).cast("uchar")  # detail on the right
    source = bytes(busy.pngsave_buffer())
    crop = render(source, "w=80&h=80&fit=crop", "png")
    cover = render(source, "w=80&h=80&fit=cover", "png")
    assert crop.size == cover.size == (80, 80)
    assert crop.image.deviate() > 20 > cover.image.deviate()  # the detail, not flat grey


# --- effects ---------------------------------------------------------------------------------
def _mean(out: pyvips.Image) -> float:
    return float(out.extract_band(0, n=3).avg())


def test_adjustments(render: Render) -> None:
    source = _scene_png(64, 48)
    base = render(source, "", "png").image
    assert _mean(render(source, "brightness=1.5", "png").image) > _mean(base) + 20
    assert _mean(render(source, "brightness=0.5", "png").image) < _mean(base) - 20
    assert _mean(render(source, "gamma=2", "png").image) > _mean(base) + 20
    assert render(source, "contrast=0", "png").image.deviate() < 1
    assert render(source, "contrast=2", "png").image.deviate() > base.deviate()
    grey = render(source, "saturation=0", "png").image
    assert (grey[0] - grey[1]).abs().max() <= 3 and (grey[1] - grey[2]).abs().max() <= 3
    vivid = render(source, "saturation=2", "png").image
    assert (vivid[0] - vivid[2]).abs().avg() > (base[0] - base[2]).abs().avg()
    assert render(source, "brightness=0", "png").image.max() == 0
    assert render(source, "gamma=0", "png").data  # the edge of the range still renders


def _edges(im: pyvips.Image) -> float:
    return float(im.extract_band(0, n=3).colourspace("b-w").sobel().avg())


def _noisy(w: int, h: int) -> pyvips.Image:
    return (imagegen.scene(w, h) + pyvips.Image.gaussnoise(w, h, sigma=30)).cast("uchar")


def test_blur_and_sharpen(render: Render) -> None:
    noisy = bytes(_noisy(200, 150).pngsave_buffer())
    base = _edges(render(noisy, "", "png").image)
    assert _edges(render(noisy, "blur=3", "png").image) < base * 0.2
    smooth = imagegen.jpeg(200, 150)
    assert (
        _edges(render(smooth, "sharp=5", "png").image)
        > _edges(render(smooth, "", "png").image) * 1.1
    )


def test_wide_blur_matches_a_direct_gaussian(render: Render) -> None:
    # Wide blurs run on a reduced copy (see vips.blur): same picture, a fraction of the work.
    noisy = _noisy(400, 300)
    direct = bytes(noisy.gaussblur(100).cast("uchar").pngsave_buffer())
    out = render(bytes(noisy.pngsave_buffer()), "blur=100", "png")
    assert out.size == (400, 300)
    assert imagegen.similarity(out.data, direct, size=64) > 0.98


def test_wide_blur_is_cheap_and_keeps_the_size(render: Render) -> None:
    source = imagegen.jpeg(1200, 900)
    started = time.monotonic()
    out = render(source, "blur=250", "jpg")
    assert time.monotonic() - started < 5  # a decode of the bomb would take minutes
    assert out.size == (1200, 900)


def test_blur_keeps_alpha_clean(render: Render) -> None:
    out = render(imagegen.png(40, 20, alpha=True), "blur=2", "png").image
    assert out.hasalpha() and out.bands == 4


def test_everything_combines(render: Render) -> None:
    query = (
        "w=50&h=40&fit=cover&g=ne&rotate=90&flip=h&brightness=1.2&contrast=1.1"
        "&saturation=1.3&gamma=0.9&blur=1.5&sharp=2&q=70&bg=112233"
    )
    out = render(imagegen.png(90, 60, alpha=True), query, "jpg")
    assert out.size == (50, 40)
    assert out.trace == [
        "check",
        "load",
        "crop",
        "orient",
        "adjust",
        "blur",
        "sharpen",
        "flatten",
        "encode",
    ]


def test_quality(render: Render) -> None:
    source = imagegen.jpeg(200, 150)
    for fmt in ("jpg", "webp", "avif"):
        low, high = render(source, "q=10", fmt).data, render(source, "q=95", fmt).data
        assert len(low) < len(high), fmt


# --- animation -------------------------------------------------------------------------------
def test_animated_gif_to_webp_stays_animated(render: Render) -> None:
    out = render(imagegen.gif(40, 30, frames=3), "w=20", "webp")
    assert pages(out.image) == 3 and out.size == (20, 15)
    assert out.image.get("page-height") == 15
    assert list(out.image.get("delay")) == [80, 80, 80]


@pytest.mark.parametrize(
    ("out_format", "frames"), [("gif", 4), ("webp", 4), ("jpg", 1), ("png", 1), ("avif", 1)]
)
def test_animated_webp(render: Render, out_format: str, frames: int) -> None:
    out = render(
        imagegen.webp(40, 30, frames=4, alpha=True), "w=20&h=20&fit=cover&rotate=90", out_format
    )
    assert pages(out.image) == frames and out.size == (20, 20)


def test_animation_frame_limit(render: Render) -> None:
    source = imagegen.gif(20, 10, frames=3)
    assert pages(render(source, "", "gif").image) == 3
    limits = pipeline.Limits(max_pixels=LIMITS.max_pixels, max_frames=2)
    assert pages(render(source, "", "webp", limits=limits).image) == 2
    # The source (600 px in all) is within the limit; 20x15 output frames (300 px) are not
    # all: frames are dropped from the end, the requested size is kept.
    by_pixels = pipeline.Limits(max_pixels=650, max_frames=10)
    out = render(source, "w=20&h=15&fit=pad", "gif", limits=by_pixels)
    assert pages(out.image) == 2 and out.size == (20, 15)


# --- limits and damage ---------------------------------------------------------------------------
def test_output_pixel_limit(render: Render) -> None:
    limits = pipeline.Limits(max_pixels=5_000, max_frames=10)
    out = render(imagegen.jpeg(64, 48), "w=1000&fit=contain", "png", limits=limits)
    assert out.size[0] * out.size[1] <= 5_000


def test_decompression_bomb_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(imagegen.png_bomb())  # 100000 x 100000 in a few hundred bytes
    decoded: list[object] = []
    monkeypatch.setattr(vips, "load", lambda *a, **k: decoded.append(a))

    def attempt(claimed: tuple[int, int]) -> None:
        probe = Probe(
            source_format="png",
            format="png",
            mime="image/png",
            width=claimed[0],
            height=claimed[1],
            frames=1,
            transformable=True,
        )
        plan = pipeline.plan(
            TransformSpec(width=100),
            source=claimed,
            frames=1,
            source_format="png",
            out_format="png",
            limits=LIMITS,
        )
        pipeline.render(bomb, probe, plan, LIMITS)

    with pytest.raises(ImageTooLarge):
        attempt((100_000, 100_000))  # the truth: over the limit
    with pytest.raises(ImageTooLarge):
        attempt((64, 48))  # a row that lies about it
    assert decoded == []


def test_file_that_is_not_what_was_probed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "swapped"
    path.write_bytes(imagegen.png(64, 48))
    probe = Probe(
        source_format="png",
        format="png",
        mime="image/png",
        width=32,
        height=24,
        frames=1,
        transformable=True,
    )
    plan = pipeline.plan(
        TransformSpec(),
        source=(32, 24),
        frames=1,
        source_format="png",
        out_format="png",
        limits=LIMITS,
    )
    with pytest.raises(InvalidImage):
        pipeline.render(path, probe, plan, LIMITS)


def test_damaged_file_fails_with_invalid_image(tmp_path: Path) -> None:
    data = imagegen.jpeg(256, 192)
    path = tmp_path / "damaged.jpg"
    path.write_bytes(data)
    probe = probe_path(path)
    path.write_bytes(imagegen.truncated(data))
    plan = pipeline.plan(
        TransformSpec(width=100),
        source=(256, 192),
        frames=1,
        source_format="jpeg",
        out_format="jpg",
        limits=LIMITS,
    )
    with pytest.raises(InvalidImage):
        pipeline.render(path, probe, plan, LIMITS)
