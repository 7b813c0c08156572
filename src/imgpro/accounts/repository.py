"""Every SQL statement of the account use cases (service.py): users, their account
workspaces, sessions, and what the operator's account chores read and delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts.models import User
from imgpro.db.engine import Database
from imgpro.db.tables import (
    api_keys,
    apps,
    connect_codes,
    image_tombstones,
    images,
    plan_requests,
    sessions,
    users,
    workspaces,
)
from imgpro.images import repository as image_repo
from imgpro.transforms import repository as transform_repo

_ACCOUNT_WORKSPACE = sa.and_(workspaces.c.user_id == users.c.id, workspaces.c.kind == "account")


# -- users and workspaces ----------------------------------------------------------------------


async def create_workspace(
    conn: AsyncConnection,
    *,
    kind: str,
    now: dt.datetime,
    user_id: str | None = None,
    app_id: str | None = None,
    plan: str = "free",
    workspace_id: str | None = None,
) -> str:
    wid = workspace_id or ids.short_id(12)
    await conn.execute(
        workspaces.insert().values(
            id=wid,
            kind=kind,
            user_id=user_id,
            app_id=app_id,
            prefix=ids.shard_prefix(wid),
            plan=plan,
            period=now.strftime("%Y-%m"),
            created_at=now,
        )
    )
    return wid


async def insert_user(
    conn: AsyncConnection,
    *,
    user_id: str,
    email: str,
    password_hash: str,
    now: dt.datetime,
    verified: bool,
) -> None:
    await conn.execute(
        users.insert().values(
            id=user_id,
            email=email,
            password_hash=password_hash,
            created_at=now,
            email_verified_at=now if verified else None,
        )
    )


async def find_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The account of a normalised ``email`` (service.normalise_email), or None."""
    row = (
        await conn.execute(
            sa.select(users.c.id, users.c.email, users.c.created_at, workspaces.c.id.label("wid"))
            .join(workspaces, _ACCOUNT_WORKSPACE)
            .where(users.c.email == email)
        )
    ).first()
    if row is None:
        return None
    return User(id=row.id, email=row.email, workspace_id=row.wid, created_at=row.created_at)


async def login_row(db: Database, email: str) -> sa.Row | None:
    """What a password sign-in needs about a normalised ``email``."""
    async with db.read() as conn:
        return (
            await conn.execute(
                sa.select(
                    users.c.id,
                    users.c.email,
                    users.c.password_hash,
                    users.c.created_at,
                    workspaces.c.id.label("wid"),
                )
                .join(workspaces, _ACCOUNT_WORKSPACE)
                .where(users.c.email == email)
            )
        ).first()


async def user_id_by_email(conn: AsyncConnection, email: str) -> tuple[str, str] | None:
    row = (
        await conn.execute(sa.select(users.c.id, users.c.email).where(users.c.email == email))
    ).first()
    return None if row is None else (str(row.id), str(row.email))


async def set_password_hash(conn: AsyncConnection, user_id: str, password_hash: str) -> None:
    await conn.execute(
        users.update().where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def owned_workspace_plan(db: Database, workspace_id: str, user_id: str) -> str | None:
    async with db.read() as conn:
        row = (
            await conn.execute(
                sa.select(workspaces.c.plan).where(
                    workspaces.c.id == workspace_id, workspaces.c.user_id == user_id
                )
            )
        ).first()
    return None if row is None else str(row.plan)


async def account_rows(db: Database) -> list[sa.Row]:
    """Every account, oldest first, with its own workspace's plan, counters and live keys."""
    live_keys = (
        sa.select(sa.func.count())
        .select_from(api_keys)
        .where(api_keys.c.user_id == users.c.id, api_keys.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    query = (
        sa.select(
            users.c.id,
            users.c.email,
            users.c.created_at,
            workspaces.c.plan,
            workspaces.c.images_count,
            workspaces.c.storage_used,
            live_keys.label("keys"),
        )
        .join(workspaces, _ACCOUNT_WORKSPACE)
        .order_by(users.c.created_at, users.c.id)
    )
    async with db.read() as conn:
        return list((await conn.execute(query)).all())


# -- sessions ----------------------------------------------------------------------------------


async def insert_session(
    conn: AsyncConnection, *, digest: str, user_id: str, now: dt.datetime, expires_at: dt.datetime
) -> None:
    await conn.execute(
        sessions.insert().values(
            token_hash=digest,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


async def delete_session(conn: AsyncConnection, digest: str) -> None:
    await conn.execute(sessions.delete().where(sessions.c.token_hash == digest))


async def delete_dead_sessions(
    conn: AsyncConnection, user_id: str, *, now: dt.datetime, idle_since: dt.datetime
) -> None:
    await conn.execute(
        sessions.delete().where(
            sessions.c.user_id == user_id,
            sa.or_(sessions.c.expires_at <= now, sessions.c.last_seen_at <= idle_since),
        )
    )


async def delete_user_sessions(
    conn: AsyncConnection, user_id: str, keep_digest: str | None = None
) -> None:
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if keep_digest:
        query = query.where(sessions.c.token_hash != keep_digest)
    await conn.execute(query)


async def session_row(db: Database, digest: str) -> sa.Row | None:
    # Every signed-in page comes through here: one SELECT, no transaction around it.
    return await db.fetch_first(
        sa.select(
            sessions.c.expires_at,
            sessions.c.last_seen_at,
            users.c.id,
            users.c.email,
            users.c.email_verified_at,
            workspaces.c.id.label("wid"),
            workspaces.c.prefix,
            workspaces.c.plan,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .join(workspaces, _ACCOUNT_WORKSPACE)
        .where(sessions.c.token_hash == digest)
    )


async def touch_session(db: Database, digest: str, now: dt.datetime) -> None:
    await db.touch(
        sessions.update().where(sessions.c.token_hash == digest).values(last_seen_at=now)
    )


# -- the operator's account deletion ----------------------------------------------------------


async def owned_app_ids(conn: AsyncConnection, user_id: str) -> list[str]:
    return list(
        (
            await conn.execute(
                sa.select(apps.c.id).where(apps.c.owner_user_id == user_id).order_by(apps.c.id)
            )
        ).scalars()
    )


async def workspace_ids_of_user(conn: AsyncConnection, user_id: str) -> list[str]:
    return list(
        (
            await conn.execute(sa.select(workspaces.c.id).where(workspaces.c.user_id == user_id))
        ).scalars()
    )


async def delete_image_batch(
    conn: AsyncConnection, workspace_ids: Sequence[str], limit: int, now: dt.datetime
) -> list[Any]:
    """Delete (through the images domain's own delete) up to ``limit`` images of these
    workspaces; returns their rows, for the blobs to go after the commit."""
    rows = list(
        (
            await conn.execute(
                sa.select(images)
                .where(images.c.workspace_id.in_(workspace_ids))
                .order_by(images.c.seq)
                .limit(limit)
            )
        ).all()
    )
    await image_repo.delete_rows(conn, rows, now)
    return rows


async def delete_user_rows(
    conn: AsyncConnection, user_id: str, workspace_ids: Sequence[str]
) -> int:
    """Delete a user (whose images are gone) with its keys, sessions, codes, plan requests,
    presets and workspaces; returns how many of its own keys went."""
    keys = (await conn.execute(api_keys.delete().where(api_keys.c.user_id == user_id))).rowcount
    await conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    await conn.execute(connect_codes.delete().where(connect_codes.c.user_id == user_id))
    await conn.execute(
        plan_requests.delete().where(
            sa.or_(
                plan_requests.c.user_id == user_id, plan_requests.c.workspace_id.in_(workspace_ids)
            )
        )
    )
    await conn.execute(
        image_tombstones.delete().where(image_tombstones.c.workspace_id.in_(workspace_ids))
    )
    await conn.execute(api_keys.delete().where(api_keys.c.workspace_id.in_(workspace_ids)))
    for wid in workspace_ids:
        await transform_repo.delete_workspace_rows(conn, wid)  # presets, signing settings
    await conn.execute(workspaces.delete().where(workspaces.c.id.in_(workspace_ids)))
    await conn.execute(users.delete().where(users.c.id == user_id))
    return int(keys or 0)
