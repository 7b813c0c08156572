"""The CDN face over HTTP: sizes, formats, headers, canonical variants, single-flight, 404s."""

from __future__ import annotations

import asyncio
import re

import pytest

import imagegen
from imgpro.transforms.sizes import SOCIAL_SIZE

from .support import decode, new_image, owner, pages, path_of

STRONG_ETAG = re.compile(r'"[0-9a-f]{32}"')


def renders(app) -> int:
    return app.state.renderer.renders


async def variant_keys(services, image) -> list[str]:
    return [k async for k in services.blobs.iter_keys(f"variants/{image['id']}/")]


# -- what the Image object promised -----------------------------------------------------------


@pytest.mark.parametrize("dims", [(900, 600), (500, 760)], ids=["landscape", "portrait"])
async def test_sizes_are_exactly_what_the_image_object_promised(client, services, dims):
    image = await new_image(client, imagegen.jpeg(*dims))
    assert set(image["sizes"]) == {"small", "medium", "large"}
    for promised in image["sizes"].values():
        r = await client.get(promised["url"].removeprefix("http://testserver"))
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        im = decode(r.content)
        assert (im.width, im.height) == (promised["width"], promised["height"])
    r = await client.get(path_of(image, "size=social"))
    assert (decode(r.content).width, decode(r.content).height) == SOCIAL_SIZE


async def test_no_parameters_is_the_upright_original_without_metadata(client, services):
    image = await new_image(client, imagegen.jpeg(64, 48, orientation=6))
    r = await client.get(path_of(image))
    im = decode(r.content)
    assert (im.width, im.height) == (64, 48) == (image["width"], image["height"])
    assert not [f for f in im.get_fields() if f.startswith(("exif", "orientation", "icc"))]
    assert imagegen.similarity(r.content, imagegen.jpeg(64, 48)) > 0.95


async def test_transforms_combine(client, services):
    image = await new_image(client, imagegen.png(90, 60, alpha=True), filename="a.png")
    r = await client.get(
        path_of(
            image,
            "w=40&h=50&fit=cover&g=east&rotate=90&flip=h&"
            "brightness=1.2&contrast=1.1&saturation=0.5&gamma=1.1&"
            "blur=1&sharp=1&format=webp&q=70",
        )
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    im = decode(r.content)
    assert (im.width, im.height) == (40, 50) and im.hasalpha()


# -- headers ----------------------------------------------------------------------------------


async def test_headers_head_and_conditional_get(client, services):
    image = await new_image(client, imagegen.jpeg(64, 48))
    path = path_of(image, "w=32")
    r = await client.get(path)
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert STRONG_ETAG.fullmatch(etag)
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "image/jpeg"
    assert int(r.headers["content-length"]) == len(r.content)
    assert "x-robots-tag" not in r.headers and "x-img-ignored" not in r.headers

    head = await client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert {k: head.headers[k] for k in ("etag", "content-length", "content-type")} == {
        k: r.headers[k] for k in ("etag", "content-length", "content-type")
    }

    for inm in (etag, f'"nope", W/{etag}', "*"):
        again = await client.get(path, headers={"If-None-Match": inm})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"].endswith("immutable")
    miss = await client.get(path, headers={"If-None-Match": '"0000"'})
    assert miss.status_code == 200 and miss.content == r.content
    # Another variant of the same image has another ETag.
    assert (await client.get(path_of(image, "w=31"))).headers["etag"] != etag


async def test_private_images_are_noindex(client, services):
    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(32, 24), headers=headers)
    r = await client.patch(f"/v1/images/{image['id']}", headers=headers, json={"public": False})
    assert r.status_code == 200
    for path in (path_of(image), path_of(image, "w=10")):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["x-robots-tag"] == "noindex"


async def test_invalid_values_are_ignored_and_listed(client, services):
    image = await new_image(client, imagegen.jpeg(64, 48))
    r = await client.get(path_of(image, "w=abc&h=24&fit=bogus&zz=1&q=0&rotate=45&bg=red"))
    assert r.status_code == 200
    assert r.headers["x-img-ignored"] == "bg, fit, q, rotate, w, zz"
    im = decode(r.content)
    assert (im.width, im.height) == (32, 24)
    clean = await client.get(path_of(image, "h=24"))
    assert clean.headers["etag"] == r.headers["etag"]  # ignored values: the same variant


# -- formats ----------------------------------------------------------------------------------


async def test_path_extension_and_format_parameter(client, services, app):
    image = await new_image(client, imagegen.jpeg(64, 48))
    cases = [
        (path_of(image, ext="png"), "image/png"),
        (path_of(image, ext="webp"), "image/webp"),
        (path_of(image, ext="jpeg"), "image/jpeg"),
        (path_of(image, ext="JPG"), "image/jpeg"),
        (path_of(image, "format=gif"), "image/gif"),
        (path_of(image, "format=avif&w=16"), "image/avif"),
        (path_of(image, "format=png", ext="webp"), "image/png"),
    ]
    for path, mime in cases:
        r = await client.get(path)
        assert (r.status_code, r.headers["content-type"]) == (200, mime), path
        assert "vary" not in r.headers
    for bad in ("tiff", "svg", "heic", ""):
        assert (await client.get(path_of(image, ext=bad))).status_code == 404


@pytest.mark.parametrize(
    ("accept", "mime"),
    [
        ("image/avif,image/webp,*/*", "image/avif"),
        ("image/webp,image/*;q=0.8", "image/webp"),
        ("image/avif;q=0.5,image/webp", "image/webp"),
        ("*/*", "image/jpeg"),
        (None, "image/jpeg"),
    ],
)
async def test_format_auto_follows_accept(client, services, accept, mime):
    image = await new_image(client, imagegen.jpeg(32, 24))
    headers = {"Accept": accept} if accept else {}
    r = await client.get(path_of(image, "format=auto"), headers=headers)
    assert r.headers["content-type"] == mime and r.headers["vary"] == "Accept"
    explicit = await client.get(path_of(image, f"format={mime.split('/')[1]}"))
    expected_etag = (
        explicit.headers["etag"]
        if mime != "image/jpeg"
        else (await client.get(path_of(image))).headers["etag"]
    )
    assert r.headers["etag"] == expected_etag  # auto shares the explicit format's variant
    r304 = await client.get(
        path_of(image, "format=auto"), headers={**headers, "If-None-Match": r.headers["etag"]}
    )
    assert r304.status_code == 304 and r304.headers["vary"] == "Accept"


async def test_format_auto_keeps_alpha_and_animation_for_old_clients(client, services):
    alpha = await new_image(client, imagegen.png(32, 24, alpha=True), filename="a.png")
    r = await client.get(path_of(alpha, "format=auto", ext="jpg"), headers={"Accept": "*/*"})
    assert r.headers["content-type"] == "image/png"
    opaque = await new_image(client, imagegen.png(32, 24), filename="o.png")
    r = await client.get(path_of(opaque, "format=auto"), headers={"Accept": "*/*"})
    assert r.headers["content-type"] == "image/jpeg"
    anim = await new_image(client, imagegen.gif(32, 24, frames=3), filename="a.gif")
    r = await client.get(path_of(anim, "format=auto"), headers={"Accept": "image/avif,*/*"})
    assert r.headers["content-type"] == "image/gif" and pages(r.content) == 3


async def test_heic_serves_as_jpeg_and_animations_stay_animated(client, services):
    heic = await new_image(client, imagegen.heic(64, 48), filename="x.heic")
    assert heic["url"].endswith(".jpg")
    r = await client.get(path_of(heic, "w=32"))
    assert r.headers["content-type"] == "image/jpeg" and decode(r.content).width == 32
    anim = await new_image(client, imagegen.gif(40, 30, frames=3), filename="a.gif")
    r = await client.get(path_of(anim, "w=20&format=webp"))
    assert r.headers["content-type"] == "image/webp" and pages(r.content) == 3
    r = await client.get(path_of(anim, "w=20"))
    assert pages(r.content) == 3
    r = await client.get(path_of(anim, "w=20", ext="png"))
    assert pages(r.content) == 1


async def test_svg_bmp_ico_are_served_as_stored(client, services):
    for data, fmt, mime in [
        (imagegen.svg(), "svg", "image/svg+xml"),
        (imagegen.bmp(), "bmp", "image/bmp"),
        (imagegen.ico(), "ico", "image/x-icon"),
    ]:
        image = await new_image(client, data, filename=f"x.{fmt}")
        r = await client.get(path_of(image, "w=10&format=png"))
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == mime
        assert r.headers["x-img-ignored"] == "format, w"
        assert STRONG_ETAG.fullmatch(r.headers["etag"]) is None  # the original's own hash
        if fmt == "svg":
            assert r.headers["content-security-policy"] == (
                "default-src 'none'; style-src 'unsafe-inline'; sandbox"
            )
        assert (await client.get(path_of(image, ext="png"))).status_code == 404
        assert (
            await client.get(path_of(image), headers={"If-None-Match": r.headers["etag"]})
        ).status_code == 304


# -- one render per canonical variant ---------------------------------------------------------


async def test_equivalent_queries_render_once(client, services, app):
    image = await new_image(client, imagegen.jpeg(400, 300))
    queries = [
        "w=200",
        "w=200&h=150",
        "h=150",
        "w=200&q=80",
        "quality=80&w=200",
        "w=200&fit=scale-down&g=north",
        "w=100&dpr=2",
        "w=200&bogus=1",
        "h=150&w=200",
        "w=200&rotate=0&flip=&brightness=1",
        "w=200&format=jpeg",
        "w=200&h=150&fit=cover",
    ]
    before = renders(app)
    etags = set()
    for q in queries:
        r = await client.get(path_of(image, q))
        assert r.status_code == 200
        etags.add(r.headers["etag"])
    assert len(etags) == 1
    assert renders(app) - before == 1
    assert len(await variant_keys(services, image)) == 1


async def test_concurrent_identical_requests_render_once(client, services, app):
    image = await new_image(client, imagegen.jpeg(600, 400))
    before = renders(app)
    answers = await asyncio.gather(
        *(client.get(path_of(image, "w=123&format=webp")) for _ in range(12))
    )
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert renders(app) - before == 1
    # Every later request is a blob read.
    for _ in range(3):
        assert (await client.get(path_of(image, "w=123&format=webp"))).status_code == 200
    assert renders(app) - before == 1


# -- gone is gone -----------------------------------------------------------------------------


async def test_delete_removes_every_variant_at_once(client, services):
    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(64, 48), headers=headers)
    paths = [path_of(image), path_of(image, "w=10"), path_of(image, "size=social", ext="webp")]
    for p in paths:
        assert (await client.get(p)).status_code == 200
    assert len(await variant_keys(services, image)) == 3
    r = await client.delete(f"/v1/images/{image['id']}", headers=headers)
    assert r.status_code == 200
    for p in paths:
        r = await client.get(p)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert await variant_keys(services, image) == []


async def test_expired_images_404_on_every_variant(client, services, clock):
    image = await new_image(client, imagegen.jpeg(64, 48))  # anonymous: expires in 30 days
    assert (await client.get(path_of(image, "w=10"))).status_code == 200
    clock.advance(days=31)
    for p in (path_of(image), path_of(image, "w=10")):
        assert (await client.get(p)).status_code == 404


async def test_not_found(client, services):
    image = await new_image(client, imagegen.jpeg(32, 24))
    prefix = image["url"].split("/")[-2]
    for path in [
        f"/i/zzz/{image['id']}.jpg",
        f"/i/{prefix}/zz99zz99.jpg",
        f"/i/{prefix}/{image['id']}",
        f"/i/{prefix}/.jpg",
        f"/i/{prefix}/{'a' * 80}.jpg",
    ]:
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


async def test_damaged_original_is_an_error_not_a_crash(client, services):
    data = imagegen.jpeg(256, 192)
    image = await new_image(client, data)
    async with services.db.read() as conn:
        from imgpro.images import repository as repo

        row = await repo.get_on_page(conn, image["id"], None, services.clock.now())
    await services.blobs.put_bytes(row.blob_key, imagegen.truncated(data))
    r = await client.get(path_of(image, "w=100"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"
