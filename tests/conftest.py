"""Shared fixtures: a real app on a real database (SQLite file, or PostgreSQL when reachable).

Every test that takes ``app``/``client`` runs twice: on SQLite and on PostgreSQL. The PostgreSQL
variant needs a server at ``IMGPRO_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432)
and skips with the reason when it is not reachable; CI makes sure it is.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import sqlalchemy as sa

from imgpro.app import create_app, run_migrations
from imgpro.clock import FrozenClock
from imgpro.ids import shard_prefix
from imgpro.settings import PasswordSettings, Settings

PG_ADMIN_URL = os.environ.get("IMGPRO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("IMGPRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ANON_PREFIX = shard_prefix("anonymous")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _require_services() -> bool:
    # CI sets this so a missing server fails loudly instead of skipping quietly.
    return os.environ.get("IMGPRO_TEST_REQUIRE_SERVICES") == "1"


def postgres_available() -> bool:
    ok = _reachable(PG_ADMIN_URL, 5432)
    if not ok and _require_services():
        raise RuntimeError(f"PostgreSQL required but not reachable at {PG_ADMIN_URL}")
    return ok


def redis_available() -> bool:
    ok = _reachable(REDIS_URL, 6379)
    if not ok and _require_services():
        raise RuntimeError(f"Redis required but not reachable at {REDIS_URL}")
    return ok


# -- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "imgpro.db"
    run_migrations(f"sqlite+aiosqlite:///{path}")
    return path


async def _admin(*statements: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(_async_url(PG_ADMIN_URL, "postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for statement in statements:
            await conn.execute(sa.text(statement))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A database of this test worker's own, migrated once; tables are emptied per test."""
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"imgpro_test_{worker_id}_{os.getpid()}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    url = _async_url(PG_ADMIN_URL, name)
    run_migrations(url)
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _async_url(base: str, dbname: str) -> str:
    parsed = urlparse(base)
    return parsed._replace(scheme="postgresql+asyncpg", path=f"/{dbname}").geturl()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "imgpro.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    yield url


def _truncate_postgres(url: str) -> None:
    """Empty every table but keep what the migrations seed (the anonymous workspace)."""
    from imgpro.db.tables import metadata

    async def run() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        async with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await conn.execute(
                sa.text(
                    "INSERT INTO workspaces (id, kind, prefix, plan, period, uploads_used, "
                    "storage_used, images_count, created_at) VALUES ('anonymous', 'anonymous', "
                    f"'{ANON_PREFIX}', 'free', '', 0, 0, 0, now())"
                )
            )
        await engine.dispose()

    asyncio.run(run())


# Still Argon2id, with test-sized costs: the suite creates accounts and logs in hundreds of
# times. Production uses argon2-cffi's RFC 9106 defaults (PasswordSettings).
TEST_PASSWORDS = {"time_cost": 1, "memory_cost_kib": 8 * 1024, "parallelism": 1}


@pytest.fixture(autouse=True)
def cheaper_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test costs reach every Settings() a test builds, in process or in a server
    process it starts, the way an operator would set them: IMGPRO_PASSWORDS__*."""
    for name, value in TEST_PASSWORDS.items():
        monkeypatch.setenv(f"IMGPRO_PASSWORDS__{name.upper()}", str(value))


# -- the app ------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        secret_key="test-secret-key",
        passwords=PasswordSettings(**TEST_PASSWORDS),
    )


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[Any]:
    application = create_app(settings, clock=clock)
    yield application
    await application.state.close()  # what the lifespan's shutdown releases in serve


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def services(app: Any) -> Any:
    return app.state.services


# -- object storage ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """moto's S3 server on 127.0.0.1, one per test worker (skips without moto; see s3server)."""
    from s3server import CREDENTIALS, MotoServer, skip_without_moto

    skip_without_moto()
    os.environ.update(CREDENTIALS)  # aiobotocore's credential chain reads these
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def s3_settings(s3_server: Any) -> Any:
    """S3 settings naming a fresh bucket of this test's own."""
    from imgpro.settings import S3Settings

    return S3Settings(
        bucket=s3_server.new_bucket(),
        endpoint_url=s3_server.url,
        region="us-east-1",
        prefix="t/",
        multipart_part_mb=5,
    )
