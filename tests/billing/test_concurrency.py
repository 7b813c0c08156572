"""Quotas are exact under concurrency, across processes, on SQLite and PostgreSQL.

Two real server processes (uvicorn + the app factory) share one database and one blob
directory. Many simultaneous uploads, split between them, race for:

* the last N uploads of a month (plan ``tiny``): exactly N are admitted;
* the last bytes of storage (plan ``roomy``): stored bytes never pass the limit, and no upload
  that was refused would have fitted (storage only grows here, so "refused at t" means "still
  does not fit at the end");
* with Redis configured, the anonymous rate limit: exactly the limit is admitted across both.

Afterwards the counters equal the rows, and the blob store holds exactly the admitted files.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import imagegen
from conftest import (
    PG_ADMIN_URL,
    REDIS_URL,
    _admin,
    _async_url,
    postgres_available,
    redis_available,
)
from imgpro.accounts.passwords import PasswordHasher
from imgpro.accounts.service import AccountService
from imgpro.app import run_migrations
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.db.tables import images, workspaces
from imgpro.keys.service import KeyService, parse_abilities
from imgpro.settings import Settings

pytestmark = pytest.mark.slow

UPLOADS_LEFT = 10
UPLOAD_RACERS = 48
STORAGE_RACERS = 44
ANON_LIMIT = 5
ANON_RACERS = 16
PLANS = [
    {"name": "tiny", "uploads_per_month": UPLOADS_LEFT, "storage_bytes": None},
    {"name": "roomy", "uploads_per_month": None, "storage_bytes": None},  # limit set per run
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``uvicorn imgpro.app:create_app --factory`` in a process of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "imgpro.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, **env, "IMGPRO_PUBLIC_BASE_URL": self.base},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, deadline: float) -> None:
        while True:
            assert self.proc.poll() is None, f"server exited; see {self.log.name}"
            try:
                if httpx.get(f"{self.base}/v1/usage", timeout=2).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, migrated, that both server processes use."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        run_migrations(url)
        yield url
        return
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"imgpro_concurrency_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _async_url(PG_ADMIN_URL, name)
        run_migrations(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def account(db: Database, plan: str) -> tuple[str, dict[str, str]]:
    accounts = AccountService(db, Clock(), PasswordHasher(Settings().passwords))
    user = await accounts.create_user(
        f"{plan}-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery", plan=plan
    )
    secret, _ = await KeyService(db, Clock()).create(
        user_id=user.id,
        workspace_id=user.workspace_id,
        name="race",
        abilities=parse_abilities("read,write"),
    )
    return user.workspace_id, {"Authorization": f"Bearer {secret}"}


async def state(db: Database, workspace_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        ws = (
            await conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id))
        ).one()
        rows = (
            await conn.execute(
                sa.select(images.c.bytes).where(images.c.workspace_id == workspace_id)
            )
        ).all()
    return {
        "uploads_used": ws.uploads_used,
        "images_count": ws.images_count,
        "storage_used": ws.storage_used,
        "rows": len(rows),
        "row_bytes": sum(r[0] for r in rows),
    }


async def race(
    servers: list[Server], bodies: list[bytes], headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    """Send every body at once, alternating between the servers."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        f"{servers[i % len(servers)].base}/v1/images",
                        headers=headers or {},
                        files={"file": (f"r{i}.png", body, "image/png")},
                    )
                    for i, body in enumerate(bodies)
                )
            )
        )


def blob_count(data_dir: Path) -> int:
    originals = data_dir / "blobs" / "originals"
    return sum(1 for p in originals.rglob("*") if p.is_file()) if originals.exists() else 0


def temp_files(data_dir: Path) -> list[Path]:
    tmp = data_dir / "tmp"
    return [p for p in tmp.iterdir() if p.is_file()] if tmp.exists() else []


def test_quotas_are_exact_across_two_server_processes(shared_database, tmp_path, capsys):
    engine = "sqlite" if shared_database.startswith("sqlite") else "postgres"
    data_dir = tmp_path / "data"
    storage_bodies = [
        imagegen.png(12 + 3 * (i % 11), 10 + 2 * (i % 7)) for i in range(STORAGE_RACERS)
    ]
    storage_limit = sum(len(b) for b in storage_bodies) * 2 // 5  # room for ~40% of them
    plans = [dict(PLANS[0]), {**PLANS[1], "storage_bytes": storage_limit}]
    redis_prefix = f"imgpro-concurrency-{uuid.uuid4().hex}"
    use_redis = redis_available()
    env = {
        "IMGPRO_DATA_DIR": str(data_dir),
        "IMGPRO_DATABASE_URL": shared_database,
        "IMGPRO_PLANS": json.dumps(plans),
        "IMGPRO_SECRET_KEY": "race-secret",
        "IMGPRO_AUTO_MIGRATE": "false",
        "IMGPRO_RATE_LIMITS__ANON_UPLOADS": f"{ANON_LIMIT}/hour",
        "IMGPRO_RATE_LIMITS__KEY_PREFIX": redis_prefix,
        "IMGPRO_REDIS_URL": REDIS_URL if use_redis else "",
    }

    async def setup() -> tuple[tuple[str, dict[str, str]], tuple[str, dict[str, str]]]:
        db = Database(shared_database)
        try:
            return await account(db, "tiny"), await account(db, "roomy")
        finally:
            await db.dispose()

    (tiny_ws, tiny_headers), (roomy_ws, roomy_headers) = asyncio.run(setup())
    servers = [Server(env, tmp_path / f"server{n}.log") for n in range(2)]
    try:
        deadline = time.monotonic() + 60
        for server in servers:
            server.wait_ready(deadline)
        results = asyncio.run(
            run_races(servers, tiny_headers, roomy_headers, storage_bodies, use_redis)
        )
    finally:
        for server in servers:
            server.stop()
        if use_redis:
            asyncio.run(flush_redis(redis_prefix))

    uploads, storage, anon = results
    # -- the last N uploads of the month: exactly N admitted --------------------------------
    codes = [r.status_code for r in uploads]
    assert codes.count(201) == UPLOADS_LEFT, codes
    assert codes.count(403) == UPLOAD_RACERS - UPLOADS_LEFT, codes
    assert {r.json()["error"]["code"] for r in uploads if r.status_code == 403} == {
        "quota_exceeded"
    }
    admitted_servers = {r.url.port for r in uploads if r.status_code == 201}
    # -- the last bytes of storage: never past the limit, no false refusal -------------------
    stored = [len(b) for b, r in zip(storage_bodies, storage, strict=True) if r.status_code == 201]
    refused = [len(b) for b, r in zip(storage_bodies, storage, strict=True) if r.status_code == 403]
    assert len(stored) + len(refused) == STORAGE_RACERS, [r.status_code for r in storage]
    assert 0 < sum(stored) <= storage_limit
    assert all(sum(stored) + size > storage_limit for size in refused)
    assert {r.json()["error"]["message"] for r in storage if r.status_code == 403} == {
        "Storage limit reached: this upload would exceed the plan's storage."
    }

    async def check() -> tuple[dict[str, Any], dict[str, Any]]:
        db = Database(shared_database)
        try:
            return await state(db, tiny_ws), await state(db, roomy_ws)
        finally:
            await db.dispose()

    tiny, roomy = asyncio.run(check())
    assert tiny == {
        "uploads_used": UPLOADS_LEFT,
        "images_count": UPLOADS_LEFT,
        "storage_used": tiny["row_bytes"],
        "rows": UPLOADS_LEFT,
        "row_bytes": tiny["row_bytes"],
    }
    assert roomy == {
        "uploads_used": len(stored),
        "images_count": len(stored),
        "storage_used": sum(stored),
        "rows": len(stored),
        "row_bytes": sum(stored),
    }
    anon_admitted = [r.status_code for r in anon].count(201)
    # Nothing stored for a refusal: exactly the admitted originals, no temp files.
    assert blob_count(data_dir) == UPLOADS_LEFT + len(stored) + anon_admitted
    assert temp_files(data_dir) == []
    # -- Redis-shared anonymous limit: exactly the limit across both processes ---------------
    if use_redis:
        anon_codes = [r.status_code for r in anon]
        assert anon_codes.count(201) == ANON_LIMIT, anon_codes
        assert anon_codes.count(429) == ANON_RACERS - ANON_LIMIT, anon_codes
        assert all(r.headers["retry-after"] for r in anon if r.status_code == 429)

    with capsys.disabled():
        print(
            f"\n[{engine}] uploads: {codes.count(201)}/{UPLOAD_RACERS} admitted with "
            f"{UPLOADS_LEFT} left (servers {sorted(admitted_servers)}); storage: "
            f"{len(stored)}/{STORAGE_RACERS} admitted, {sum(stored)}/{storage_limit} bytes; "
            + (
                f"anonymous via Redis: {anon_admitted}/{ANON_RACERS} admitted (limit {ANON_LIMIT})"
                if use_redis
                else "Redis not reachable: anonymous race skipped"
            )
        )


async def run_races(
    servers: list[Server],
    tiny_headers: dict[str, str],
    roomy_headers: dict[str, str],
    storage_bodies: list[bytes],
    use_redis: bool,
) -> tuple[list[httpx.Response], ...]:
    uploads = await race(servers, [imagegen.png(20, 14)] * UPLOAD_RACERS, tiny_headers)
    storage = await race(servers, storage_bodies, roomy_headers)
    anon = await race(servers, [imagegen.png(9, 9)] * ANON_RACERS) if use_redis else []
    return uploads, storage, anon


async def flush_redis(prefix: str) -> None:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(REDIS_URL)
    async for key in r.scan_iter(match=f"{prefix}:*"):
        await r.delete(key)
    await r.aclose()
