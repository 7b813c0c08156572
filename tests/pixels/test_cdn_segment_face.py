"""segment=foreground and g=face through the whole CDN path (upload, GET, decode)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

import imagegen
from delivery.support import decode, new_image, pages, path_of
from imgpro.imaging.vips import models as vision

from . import scenes


@pytest.mark.parametrize("textured", [False, True], ids=["plain", "textured"])
async def test_segment_matches_the_known_mask(client, textured):
    data, mask = scenes.object_scene(600, 450, textured=textured)
    image = await new_image(client, data)
    r = await client.get(path_of(image, "segment=foreground", ext="png"))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    out = decode(r.content)
    assert out.hasalpha() and (out.width, out.height) == (600, 450)
    assert scenes.iou(out.numpy()[..., 3], mask) >= 0.9


@pytest.mark.parametrize(
    ("query", "ext", "alpha"),
    [
        ("segment=foreground&w=300", "png", True),
        ("segment=foreground&w=300", "webp", True),
        ("segment=foreground&w=200", "avif", True),
        ("segment=foreground&w=300&format=png", "jpg", True),
        ("segment=foreground&w=300&h=300&fit=cover", "png", True),
        ("segment=foreground&rotate=90&flip=h", "png", True),
        ("segment=foreground&w=300", "jpg", False),
        ("segment=FOREGROUND&w=300&bg=000000", "jpg", False),
    ],
)
async def test_segment_combines_with_resize_and_formats(client, query, ext, alpha):
    data, _ = scenes.object_scene(600, 450, textured=False)
    image = await new_image(client, data)
    r = await client.get(path_of(image, query, ext=ext))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers, r.headers
    out = decode(r.content)
    assert bool(out.hasalpha()) is alpha
    corner = [round(v) for v in out.getpoint(3, 3)]
    if alpha:
        assert corner[-1] < 40  # the background is transparent
    else:  # flattened on bg: white by default
        assert corner == ([0, 0, 0] if "bg=000000" in query else [255, 255, 255]), corner


@pytest.mark.parametrize("orientation", [3, 6, 8])
async def test_segment_follows_exif_orientation(client, orientation):
    image = await new_image(client, imagegen.jpeg(120, 80, orientation=orientation))
    plain = decode((await client.get(path_of(image, "", ext="png"))).content)
    cut = decode((await client.get(path_of(image, "segment=foreground", ext="png"))).content)
    assert (cut.width, cut.height) == (plain.width, plain.height) and cut.hasalpha()


async def test_segment_on_an_animation_renders_its_first_frame(client):
    image = await new_image(client, imagegen.gif(120, 90, frames=4), filename="a.gif")
    assert pages((await client.get(path_of(image, "w=60"))).content) == 4
    r = await client.get(path_of(image, "segment=foreground&w=60"))
    assert r.status_code == 200 and pages(r.content) == 1
    assert decode(r.content).hasalpha()


@pytest.mark.parametrize("value", ["background", "", "foreground ", "1", "fg"])
async def test_invalid_segment_values_are_ignored(client, value):
    image = await new_image(client, imagegen.jpeg(64, 48))
    r = await client.get(path_of(image, f"segment={value}&w=32"))
    assert r.status_code == 200 and r.headers["x-img-ignored"] == "segment"
    assert not decode(r.content).hasalpha() and decode(r.content).width == 32


def _faces_in(data: bytes) -> int:
    return len(vision.find_faces(decode(data)))


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("fit", ["cover", "crop"])
async def test_face_crop_keeps_a_face_near_the_edge(client, side, fit):
    image = await new_image(client, scenes.face_near_edge(1200, 400, side=side))
    centred = await client.get(path_of(image, "w=300&h=400&fit=cover"))
    assert _faces_in(centred.content) == 0  # the plain middle of the canvas
    r = await client.get(path_of(image, f"w=300&h=400&fit={fit}&g=face"))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    out = decode(r.content)
    assert (out.width, out.height) == (300, 400)
    assert _faces_in(r.content) >= 1


async def test_face_crop_on_the_real_photo_and_with_formats(client):
    data = scenes.FACE_PHOTO.read_bytes()
    image = await new_image(client, data)
    for query, ext in (
        ("w=180&h=300&fit=crop&g=face", "jpg"),
        ("w=200&h=300&fit=cover&g=face&format=webp", "jpg"),
        ("w=300&h=200&fit=cover&g=face&rotate=90", "png"),
    ):
        r = await client.get(path_of(image, query, ext=ext))
        assert r.status_code == 200 and "x-img-ignored" not in r.headers
        out = decode(r.content)
        if "rotate" in query:
            out = out.rot("d270")  # faces are upright again
        assert len(vision.find_faces(out)) >= 1, query


async def test_face_crop_without_faces_falls_back_to_saliency(client):
    # A plain canvas with one bright detail near the right edge: saliency keeps it.
    canvas = np.full((200, 800, 3), 90, dtype=np.uint8)
    canvas[60:140, 700:780] = (250, 40, 40)
    data = bytes(pyvips.Image.new_from_array(canvas, interpretation="srgb").pngsave_buffer())
    image = await new_image(client, data, filename="s.png")
    out = decode((await client.get(path_of(image, "w=200&h=200&fit=cover&g=face"))).content)
    red = out.numpy()[..., 0].astype(int) - out.numpy()[..., 1].astype(int)
    assert (red > 150).sum() > 2000


async def test_face_crop_on_an_animation_crops_every_frame_alike(client):
    image = await new_image(client, imagegen.gif(200, 80, frames=3), filename="a.gif")
    r = await client.get(path_of(image, "w=60&h=60&fit=cover&g=face"))
    assert r.status_code == 200 and pages(r.content) == 3


@pytest.mark.parametrize(
    ("query", "ignored"),
    [
        ("g=faces&w=50&h=50&fit=cover", "g"),
        ("g=FACE&w=50&h=50&fit=cover", None),
        ("g=face&w=50", None),  # valid, without effect (no box to trim)
        ("g=face&fit=pad&w=50&h=50", None),
    ],
)
async def test_g_face_values(client, query, ignored):
    image = await new_image(client, imagegen.jpeg(120, 80))
    r = await client.get(path_of(image, query))
    assert r.status_code == 200 and r.headers.get("x-img-ignored") == ignored
