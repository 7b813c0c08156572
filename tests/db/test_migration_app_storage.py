"""Migration 0009_app_storage on a database with data, on SQLite and PostgreSQL: every counter
survives, each app's secret keeps working (now a named secret), and each app gets its storage.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import PG_ADMIN_URL, _admin, _async_url, postgres_available
from imgpro.app import create_app
from imgpro.db import migrate
from imgpro.settings import Settings

SECRET = "img_sk_live_" + "s" * 32
NOW = dt.datetime(2026, 11, 15, 12, 0)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"imgpro_migration_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield _async_url(PG_ADMIN_URL, name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, *statements: str, params: dict | None = None) -> list:
    engine = create_async_engine(url)
    rows: list = []
    async with engine.begin() as conn:
        for statement in statements:
            result = await conn.execute(sa.text(statement), params or {})
            if result.returns_rows:
                rows.extend(result.mappings().all())
    await engine.dispose()
    return rows


def _seed_at_0005(url: str) -> None:
    """What a 0005 database holds after some use: an account on pro with counters, an app with
    its one secret, a user's workspace inside the app, anonymous traffic."""
    params = {"now": NOW, "hash": hashlib.sha256(SECRET.encode()).hexdigest()}
    asyncio.run(
        _sql(
            url,
            "INSERT INTO users (id, email, password_hash, created_at) VALUES "
            "('u_owner', 'owner@example.com', 'x', :now), "
            "('u_alice', 'alice@example.com', 'x', :now)",
            "INSERT INTO workspaces (id, kind, user_id, app_id, prefix, plan, period, "
            "uploads_used, storage_used, images_count, created_at) VALUES "
            "('ws_owner', 'account', 'u_owner', NULL, 'abc', 'pro', '2026-11', 42, 123456, 17, "
            ":now), ('ws_alice', 'account', 'u_alice', NULL, 'def', 'free', '2026-10', 7, 999, "
            "2, :now), ('ws_alice_app', 'app_user', 'u_alice', 'app00001', 'ghi', 'free', "
            "'2026-11', 5, 4096, 3, :now)",
            "UPDATE workspaces SET uploads_used = 300, storage_used = 77777, images_count = 250, "
            "period = '2026-11' WHERE id = 'anonymous'",
            "INSERT INTO apps (id, owner_user_id, name, secret_hash, secret_prefix, redirect_uris, "
            "paused, blocked, created_at) VALUES ('app00001', 'u_owner', 'Gallery', :hash, "
            "'img_sk_live_ssss', '[\"https://g.example.com/cb\"]', false, false, :now)",
            params=params,
        )
    )


COUNTERS = (
    "SELECT id, kind, plan, period, uploads_used, storage_used, images_count "
    "FROM workspaces ORDER BY id"
)


def test_upgrading_a_0005_database_keeps_every_counter_and_every_secret(empty_url, tmp_path):
    migrate.upgrade(empty_url, "0005")
    _seed_at_0005(empty_url)
    before = [dict(r) for r in asyncio.run(_sql(empty_url, COUNTERS))]

    migrate.upgrade(empty_url)

    after = {r["id"]: dict(r) for r in asyncio.run(_sql(empty_url, COUNTERS))}
    for row in before:  # every workspace, untouched
        assert after.pop(row["id"]) == row
    (storage,) = after.values()  # the one new workspace: the app's own storage
    assert (
        storage["kind"],
        storage["plan"],
        storage["uploads_used"],
        storage["storage_used"],
        storage["images_count"],
    ) == ("app", "free", 0, 0, 0)
    secrets = asyncio.run(
        _sql(
            empty_url,
            "SELECT app_id, name, secret_hash, display_prefix, revoked_at FROM app_secrets",
        )
    )
    assert [(s["app_id"], s["name"], s["display_prefix"], s["revoked_at"]) for s in secrets] == [
        ("app00001", "default", "img_sk_live_ssss", None)
    ]

    # The pre-migration secret still works: for the user's workspace and on the app storage.
    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            database_url=empty_url,
            auto_migrate=False,
            secret_key="k",
            public_base_url="http://t",
        )
    )

    async def use() -> tuple[dict, dict]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {SECRET}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            alice = await c.get("/v1/usage", headers={**headers, "X-Img-User": "u_alice"})
            own = await c.get("/v1/usage", headers=headers)
        await app.state.close()
        return alice.json(), own.json()

    alice, own = asyncio.run(use())
    assert (
        alice["limits"]["images"]["used"] == 3 and alice["limits"]["storage_bytes"]["used"] == 4096
    )
    assert own["plan"] == "free" and own["totals"]["images_stored"] == 0

    # And back: the secret returns to the apps table; the counters are still there.
    migrate_downgrade(empty_url, "0005")
    rows = asyncio.run(_sql(empty_url, "SELECT secret_hash FROM apps"))
    assert [r["secret_hash"] for r in rows] == [hashlib.sha256(SECRET.encode()).hexdigest()]
    again = {r["id"]: dict(r) for r in asyncio.run(_sql(empty_url, COUNTERS))}
    assert all(again[row["id"]] == row for row in before)
    migrate.upgrade(empty_url)  # and forward again


def migrate_downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(url), revision)
