"""Hostile inputs against a real ``imgpro serve`` under an address-space cap (issue 12).

Every family is uploaded anonymously (as an attacker would) and requested through the CDN.
Asserted: no 5xx, no 422 for a valid image with valid parameters, the promised output size,
truncated files refused with 422 invalid_image, and the server alive afterwards — under
``served.ADDRESS_SPACE_CAP``, so a path that allocates without bound fails here, not the machine.
Peak RSS and CPU per family: ``python -m bench.hostile`` (numbers in docs/transforms.md).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pyvips

from conftest import PG_ADMIN_URL, _admin, _async_url, postgres_available
from hostile import families
from hostile.served import Server
from imgpro.app import run_migrations

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real server under the memory cap, on each engine (a database of its own on PostgreSQL,
    so no other test's clean-up touches it)."""
    database_url = None
    if request.param == "postgres":
        if not postgres_available():
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        name = f"imgpro_hostile_{os.getpid()}"
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
        database_url = _async_url(PG_ADMIN_URL, name)
        run_migrations(database_url)
    srv = Server(tmp_path_factory.mktemp("hostile") / "data", database_url=database_url)
    try:
        yield srv
    finally:
        log = srv.stop()
        if database_url is not None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        assert "Traceback" not in log, log[-3000:]


def _size(data: bytes) -> tuple[int, int]:
    im = pyvips.Image.new_from_buffer(data, "")
    return im.width, im.height


def _get(server: Server, url: str) -> tuple[int, bytes]:
    r = server.client.get(url)
    assert r.status_code < 500, (url, r.status_code, r.text[:300])
    assert r.status_code != 422, (url, r.text[:300])  # a valid image with valid parameters
    return r.status_code, r.content


@pytest.mark.parametrize("name", list(families.extreme_aspect()))
def test_extreme_aspect_ratios_render_every_fit_and_gravity(server: Server, name: str) -> None:
    created = server.upload(name, families.extreme_aspect()[name])
    assert created.status_code == 201, created.text
    url = created.json()["url"].rsplit(".", 1)[0]
    for query, expected in families.aspect_queries():
        status, body = _get(server, f"{url}.jpg?{query}")
        assert status == 200, (query, status)
        if expected is not None:
            assert _size(body) == expected, (name, query)
    assert server.alive()


def test_enlargement_is_bounded(server: Server) -> None:
    for name, data in families.upscale().items():
        url = server.upload(name, data).json()["url"].rsplit(".", 1)[0]
        for query in ("w=8192&fit=contain", "w=8192&h=8192&fit=cover", "w=8192&h=100&fit=pad"):
            status, body = _get(server, f"{url}.png?{query}")
            w, h = _size(body)
            assert status == 200 and w * h <= 2048 * 2048, (name, query, w, h)
    assert server.alive()


@pytest.mark.parametrize("name", list(families.truncated()))
def test_truncated_files_are_refused(server: Server, name: str) -> None:
    r = server.upload(name, families.truncated()[name])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_image"


def test_svg_fanout_probe_is_cheap(server: Server) -> None:
    before = server.cost().cpu_s
    r = server.upload("fan.svg", families.svg_fanout())
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (300, 150)  # a browser's default size
    assert server.cost().cpu_s - before < 2.0  # librsvg's layout of it took 4-5 s


def test_concurrent_big_heic_uploads_stay_bounded(server: Server) -> None:
    heic = families.big_heic()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: server.upload(f"big{i}.heic", heic), range(6)))
    assert [r.status_code for r in results] == [201] * 6, [r.text[:200] for r in results]
    url = results[0].json()["url"].rsplit(".", 1)[0]
    status, body = _get(server, f"{url}.jpg?w=300&h=300&fit=cover")
    assert status == 200 and _size(body) == (300, 300)
    # Two decode threads: ~2 x 150 MB of pixels at once, never six.
    assert server.cost().peak_rss_mb < 900, server.cost()
    assert server.alive()


def test_ico_is_served_without_its_metadata(server: Server) -> None:
    data = families.ico_with_text()
    assert b"Secret Person" in data
    created = server.upload("icon.ico", data)
    assert created.status_code == 201, created.text
    served = server.client.get(created.json()["url"])
    assert served.status_code == 200
    assert b"Secret Person" not in served.content and b"tEXt" not in served.content
    from PIL import Image

    with Image.open(io.BytesIO(served.content)) as im:
        assert im.format == "ICO" and im.size == (32, 32)
