"""Render admission: a cold render waits its turn (one host token here) and is refused with 503
busy + Retry-After only when its expected wait passes the bound; waiting is fair per client;
renders survive their clients; a render that finishes after its image was deleted leaves
nothing behind."""

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
    """One render token on the host; a wait of more than 2.5 renders is refused."""
    settings.render = RenderSettings(
        workers=1, host_renders=1, max_wait_seconds=2.5, vips_concurrency=1
    )
    settings.trusted_proxies = ["203.0.113.7"]  # the test client's address: a trusted proxy,
    # so X-Forwarded-For names the clients
    return settings


class Gate:
    """Stands in for pipeline.render: each render waits for a permit (``allow``), and the
    order renders start in is recorded (by output width)."""

    def __init__(self) -> None:
        self.permits = threading.Semaphore(0)
        self.started: list[int] = []
        self.real = pipeline.render

    def allow(self, n: int = 1000) -> None:
        for _ in range(n):
            self.permits.release()

    def __call__(self, path: Any, probe: Any, plan: Any, *args: Any, **kwargs: Any) -> bytes:
        self.started.append(plan.geometry.resize[0])
        assert self.permits.acquire(timeout=30), "gate never opened"
        return self.real(path, probe, plan, *args, **kwargs)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate()
    monkeypatch.setattr(pipeline, "render", g)
    yield g
    g.allow()  # never leave a pool thread blocked


async def until(predicate: Any, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def as_client(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_busy_only_when_the_expected_wait_passes_the_bound(client, app, gate):
    renderer = app.state.renderer
    assert (renderer.workers, renderer.tokens) == (1, 1)
    renderer.admission.avg_seconds = 1.0  # what the estimate takes one render to cost
    image = await new_image(client, imagegen.jpeg(64, 48))
    # The first renders; the next two wait 1 and 2 renders' time: under the 2.5 s bound.
    running = []
    for w in (10, 11, 12):
        running.append(asyncio.create_task(client.get(path_of(image, f"w={w}"))))
        await until(lambda n=len(running): renderer._pending == n)
    assert renderer.admission.waiting == 2

    r = await client.get(path_of(image, "w=13"))  # 3 renders ahead of it: 3 s > 2.5 s
    assert r.status_code == 503
    assert r.headers["retry-after"] == "3"  # the wait it would have had, rounded up
    body = r.json()["error"]
    assert (body["type"], body["code"]) == ("api_error", "busy")
    assert body["action"] == {"type": "wait", "retry_after": 3}
    assert renderer.admission.waiting == 2  # a refused render holds no place
    # Waiting for a render already in flight takes no place, and cached variants still serve.
    joined = asyncio.create_task(client.get(path_of(image, "w=10")))

    gate.allow()
    answers = await asyncio.gather(*running, joined)
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert renderer.renders == 3 and renderer._pending == 0
    assert (await client.get(path_of(image, "w=13"))).status_code == 200  # room again


async def test_a_client_flooding_the_pool_waits_behind_its_own_requests(client, app, gate):
    renderer = app.state.renderer
    renderer.admission.avg_seconds = 1.0
    renderer.admission.max_wait_seconds = 3.5
    image = await new_image(client, imagegen.jpeg(64, 48))
    flood = []
    for w in (20, 21, 22, 23):  # one running, three waiting (the last 3 s)
        flood.append(
            asyncio.create_task(
                client.get(path_of(image, f"w={w}"), headers=as_client("203.0.113.1"))
            )
        )
        await until(lambda n=len(flood): renderer._pending == n)
    r = await client.get(path_of(image, "w=24"), headers=as_client("203.0.113.1"))
    assert r.status_code == 503 and r.headers["retry-after"] == "4"  # 4 s > 3.5 s: refused
    # Another client goes past the flood: one of the flooder's renders is ahead of it (2 s).
    other = asyncio.create_task(
        client.get(path_of(image, "w=40"), headers=as_client("198.51.100.7"))
    )
    await until(lambda: renderer._pending == 5)
    gate.allow()
    answers = await asyncio.gather(*flood, other)
    assert [a.status_code for a in answers] == [200] * 5
    assert gate.started[:3] == [20, 21, 40]  # round-robin: not behind all of the flood
    assert sorted(gate.started[3:]) == [22, 23]


async def test_a_render_outlives_a_client_that_gave_up(client, app, gate):
    renderer = app.state.renderer
    image = await new_image(client, imagegen.jpeg(64, 48))
    request = asyncio.create_task(client.get(path_of(image, "w=20")))
    await until(lambda: len(gate.started) == 1)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert renderer._pending == 1  # still counted: the pool thread is still working
    gate.allow()
    await until(lambda: renderer._pending == 0)
    assert renderer.renders == 1
    r = await client.get(path_of(image, "w=20"))
    assert r.status_code == 200 and renderer.renders == 1  # it was kept


async def test_render_finishing_after_delete_leaves_no_variant(client, services, app, gate):
    headers = await owner(services)
    image = await new_image(client, imagegen.jpeg(64, 48), headers=headers)
    request = asyncio.create_task(client.get(path_of(image, "w=30")))
    await until(lambda: len(gate.started) == 1)
    r = await client.delete(f"/v1/images/{image['id']}", headers=headers)
    assert r.status_code == 200
    gate.allow()
    r = await request
    assert r.status_code == 404
    assert [k async for k in services.blobs.iter_keys("variants/")] == []
