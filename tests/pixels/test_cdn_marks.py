"""Watermarks through the CDN: same-workspace only, rendered as a variant of the mark, and a
deleted mark makes marked URLs render without it."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

import imagegen
from delivery.support import decode, new_image, owner, pages, path_of


def _logo() -> bytes:
    """A solid red square mark, opaque."""
    im = pyvips.Image.black(100, 100).new_from_image([255, 0, 0]).copy(interpretation="srgb")
    return bytes(im.cast("uchar").pngsave_buffer())


def _base() -> bytes:
    im = pyvips.Image.black(400, 300).new_from_image([20, 200, 20]).copy(interpretation="srgb")
    return bytes(im.cast("uchar").pngsave_buffer())


def _red(out: pyvips.Image) -> np.ndarray:
    px = out.numpy().astype(int)
    return np.asarray((px[..., 0] - px[..., 1]) > 60)


async def test_mark_goes_in_the_corner_with_its_size_and_alpha(client, services):
    headers = await owner(services)
    base = await new_image(client, _base(), filename="b.png", headers=headers)
    mark = await new_image(client, _logo(), filename="m.png", headers=headers)
    r = await client.get(path_of(base, f"mark={mark['id']}&mark_w=0.25&mark_pad=10"))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    red = _red(decode(r.content))
    ys, xs = np.nonzero(red)
    # 25 % of 400 = 100 px square, 10 px from the bottom-right corner.
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (290, 389, 190, 289)
    r = await client.get(path_of(base, f"mark={mark['id']}&mark_g=nw&mark_alpha=0.5"))
    out = decode(r.content)
    ys, xs = np.nonzero(np.abs(out.numpy().astype(int) - [20, 200, 20]).sum(axis=-1) > 60)
    assert (xs.min(), ys.min()) == (16, 16) and xs.max() == 16 + 80 - 1
    r_, g_ = out.getpoint(50, 50)[:2]
    assert 120 < r_ < 140 and 90 < g_ < 115  # half red over green


@pytest.mark.parametrize(
    ("ext", "query"),
    [
        ("jpg", ""),
        ("webp", "w=200"),
        ("avif", "w=200"),
        ("png", "w=200&h=100&fit=pad&bg=0000ff"),
        ("png", "segment=foreground&w=200"),
    ],
)
async def test_mark_with_formats_resize_and_segment(client, services, ext, query):
    headers = await owner(services)
    base = await new_image(client, _base(), filename="b.png", headers=headers)
    mark = await new_image(client, _logo(), filename="m.png", headers=headers)
    r = await client.get(path_of(base, f"{query}&mark={mark['id']}".lstrip("&"), ext=ext))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    assert (
        _red(
            decode(r.content).flatten() if decode(r.content).hasalpha() else decode(r.content)
        ).sum()
        > 100
    )


async def test_mark_on_an_animation_marks_every_frame(client, services):
    headers = await owner(services)
    base = await new_image(
        client, imagegen.gif(200, 100, frames=3), filename="a.gif", headers=headers
    )
    mark = await new_image(client, _logo(), filename="m.png", headers=headers)
    r = await client.get(path_of(base, f"mark={mark['id']}&mark_w=0.5"))
    assert r.status_code == 200 and pages(r.content) == 3


async def test_another_workspaces_or_a_missing_mark_is_ignored(client, services):
    mine, theirs = await owner(services), await owner(services)
    base = await new_image(client, _base(), filename="b.png", headers=mine)
    foreign = await new_image(client, _logo(), filename="m.png", headers=theirs)
    plain = await client.get(path_of(base))
    for mark_id in (foreign["id"], "zz99zz99", "no/such"):
        r = await client.get(path_of(base, f"mark={mark_id}"))
        assert r.status_code == 200 and r.headers["x-img-ignored"] == "mark"
        assert r.content == plain.content and r.headers["etag"] == plain.headers["etag"]


async def test_deleting_the_mark_renders_marked_urls_without_it(client, services):
    headers = await owner(services)
    base = await new_image(client, _base(), filename="b.png", headers=headers)
    mark = await new_image(client, _logo(), filename="m.png", headers=headers)
    url = path_of(base, f"mark={mark['id']}")
    marked = await client.get(url)
    assert _red(decode(marked.content)).sum() > 100
    deleted = await client.delete(f"/v1/images/{mark['id']}", headers=headers)
    assert deleted.status_code in (200, 204)
    after = await client.get(url)
    assert after.status_code == 200 and after.headers["x-img-ignored"] == "mark"
    assert _red(decode(after.content)).sum() == 0
    assert after.headers["etag"] != marked.headers["etag"]


@pytest.mark.parametrize(
    ("query", "ignored"),
    [
        ("mark_w=2", "mark_w"),
        ("mark_w=0", "mark_w"),
        ("mark_alpha=1.5", "mark_alpha"),
        ("mark_alpha=-1", "mark_alpha"),
        ("mark_pad=x", "mark_pad"),
        ("mark_pad=5000", "mark_pad"),
        ("mark_g=face", "mark_g"),
        ("mark_g=up", "mark_g"),
        ("mark_w=0.01", None),
        ("mark_alpha=0", None),
        ("mark_pad=0", None),
        ("mark_g=SW", None),
    ],
)
async def test_mark_parameters_and_their_invalid_values(client, services, query, ignored):
    headers = await owner(services)
    base = await new_image(client, _base(), filename="b.png", headers=headers)
    mark = await new_image(client, _logo(), filename="m.png", headers=headers)
    r = await client.get(path_of(base, f"mark={mark['id']}&{query}"))
    assert r.status_code == 200 and r.headers.get("x-img-ignored") == ignored
