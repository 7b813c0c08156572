"""The default ``imgpro serve`` (one process per core, host-wide render tokens) under a burst of
8 × cores concurrent cold renders: every one waits its turn and completes, none is refused; with
a tiny wait bound, the refusals are 503 busy with a Retry-After (issue 17)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

import imagegen
from imgpro.cpus import available_cpus

from . import serving


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IMGPRO_") and k != "MALLOC_ARENA_MAX"
    }
    env.update(
        {
            "IMGPRO_DATA_DIR": str(tmp_path / "data"),
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            **extra,
        }
    )
    return env


async def _burst(url: str, n: int) -> list[httpx.Response]:
    """n concurrent cold requests, each a distinct variant."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(
            *(client.get(f"{url}?w={300 + i}&fit=contain") for i in range(n))
        )


def _serve_and_burst(tmp_path: Path, n: int, **extra: str) -> list[httpx.Response]:
    port = serving.free_port()
    proc = serving.start(port, _env(tmp_path, port, **extra))
    try:
        r = serving.first_upload(port)
        assert r.status_code == 201, r.text
        source = httpx.post(
            f"http://127.0.0.1:{port}/v1/images",
            timeout=60,
            files={"file": ("p.jpg", imagegen.jpeg(1600, 1200), "image/jpeg")},
        )
        assert source.status_code == 201, source.text
        return asyncio.run(_burst(source.json()["url"], n))
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux (flock, /proc)")
def test_a_burst_of_8_per_core_waits_its_turn(tmp_path):
    n = 8 * available_cpus()
    answers = _serve_and_burst(tmp_path, n)  # the default configuration
    assert [a.status_code for a in answers] == [200] * n, [
        a.text for a in answers if a.status_code != 200
    ][:3]
    assert len({a.headers["etag"] for a in answers}) == n  # n distinct renders


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux (flock, /proc)")
def test_past_the_wait_bound_busy_says_how_long(tmp_path):
    n = 8 * available_cpus()
    answers = _serve_and_burst(tmp_path, n, IMGPRO_RENDER__MAX_WAIT_SECONDS="0.001")
    refused = [a for a in answers if a.status_code == 503]
    assert refused and all(a.status_code in (200, 503) for a in answers)
    for a in refused:
        error = a.json()["error"]
        assert error["code"] == "busy" and int(a.headers["retry-after"]) >= 1
        assert error["action"] == {"type": "wait", "retry_after": int(a.headers["retry-after"])}
