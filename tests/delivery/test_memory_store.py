"""Rendering from a blob store without local files (the memory backend stands in for S3)."""

from __future__ import annotations

import pytest

import imagegen

from .support import decode, new_image, path_of


@pytest.fixture
def settings(settings):
    settings.storage = "memory"
    return settings


async def test_variants_render_and_cache_without_local_files(client, app, services):
    image = await new_image(client, imagegen.png(64, 48, alpha=True), filename="a.png")
    r = await client.get(path_of(image, "w=32&format=webp"))
    assert r.status_code == 200 and decode(r.content).width == 32
    again = await client.get(path_of(image, "w=32&format=webp"))
    assert again.content == r.content and app.state.renderer.renders == 1
    head = await client.head(path_of(image, "w=32&format=webp"))
    assert int(head.headers["content-length"]) == len(r.content)
    # format=auto for a client without AVIF/WebP needs to know about alpha: read from the blob.
    auto = await client.get(path_of(image, "format=auto"), headers={"Accept": "*/*"})
    assert auto.headers["content-type"] == "image/png"
    assert list(services.images.tmp_dir.iterdir()) == []  # temp copies are cleaned up
