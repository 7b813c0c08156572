"""Many hosts: 2 imgpro hosts (network namespaces) behind nginx, one PostgreSQL, S3, Redis.

One cluster for the module (about 30-60 s in all): a variant asked of every host at once
renders once; quotas are exact and rate limits shared across hosts; ``kill -9`` of a host under
load fails only its in-flight requests, and clients retrying with their Idempotency-Key end
with exactly one image each.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import imagegen
from conftest import (
    PG_ADMIN_URL,
    REDIS_URL,
    _admin,
    _async_url,
    postgres_available,
    redis_available,
)
from hosts.cluster import Cluster, nginx_available
from imgpro.app import run_migrations

pytestmark = pytest.mark.slow
PLANS = '[{"name": "free", "uploads_per_month": 5}, {"name": "unlimited"}]'


@pytest.fixture(scope="module")
def cluster(s3_server: Any) -> Iterator[Cluster]:
    reason = nginx_available()
    if reason:
        pytest.skip(reason)
    if not postgres_available() or not redis_available():
        pytest.skip("the many-hosts test needs PostgreSQL and Redis")
    name = f"imgpro_hosts_{os.getpid()}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    url = _async_url(PG_ADMIN_URL, name)
    run_migrations(url)
    bucket = s3_server.new_bucket(versioned=True)  # versions count how often a key was written
    env = {
        "IMGPRO_PLANS": PLANS,
        "IMGPRO_RATE_LIMITS__ANON_UPLOADS": "4/hour",
        "IMGPRO_RATE_LIMITS__KEY_PREFIX": f"hosts-{uuid.uuid4().hex[:8]}",
        "IMGPRO_LIMITS__IDEMPOTENCY_STALE_SECONDS": "3",
    }
    hosts = Cluster(
        2, database_url=url, redis_url=REDIS_URL, s3_url=s3_server.url, bucket=bucket, env=env
    )
    hosts.database_name = name  # type: ignore[attr-defined]
    try:
        hosts.start()
        yield hosts
    finally:
        hosts.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _account(cluster: Cluster, plan: str) -> dict[str, str]:
    from imgpro.accounts.passwords import PasswordHasher
    from imgpro.accounts.service import AccountService
    from imgpro.clock import Clock
    from imgpro.db.engine import Database
    from imgpro.keys.service import KeyService, parse_abilities
    from imgpro.settings import Settings

    async def make() -> str:
        db = Database(_async_url(PG_ADMIN_URL, cluster.database_name))  # type: ignore[attr-defined]
        try:
            accounts = AccountService(db, Clock(), PasswordHasher(Settings().passwords))
            user = await accounts.create_user(
                f"{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", plan=plan
            )
            secret, _ = await KeyService(db, Clock()).create(
                user_id=user.id,
                workspace_id=user.workspace_id,
                name="k",
                abilities=parse_abilities("read,write"),
            )
            return secret
        finally:
            await db.dispose()

    return {"Authorization": f"Bearer {asyncio.run(make())}"}


def _png(n: int) -> bytes:
    return imagegen.png(40 + n, 30 + n)


async def _post(
    client: httpx.AsyncClient, base: str, data: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"{base}/v1/images",
        headers=headers,
        files={"file": (f"{len(data)}.png", data, "image/png")},
    )


def test_namespaces_or_loopback_addresses(cluster: Cluster) -> None:
    addresses = {h.address for h in cluster.hosts}
    assert len(addresses) == 2  # each host its own address
    for host in cluster.hosts:
        assert httpx.get(host.url + "/docs/api").status_code == 200


def test_a_variant_renders_once_across_hosts(cluster: Cluster) -> None:
    headers = _account(cluster, "unlimited")
    reply = httpx.post(
        f"{cluster.url}/v1/images",
        headers=headers,
        files={"file": ("a.jpg", imagegen.jpeg(1600, 1200), "image/jpeg")},
    )
    assert reply.status_code == 201, reply.text
    image = reply.json()
    path = image["url"].removeprefix(cluster.url)

    async def everyone() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(client.get(f"{h.url}{path}?w=321") for _ in range(4) for h in cluster.hosts)
            )

    replies = asyncio.run(everyone())
    assert {r.status_code for r in replies} == {200}
    assert len({r.content for r in replies}) == 1
    time.sleep(0.5)  # the winner's write overlaps its answer
    import boto3  # noqa: F401 - moto's dependency; the check reads the bucket directly

    from s3server import MotoServer

    s3 = MotoServer.client(type("S", (), {"url": cluster.s3_url})())  # type: ignore[arg-type]
    versions = s3.list_object_versions(
        Bucket=cluster.bucket, Prefix=f"variants/{image['id']}/"
    ).get("Versions", [])
    assert len(versions) == 1, f"rendered and stored {len(versions)} times"


def test_quotas_are_exact_across_hosts(cluster: Cluster) -> None:
    headers = _account(cluster, "free")  # 5 uploads a month

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(_post(client, cluster.hosts[i % 2].url, _png(i), headers) for i in range(12))
            )

    codes = sorted(r.status_code for r in asyncio.run(burst()))
    assert codes.count(201) == 5 and codes.count(403) == 7, codes


def test_rate_limits_are_shared_across_hosts(cluster: Cluster) -> None:
    """Anonymous uploads through nginx (which spreads them over both hosts): 4/hour in all."""

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return [await _post(client, cluster.url, _png(100 + i), {}) for i in range(8)]

    codes = [r.status_code for r in asyncio.run(burst())]
    assert codes.count(201) == 4 and codes.count(429) == 4, codes


def test_kill_9_of_a_host_loses_nothing(cluster: Cluster) -> None:
    headers = _account(cluster, "unlimited")
    per_client, clients = 4, 3
    sent: dict[str, int] = {}
    got: dict[str, str] = {}
    failed_keys: set[str] = set()
    finished = 0
    victim = cluster.hosts[0]

    async def one(client: httpx.AsyncClient, key: str, data: bytes) -> None:
        nonlocal finished
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = await client.post(
                    f"{cluster.url}/v1/images",
                    headers={**headers, "Idempotency-Key": key},
                    files={"file": ("x.png", data, "image/png")},
                )
                if reply.status_code == 201:
                    got[key] = reply.json()["id"]
                    finished += 1
                    return
                assert reply.status_code in (409, 502, 503, 504), reply.text
            except httpx.TransportError:
                pass
            failed_keys.add(key)
            assert time.monotonic() < deadline, f"{key} never succeeded"
            await asyncio.sleep(0.3)

    async def worker(c: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for i in range(per_client):
                key = f"c{c}-{i}-{uuid.uuid4().hex[:6]}"
                sent[key] = 200 + c * 10 + i
                await one(client, key, _png(sent[key]))

    async def killer() -> None:
        while finished < 3:
            await asyncio.sleep(0.01)
        victim.kill9()

    async def main() -> None:
        await asyncio.gather(killer(), *(worker(c) for c in range(clients)))

    asyncio.run(main())
    assert victim.proc is not None and victim.proc.poll() is not None  # it really died
    assert len(got) == per_client * clients
    assert len(set(got.values())) == len(got)  # exactly one image per key
    assert len(failed_keys) <= clients  # only the requests in flight at the kill
    for key, image_id in got.items():
        image = httpx.get(f"{cluster.url}/v1/images/{image_id}", headers=headers).json()
        assert (image["width"], image["height"]) == (40 + sent[key], 30 + sent[key]), key
        served = httpx.get(image["url"])  # the original is in the bucket, whole
        assert served.status_code == 200 and served.content[:8] == b"\x89PNG\r\n\x1a\n", key
    listed = httpx.get(f"{cluster.url}/v1/images?limit=100", headers=headers).json()
    assert len(listed["data"]) == per_client * clients  # no duplicate from a retry
