"""A cold segment render holds one render token like any render: plain renders of another
client still get their turn while segment renders are running and queued."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import imagegen
from delivery.support import new_image, path_of
from imgpro.settings import RenderSettings
from imgpro.transforms import pipeline


@pytest.fixture
def settings(settings):
    settings.render = RenderSettings(
        workers=2, host_renders=1, max_wait_seconds=60, vips_concurrency=1
    )
    settings.trusted_proxies = ["203.0.113.7"]
    return settings


class SlowSegments:
    """pipeline.render where every segment render waits for a permit (a slow cold model)."""

    def __init__(self) -> None:
        self.permits = threading.Semaphore(0)
        self.real = pipeline.render
        self.segments_started = 0
        self.started: list[str] = []  # "segment" / "plain", in the order renders got a token

    def __call__(self, path: Any, probe: Any, plan: Any, *args: Any, **kw: Any) -> bytes:
        self.started.append("segment" if plan.segment else "plain")
        if plan.segment:
            self.segments_started += 1
            assert self.permits.acquire(timeout=60)
        return self.real(path, probe, plan, *args, **kw)


async def test_plain_render_completes_while_segment_renders_queue(client, monkeypatch):
    slow = SlowSegments()
    monkeypatch.setattr(pipeline, "render", slow)
    image = await new_image(client, imagegen.jpeg(200, 150))
    a, b = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
    segments = [
        asyncio.create_task(client.get(path_of(image, f"segment=foreground&w={w}"), headers=a))
        for w in (100, 110, 120)
    ]
    try:
        for _ in range(500):
            if slow.segments_started:
                break
            await asyncio.sleep(0.01)
        assert slow.segments_started == 1  # one token: the others queue
        plain = asyncio.create_task(client.get(path_of(image, "w=50"), headers=b))
        await asyncio.sleep(0.05)
        # Round-robin by client: B's plain render gets the token before A's last segment
        # render, whatever the machine's load: only two segment renders are let through here.
        slow.permits.release(2)
        r = await asyncio.wait_for(plain, 30)
        assert r.status_code == 200
        # The plain render did not wait for every segment render: it started before the third.
        assert "plain" in slow.started
        assert slow.started.index("plain") <= 2, slow.started
    finally:
        slow.permits.release(10)
        results = await asyncio.gather(*segments)
    assert all(x.status_code == 200 for x in results)
