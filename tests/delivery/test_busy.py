"""The bounded render pool: a full queue answers 503 busy with Retry-After; renders survive
their clients; a render that finishes after its image was deleted leaves nothing behind."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import imagegen
from imgpro.settings import RenderSettings
from imgpro.transforms import pipeline

from .support import new_image, owner, path_of


@pytest.fixture
def settings(settings):
    """One render thread and one waiting slot: the third concurrent render is refused."""
    settings.render = RenderSettings(workers=1, queue_size=1, vips_concurrency=1)
    return settings


class Gate:
    """Stands in for pipeline.render: blocks every render until opened."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started = 0
        self.real = pipeline.render

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        self.started += 1
        assert self.open.wait(timeout=30), "gate never opened"
        return self.real(*args, **kwargs)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate()
    monkeypatch.setattr(pipeline, "render", g)
    yield g
    g.open.set()  # never leave a pool thread blocked


async def until(predicate: Any, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_full_queue_answers_503_busy_with_retry_after(client, app, gate):
    renderer = app.state.renderer
    assert (renderer.workers, renderer.capacity) == (1, 2)
    image = await new_image(client, imagegen.jpeg(64, 48))
    running = [asyncio.create_task(client.get(path_of(image, f"w={w}"))) for w in (10, 11)]
    await until(lambda: renderer._pending == 2)

    r = await client.get(path_of(image, "w=12"))
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()["error"]
    assert (body["type"], body["code"]) == ("api_error", "busy")
    assert body["action"] == {"type": "wait", "retry_after": int(r.headers["retry-after"])}
    # Waiting for a render already in flight takes no slot, and cached variants still serve.
    joined = asyncio.create_task(client.get(path_of(image, "w=10")))

    gate.open.set()
    answers = await asyncio.gather(*running, joined)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert renderer.renders == 2 and renderer._pending == 0
    assert (await client.get(path_of(image, "w=12"))).status_code == 200  # room again


async def test_a_render_outlives_a_client_that_gave_up(client, app, gate):
    renderer = app.state.renderer
    image = await new_image(client, imagegen.jpeg(64, 48))
    request = asyncio.create_task(client.get(path_of(image, "w=20")))
    await until(lambda: gate.started == 1)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert renderer._pending == 1  # still counted: the pool thread is still working
    gate.open.set()
    await until(lambda: renderer._pending == 0)
    assert renderer.renders == 1
    r = await client.get(path_of(image, "w=20"))
    assert r.status_code == 200 and renderer.renders == 1  # it was kept


async def test_render_finishing_after_delete_leaves_no_variant(client, services, app, gate):
    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(64, 48), headers=headers)
    request = asyncio.create_task(client.get(path_of(image, "w=30")))
    await until(lambda: gate.started == 1)
    r = await client.delete(f"/v1/images/{image['id']}", headers=headers)
    assert r.status_code == 200
    gate.open.set()
    r = await request
    assert r.status_code == 404
    assert [k async for k in services.blobs.iter_keys("variants/")] == []
