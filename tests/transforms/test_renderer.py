"""Renderer: plan cache, hot-variant cache (byte budget, keyed by ETag), capacity."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from imgpro.settings import LimitSettings, RenderSettings
from imgpro.storage.local import LocalBlobStore
from imgpro.transforms import render as render_module
from imgpro.transforms.render import Renderer

LIMITS = LimitSettings()


def row(**overrides: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "id": "ab12cd34", "sha256": "a" * 64, "source_format": "jpeg", "format": "jpg",
        "width": 400, "height": 300, "frames": 1, "blob_key": "originals/x", "transformable": True,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    r = Renderer(LocalBlobStore(tmp_path / "blobs"), RenderSettings(workers=1, queue_size=2),
                 tmp_path)
    yield r
    r.close()


async def test_capacity_follows_settings(renderer: Renderer) -> None:
    assert (renderer.workers, renderer.max_waiting, renderer.capacity) == (1, 2, 3)


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


async def test_hot_cache_is_bounded_and_keyed_by_etag(renderer: Renderer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "HOT_CACHE_BYTES", 250)
    variants = [await renderer.plan(row(), "jpg", [("w", str(w))], None, LIMITS)
                for w in (10, 11, 12)]
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
