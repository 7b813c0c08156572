"""The SQL of hosted login (``connect.py``): single-use codes (``connect_codes``) and the
per-user workspaces an app reaches through them. Each function runs in the connection (the
transaction) its caller passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import apps, connect_codes, users, workspaces

# -- hosted-login codes and the workspaces they open ---------------------------------------------


async def insert_connect_code(
    conn: AsyncConnection,
    *,
    code_hash: str,
    app_id: str,
    user_id: str,
    redirect_uri: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        connect_codes.insert().values(
            code_hash=code_hash,
            app_id=app_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def claim_code(
    conn: AsyncConnection, code_hash: str, *, app_id: str, redirect_uri: str, now: dt.datetime
) -> bool:
    """Mark an unused, unexpired code of this app and redirect URI used. Single use: the
    UPDATE that marks it used is also the check that it wasn't (True if it matched)."""
    claimed = await conn.execute(
        connect_codes.update()
        .where(
            connect_codes.c.code_hash == code_hash,
            connect_codes.c.used_at.is_(None),
            connect_codes.c.expires_at > now,
            connect_codes.c.app_id == app_id,
            connect_codes.c.redirect_uri == redirect_uri,
        )
        .values(used_at=now)
    )
    return bool(claimed.rowcount == 1)


async def code_user(conn: AsyncConnection, code_hash: str) -> sa.Row:
    """Id and email of the user a (claimed) code was issued to."""
    return (
        await conn.execute(
            sa.select(users.c.id, users.c.email)
            .join(connect_codes, connect_codes.c.user_id == users.c.id)
            .where(connect_codes.c.code_hash == code_hash)
        )
    ).one()


async def app_user_workspace(conn: AsyncConnection, user_id: str, app_id: str) -> sa.Row | None:
    """The user's workspace inside the app, disconnected or not."""
    return (
        await conn.execute(
            sa.select(workspaces).where(
                workspaces.c.user_id == user_id,
                workspaces.c.app_id == app_id,
                workspaces.c.kind == "app_user",
            )
        )
    ).first()


async def reconnect_workspace(conn: AsyncConnection, workspace_id: str) -> None:
    await conn.execute(
        workspaces.update().where(workspaces.c.id == workspace_id).values(disconnected_at=None)
    )


async def connections(conn: AsyncConnection, user_id: str) -> list[sa.Row]:
    """The user's open app workspaces, oldest first, each with its app's name."""
    return list(
        (
            await conn.execute(
                sa.select(workspaces, apps.c.name.label("app_name"))
                .join(apps, apps.c.id == workspaces.c.app_id)
                .where(
                    workspaces.c.user_id == user_id,
                    workspaces.c.kind == "app_user",
                    workspaces.c.disconnected_at.is_(None),
                )
                .order_by(workspaces.c.created_at)
            )
        ).all()
    )


async def disconnect(conn: AsyncConnection, user_id: str, app_id: str, now: dt.datetime) -> bool:
    """Close the user's open workspace inside the app; False if there was none."""
    result = await conn.execute(
        workspaces.update()
        .where(
            workspaces.c.user_id == user_id,
            workspaces.c.app_id == app_id,
            workspaces.c.kind == "app_user",
            workspaces.c.disconnected_at.is_(None),
        )
        .values(disconnected_at=now)
    )
    return bool(result.rowcount == 1)


async def delete_connect_codes_of_user(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(connect_codes.delete().where(connect_codes.c.user_id == user_id))


async def delete_connect_codes_of_account(
    conn: AsyncConnection, user_id: str, app_ids: Sequence[str]
) -> None:
    """The user's hosted-login codes and every code of the apps ``app_ids``."""
    await conn.execute(
        connect_codes.delete().where(
            sa.or_(connect_codes.c.user_id == user_id, connect_codes.c.app_id.in_(list(app_ids)))
        )
    )
