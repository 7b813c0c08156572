"""Renderer: plan cache, hot-variant cache (byte budget, keyed by ETag), capacity, flights."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import imagegen
from imgpro.errors import InvalidImage
from imgpro.settings import LimitSettings, RenderSettings
from imgpro.storage.local import LocalBlobStore
from imgpro.transforms import render as render_module
from imgpro.transforms.render import Renderer

LIMITS = LimitSettings()


def row(**overrides: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "id": "ab12cd34",
        "sha256": "a" * 64,
        "source_format": "jpeg",
        "format": "jpg",
        "width": 400,
        "height": 300,
        "frames": 1,
        "blob_key": "originals/x",
        "transformable": True,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    r = Renderer(
        LocalBlobStore(tmp_path / "blobs"), RenderSettings(workers=1, queue_size=2), tmp_path
    )
    yield r
    r.close()


async def test_capacity_follows_settings(renderer: Renderer, tmp_path: Path) -> None:
    assert (renderer.workers, renderer.max_waiting) == (1, 2)
    assert renderer.tokens == renderer.admission.tokens >= 1  # one per core by default
    r = Renderer(
        LocalBlobStore(tmp_path / "b2"),
        RenderSettings(host_renders=3),
        tmp_path,
        run_dir=tmp_path / "run2",
    )
    try:
        assert (r.tokens, r.max_waiting) == (3, 96)  # 32 waiting per host token
    finally:
        r.close()


async def test_plans_are_cached_and_exact(renderer: Renderer) -> None:
    a = await renderer.plan(row(), "jpg", [("w", "200")], "image/webp", LIMITS)
    b = await renderer.plan(row(), "jpg", [("w", "200")], "image/avif", LIMITS)
    assert a is b  # Accept does not matter without format=auto
    c = await renderer.plan(row(), "jpg", [("h", "150")], None, LIMITS)
    assert c is not a and c.key == a.key  # different params, same resolved variant
    other = await renderer.plan(row(sha256="b" * 64), "jpg", [("w", "200")], None, LIMITS)
    assert other.etag != a.etag  # another original under the same id: another ETag
    auto_webp = await renderer.plan(row(), "jpg", [("format", "auto")], "image/webp", LIMITS)
    auto_avif = await renderer.plan(row(), "jpg", [("format", "auto")], "image/avif", LIMITS)
    assert (auto_webp.format, auto_avif.format) == ("webp", "avif")
    assert await renderer.plan(row(), "tiff", [], None, LIMITS) is None


async def test_ignored_names_become_the_x_img_ignored_header(renderer: Renderer) -> None:
    params = [("w", "x"), ("zz", "1"), ("evil\r\nA: b", "1")]
    v = await renderer.plan(row(), "jpg", params, None, LIMITS)
    assert v.headers() == {"x-img-ignored": "evil%0D%0AA%3A%20b, w, zz"}
    clean = await renderer.plan(row(), "jpg", [("w", "1")], None, LIMITS)
    assert "x-img-ignored" not in clean.headers()


async def test_hot_cache_is_bounded_and_keyed_by_etag(renderer: Renderer) -> None:
    renderer.hot_cache_bytes = 250
    variants = [
        await renderer.plan(row(), "jpg", [("w", str(w))], None, LIMITS) for w in (10, 11, 12)
    ]
    for v in variants:
        renderer._remember(v, b"x" * 100)
    assert renderer._hot_bytes == 200  # the oldest went to stay within 250 bytes
    assert await renderer.read(variants[0]) is None  # not in memory and never stored
    hit = await renderer.read(variants[2])
    assert hit is not None and hit.data == b"x" * 100
    renderer.forget(variants[2])
    assert await renderer.read(variants[2]) is None and renderer._hot_bytes == 100
    # The same blob key under another ETag (another original) is never served from memory.
    renderer._remember(variants[1], b"y" * 10)
    stranger = await renderer.plan(row(sha256="c" * 64), "jpg", [("w", "11")], None, LIMITS)
    assert stranger.key == variants[1].key and stranger.etag != variants[1].etag
    assert await renderer.read(stranger) is None


async def test_large_variants_are_not_kept_in_memory(renderer: Renderer) -> None:
    v = await renderer.plan(row(), "jpg", [("w", "10")], None, LIMITS)
    renderer._remember(v, b"z" * (render_module.SMALL_VARIANT + 1))
    assert renderer._hot_bytes == 0


# -- flights: answer first, store after, re-check the image ----------------------------------


class Flight:
    """A renderer over a real original, whose blob writes wait for ``opened`` and whose
    ``is_live`` answers ``live``."""

    def __init__(self, tmp_path: Path) -> None:
        self.blobs = LocalBlobStore(tmp_path / "blobs")
        self.live = True
        self.opened = asyncio.Event()
        self.opened.set()
        self.renderer = Renderer(
            self.blobs, RenderSettings(workers=1, queue_size=2), tmp_path, is_live=self.is_live
        )
        self.row = row(width=64, height=48, blob_key="originals/x")
        real_put = self.blobs.put_bytes

        async def gated_put(key: str, data: bytes) -> None:
            await self.opened.wait()
            await real_put(key, data)

        self.blobs.put_bytes = gated_put  # type: ignore[method-assign]

    async def is_live(self, image_id: str) -> bool:
        assert image_id == self.row.id
        return self.live

    async def variant(self, width: int = 20) -> Any:
        return await self.renderer.plan(self.row, "jpg", [("w", str(width))], None, LIMITS)


@pytest.fixture
async def flight(tmp_path: Path) -> Any:
    f = Flight(tmp_path)
    (tmp_path / "blobs" / "originals").mkdir(parents=True)
    (tmp_path / "blobs" / "originals" / "x").write_bytes(imagegen.jpeg(64, 48))
    yield f
    f.opened.set()
    f.renderer.close()


async def test_the_answer_does_not_wait_for_the_blob_store(flight: Flight) -> None:
    v = await flight.variant()
    flight.opened.clear()
    data = await asyncio.wait_for(flight.renderer.render(flight.row, v, LIMITS), 30)
    assert data[:2] == b"\xff\xd8" and flight.renderer._pending == 1  # still storing
    assert await flight.blobs.size(v.key) is None
    flight.opened.set()
    await flight.renderer.settle(v)
    assert flight.renderer._pending == 0 and await flight.blobs.size(v.key) == len(data)
    assert flight.renderer.renders == 1


async def test_an_image_deleted_before_the_write_leaves_no_variant(flight: Flight) -> None:
    v = await flight.variant()
    flight.opened.clear()
    await flight.renderer.render(flight.row, v, LIMITS)
    flight.live = False  # the delete commits (and sweeps variants) before our write lands
    flight.opened.set()
    await flight.renderer.settle(v)
    assert await flight.blobs.size(v.key) is None
    assert await flight.renderer.read(v) is None  # not in memory either


async def test_a_failed_write_is_logged_and_the_answer_stands(flight: Flight, caplog) -> None:
    async def full_disk(key: str, data: bytes) -> None:
        raise OSError("no space left")

    flight.blobs.put_bytes = full_disk  # type: ignore[method-assign]
    v = await flight.variant()
    data = await flight.renderer.render(flight.row, v, LIMITS)
    await flight.renderer.settle(v)
    assert data and "could not store variant" in caplog.text
    assert flight.renderer._pending == 0


async def test_a_failed_render_reaches_every_waiter_and_frees_its_slot(flight: Flight) -> None:
    v = await flight.variant()
    (flight.blobs.root / "originals" / "x").unlink()
    results = await asyncio.gather(
        *(flight.renderer.render(flight.row, v, LIMITS) for _ in range(3)), return_exceptions=True
    )
    assert isinstance(results[0], InvalidImage) and all(r is results[0] for r in results)
    await flight.renderer.settle(v)
    assert flight.renderer._pending == 0 and flight.renderer.renders == 0


async def test_a_variant_enters_memory_on_its_second_request(flight: Flight) -> None:
    v = await flight.variant()
    data = await flight.renderer.render(flight.row, v, LIMITS)
    await flight.renderer.settle(v)
    assert flight.renderer._hot_bytes == 0  # a one-off render holds no memory
    first = await flight.renderer.read(v)  # read back from the store: now it is hot
    assert first is not None and first.data == data and flight.renderer._hot_bytes == len(data)
    (flight.blobs.root / v.key).unlink()
    again = await flight.renderer.read(v)
    assert again is not None and again.data == data  # served from memory


async def test_the_hot_cache_can_be_turned_off(tmp_path: Path) -> None:
    r = Renderer(LocalBlobStore(tmp_path / "blobs"), RenderSettings(hot_cache_mb=0), tmp_path)
    try:
        v = await r.plan(row(), "jpg", [("w", "10")], None, LIMITS)
        r._remember(v, b"x" * 10)
        assert r._hot_bytes == 0
    finally:
        r.close()


@pytest.mark.parametrize("margin", [1.0, 1.5, 2.0])
async def test_the_shrink_on_load_policy_reaches_the_pipeline(
    tmp_path: Path, margin: float
) -> None:
    r = Renderer(
        LocalBlobStore(tmp_path / "blobs"), RenderSettings(shrink_on_load_margin=margin), tmp_path
    )
    try:
        v = await r.plan(row(), "jpg", [("w", "10")], None, LIMITS)
        assert r.planner.limits(LIMITS).draft_margin == margin
        assert v.plan.geometry.resize == (10, 8)
    finally:
        r.close()
