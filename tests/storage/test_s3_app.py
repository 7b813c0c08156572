"""The whole service on object storage: uploads, the CDN, deletes and gc against moto's S3."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import imagegen
from factories import make_account
from imgpro.app import create_app
from imgpro.images.gc import collect_garbage
from imgpro.settings import Settings
from imgpro.transforms.render import SMALL_VARIANT, Variant


@pytest.fixture
async def s3_app(settings: Settings, s3_settings: Any, clock: Any) -> AsyncIterator[Any]:
    configured = settings.model_copy(update={"storage": "s3", "s3": s3_settings})
    application = create_app(configured, clock=clock)
    yield application
    await application.state.close()


@pytest.fixture
async def s3_client(s3_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=s3_app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _keys(app: Any, prefix: str = "") -> list[str]:
    return [k async for k in app.state.services.blobs.iter_keys(prefix)]


async def _upload(
    client: httpx.AsyncClient,
    data: bytes,
    name: str = "p.png",
    mime: str = "image/png",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    reply = await client.post(
        "/v1/images", files={"file": (name, data, mime)}, headers=headers or {}
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_upload_serve_and_delete_every_variant(
    s3_app: Any, s3_client: httpx.AsyncClient
) -> None:
    account = await make_account(s3_app.state.services)
    image = await _upload(s3_client, imagegen.png(300, 200), headers=account["headers"])
    originals = await _keys(s3_app, "originals/")
    assert len(originals) == 1 and s3_app.state.services.blobs.local_path(originals[0]) is None
    for query in ("?w=40", "?w=80&format=webp", ""):
        reply = await s3_client.get(_path(image["url"]) + query)
        assert reply.status_code == 200, reply.text
        for flight in list(s3_app.state.renderer._inflight.values()):
            await flight.done  # the store write overlaps the answer; wait for it
    variants = await _keys(s3_app, f"variants/{image['id']}/")
    assert len(variants) == 3
    # A second process (no hot cache) reads the variant back from the bucket.
    s3_app.state.renderer._hot.clear()
    again = await s3_client.get(_path(image["url"]) + "?w=40")
    assert again.status_code == 200 and again.headers["content-type"] == "image/png"

    reply = await s3_client.delete(f"/v1/images/{image['id']}", headers=account["headers"])
    assert reply.status_code in (200, 204), reply.text
    assert await _keys(s3_app) == []
    assert (await s3_client.get(_path(image["url"]) + "?w=40")).status_code == 404


async def test_stored_format_streams_from_the_bucket(s3_client: httpx.AsyncClient) -> None:
    svg = imagegen.svg(64, 48)
    image = await _upload(s3_client, svg, "a.svg", "image/svg+xml")
    reply = await s3_client.get(_path(image["url"]))
    assert reply.status_code == 200 and reply.content == svg


async def test_large_variants_are_streamed_not_read_whole(s3_app: Any) -> None:
    renderer = s3_app.state.renderer
    data = os.urandom(3 * SMALL_VARIANT + 17)
    await s3_app.state.services.blobs.put_bytes("variants/big/x.png", data)
    variant = Variant(key="variants/big/x.png", etag='"e"', format="png", plan=None)  # type: ignore[arg-type]
    blob = await renderer.read(variant)
    assert blob is not None and blob.data is None and blob.chunks is not None
    chunks = [c async for c in blob.chunks]
    assert b"".join(chunks) == data and max(map(len, chunks)) <= SMALL_VARIANT


async def test_presigned_redirect(s3_app: Any, s3_client: httpx.AsyncClient) -> None:
    s3_app.state.settings.s3.presign_seconds = 300
    image = await _upload(s3_client, imagegen.png(120, 90))
    first = await s3_client.get(_path(image["url"]) + "?w=30")
    assert first.status_code == 200  # not rendered yet: rendered and sent by us
    second = await s3_client.get(_path(image["url"]) + "?w=30")
    assert second.status_code == 302 and "max-age=240" in second.headers["cache-control"]
    assert second.headers["etag"] == first.headers["etag"]
    async with httpx.AsyncClient() as outside:
        direct = await outside.get(second.headers["location"])
        assert direct.status_code == 200 and direct.content == first.content
        # (moto does not check signatures, so tampering is not tested here; see the notes.)
    head = await s3_client.head(_path(image["url"]) + "?w=30")
    assert head.status_code == 200  # HEAD is answered here, never redirected


async def test_gc_sweeps_orphans_in_the_bucket(s3_app: Any, s3_client: httpx.AsyncClient) -> None:
    image = await _upload(s3_client, imagegen.png(50, 40))
    blobs = s3_app.state.services.blobs
    await blobs.put_bytes("originals/zz/orphan", b"left by a crashed upload")
    await blobs.put_bytes("variants/gone-image/x.webp", b"of a deleted image")
    services = s3_app.state.services
    report = await collect_garbage(services)  # default grace: the fresh orphan is spared
    assert report.orphan_originals == 0 and report.orphan_variants == 1
    assert await blobs.size("originals/zz/orphan") is not None
    report = await collect_garbage(services, grace=dt.timedelta(seconds=-5))
    assert report.orphan_originals == 1
    keys = await _keys(s3_app)
    assert keys == [k for k in keys if k.startswith("originals/")] and len(keys) == 1
    assert (await s3_client.get(_path(image["url"]))).status_code == 200
