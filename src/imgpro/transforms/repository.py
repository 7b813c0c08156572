"""SQL for the transform configuration a workspace owns: presets and signed-transform settings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.engine import Database
from imgpro.db.tables import presets, transform_settings


def decode_params(raw: Any) -> dict[str, str]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return {str(k): str(v) for k, v in (value or {}).items()}


def select_preset(workspace_id: str, name: str) -> sa.Select[Any]:
    return sa.select(presets).where(presets.c.workspace_id == workspace_id, presets.c.name == name)


async def find_preset(db: Database, workspace_id: str, name: str) -> sa.Row[Any] | None:
    """One preset, read on its own (no transaction): the API and the CDN's preset lookup."""
    return await db.fetch_first(select_preset(workspace_id, name))


async def list_presets(db: Database, workspace_id: str) -> list[sa.Row[Any]]:
    return await db.fetch(
        sa.select(presets).where(presets.c.workspace_id == workspace_id).order_by(presets.c.name)
    )


async def get_preset(conn: AsyncConnection, workspace_id: str, name: str) -> sa.Row[Any] | None:
    return (await conn.execute(select_preset(workspace_id, name))).first()


async def upsert_preset(
    conn: AsyncConnection,
    workspace_id: str,
    name: str,
    params: dict[str, str],
    now: dt.datetime,
    *,
    limit: int,
) -> bool | None:
    """True if created, False if replaced, None if the workspace already holds ``limit``."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    updated = await conn.execute(
        sa.update(presets)
        .where(presets.c.workspace_id == workspace_id, presets.c.name == name)
        .values(params=text, updated_at=now)
    )
    if updated.rowcount:
        return False
    count = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(presets)
            .where(presets.c.workspace_id == workspace_id)
        )
    ).scalar_one()
    if count >= limit:
        return None
    await conn.execute(
        sa.insert(presets).values(
            workspace_id=workspace_id, name=name, params=text, created_at=now, updated_at=now
        )
    )
    return True


async def delete_preset(conn: AsyncConnection, workspace_id: str, name: str) -> bool:
    result = await conn.execute(
        sa.delete(presets).where(presets.c.workspace_id == workspace_id, presets.c.name == name)
    )
    return bool(result.rowcount)


async def find_settings(db: Database, workspace_id: str) -> sa.Row[Any] | None:
    """A workspace's signed-transform settings, or None before it ever set them."""
    return await db.fetch_first(
        sa.select(transform_settings).where(transform_settings.c.workspace_id == workspace_id)
    )


async def save_settings(
    conn: AsyncConnection,
    workspace_id: str,
    *,
    now: dt.datetime,
    signed: bool | None = None,
    secret: str | None = None,
) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if signed is not None:
        values["signed_transforms"] = signed
    if secret is not None:
        values["signing_secret"] = secret
    updated = await conn.execute(
        sa.update(transform_settings)
        .where(transform_settings.c.workspace_id == workspace_id)
        .values(**values)
    )
    if not updated.rowcount:
        await conn.execute(
            sa.insert(transform_settings).values(
                workspace_id=workspace_id,
                signed_transforms=bool(signed),
                signing_secret=secret,
                updated_at=now,
            )
        )


async def delete_workspace_rows(conn: AsyncConnection, workspace_id: str) -> None:
    await conn.execute(sa.delete(presets).where(presets.c.workspace_id == workspace_id))
    await conn.execute(
        sa.delete(transform_settings).where(transform_settings.c.workspace_id == workspace_id)
    )
