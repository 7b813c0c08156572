"""Every SQL statement about API keys (the ``api_keys`` table); the use cases are in
service.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.engine import Database
from imgpro.db.tables import api_keys, workspaces


async def insert_key(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(api_keys.insert().values(**values))


async def keys_of_user(db: Database, user_id: str) -> list[sa.Row]:
    async with db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(api_keys)
                    .where(api_keys.c.user_id == user_id)
                    .order_by(api_keys.c.created_at.desc())
                )
            ).all()
        )


async def find_key(conn: AsyncConnection, key_id: str, user_id: str | None) -> sa.Row | None:
    """The key ``key_id`` (only among ``user_id``'s keys when given)."""
    query = sa.select(api_keys).where(api_keys.c.id == key_id)
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    return (await conn.execute(query)).first()


async def mark_revoked(conn: AsyncConnection, key_id: str, now: dt.datetime) -> None:
    await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=now))


async def key_by_hash(db: Database, digest: str) -> sa.Row | None:
    # Every API request comes through here: one SELECT, no transaction around it.
    return await db.fetch_first(
        sa.select(
            api_keys.c.id,
            api_keys.c.secret_hash,
            api_keys.c.abilities,
            api_keys.c.revoked_at,
            api_keys.c.last_used_at,
            api_keys.c.user_id,
            api_keys.c.workspace_id,
            workspaces.c.prefix,
        )
        .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
        .where(api_keys.c.secret_hash == digest)
    )


async def touch_last_used(db: Database, key_id: str, now: dt.datetime) -> None:
    # Best effort: a read-only or full store must not turn every read into an error.
    await db.touch(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=now))


# -- an account's deletion (accounts/) ---------------------------------------------------------


async def delete_keys_of_user(conn: AsyncConnection, user_id: str) -> int:
    """Delete the keys ``user_id`` made; returns how many went."""
    deleted = await conn.execute(api_keys.delete().where(api_keys.c.user_id == user_id))
    return int(deleted.rowcount or 0)


async def delete_keys_of_workspaces(conn: AsyncConnection, workspace_ids: Sequence[str]) -> None:
    await conn.execute(api_keys.delete().where(api_keys.c.workspace_id.in_(list(workspace_ids))))


async def delete_keys_of_account(
    conn: AsyncConnection, user_id: str, workspace_ids: Sequence[str]
) -> None:
    """Delete the keys ``user_id`` made and every key acting on one of ``workspace_ids``."""
    await conn.execute(
        api_keys.delete().where(
            sa.or_(api_keys.c.user_id == user_id, api_keys.c.workspace_id.in_(list(workspace_ids)))
        )
    )
