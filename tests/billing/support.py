"""Helpers for the billing tests: apps with other settings, counters, what is on disk."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from imgpro.app import create_app
from imgpro.clock import Clock
from imgpro.db.tables import images, workspaces
from imgpro.settings import PlanSettings, Settings

TEST_PEER = "203.0.113.7"


def plans(*specs: dict[str, Any]) -> list[PlanSettings]:
    return [PlanSettings(**spec) for spec in specs]


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, clock: Clock, *, peer: str = TEST_PEER, **update: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A client on an app built from ``settings`` with ``update`` applied; yields
    (client, services)."""
    app = create_app(settings.model_copy(update=update), clock=clock)
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, app.state.services
    finally:
        await app.state.close()


async def workspace(services: Any, workspace_id: str) -> Any:
    async with services.db.read() as conn:
        return (
            await conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id))
        ).one()


async def set_counters(services: Any, workspace_id: str, **values: Any) -> None:
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update().where(workspaces.c.id == workspace_id).values(**values)
        )


async def rows_of(services: Any, workspace_id: str) -> tuple[int, int]:
    """(image rows, sum of their bytes) of a workspace."""
    async with services.db.read() as conn:
        n, total = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(images.c.bytes), 0)).where(
                    images.c.workspace_id == workspace_id
                )
            )
        ).one()
    return int(n), int(total)


def stored_files(settings: Settings) -> list[Path]:
    """Originals in the blob store, plus anything left in the temp directory."""
    blobs = settings.resolved_storage_dir / "originals"
    tmp = settings.data_dir / "tmp"
    found = [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []
    return found + ([p for p in tmp.iterdir() if p.is_file()] if tmp.exists() else [])
