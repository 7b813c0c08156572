"""Single-flight across processes: two apps (as two hosts would be) on one bucket and one Redis
render a variant asked of both at once exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import imagegen
from conftest import REDIS_URL, redis_available
from imgpro.app import create_app
from imgpro.settings import Settings


@pytest.fixture
async def two_hosts(settings: Settings, s3_settings: Any, clock: Any) -> AsyncIterator[list[Any]]:
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    # A key prefix of its own: the Redis database outlives the run, and anonymous-upload counts
    # of earlier runs must not rate-limit this one.
    limits = settings.rate_limits.model_copy(update={"key_prefix": f"flight-{uuid.uuid4().hex}"})
    configured = settings.model_copy(
        update={"storage": "s3", "s3": s3_settings, "redis_url": REDIS_URL, "rate_limits": limits}
    )
    apps = [create_app(configured, clock=clock) for _ in range(2)]
    yield apps
    for app in apps:
        await app.state.close()


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_variant_renders_once_across_hosts(two_hosts: list[Any]) -> None:
    a, b = two_hosts
    async with _client(a) as ca, _client(b) as cb:
        up = await ca.post(
            "/v1/images", files={"file": ("p.jpg", imagegen.jpeg(1600, 1200), "image/jpeg")}
        )
        assert up.status_code == 201, up.text
        path = up.json()["url"].removeprefix("http://testserver")
        for width in (100, 222, 333):
            replies = await asyncio.gather(
                *(c.get(f"{path}?w={width}") for c in (ca, cb, ca, cb, cb))
            )
            assert {r.status_code for r in replies} == {200}
            assert len({r.content for r in replies}) == 1
    assert a.state.renderer.renders + b.state.renderer.renders == 3


async def test_a_lapsed_claim_is_taken_over(two_hosts: list[Any]) -> None:
    """A host that died holding a claim: the others wait at most the lease, then render."""
    a, _ = two_hosts
    shared = a.state.renderer.shared
    shared.lease_ms = 600
    async with _client(a) as ca:
        up = await ca.post(
            "/v1/images", files={"file": ("p.png", imagegen.png(300, 200), "image/png")}
        )
        path = up.json()["url"].removeprefix("http://testserver")
        plan = await a.state.renderer.plan(
            await a.cdn.lookup.get(up.json()["id"], a.state.services.clock.now()),
            "png",
            [("w", "50")],
            None,
            a.state.settings.limits,
        )
        assert await shared.claim(plan.key) is not None  # the "dead host"
        reply = await ca.get(f"{path}?w=50")
        assert reply.status_code == 200
    assert a.state.renderer.renders == 1
