"""The SQL of the apps domain's own rows: ``apps`` and their machine secrets (``app_secrets``).
Hosted-login codes and the workspaces they open are in ``connect_repository.py``.

Each function runs in the connection (the transaction) its caller passes; the two hot reads of
an app request (:func:`secret_row`, :func:`connected_workspace`) are single SELECTs through
``Database.fetch_first``, with no transaction around them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.apps.models import App, AppStats, SecretInfo, _app, secret_info
from imgpro.db.engine import Database
from imgpro.db.tables import app_secrets, apps, users, workspaces

# -- apps ----------------------------------------------------------------------------------------


async def lock_owner_plan(conn: AsyncConnection, owner_user_id: str) -> str | None:
    """The plan of the owner's account workspace, its row locked for this transaction
    (PostgreSQL; SQLite's write transaction is exclusive already)."""
    return await conn.scalar(
        sa.select(workspaces.c.plan)
        .where(workspaces.c.user_id == owner_user_id, workspaces.c.kind == "account")
        .with_for_update()
    )


async def count_owned(conn: AsyncConnection, owner_user_id: str) -> int:
    """How many apps the owner has registered."""
    return int(
        await conn.scalar(
            sa.select(sa.func.count())
            .select_from(apps)
            .where(apps.c.owner_user_id == owner_user_id)
        )
        or 0
    )


async def app_id_taken(conn: AsyncConnection, app_id: str) -> bool:
    return await conn.scalar(sa.select(apps.c.id).where(apps.c.id == app_id)) is not None


async def insert_app(
    conn: AsyncConnection,
    *,
    app_id: str,
    owner_user_id: str,
    name: str,
    redirect_uris: Sequence[str],
    now: dt.datetime,
) -> None:
    await conn.execute(
        apps.insert().values(
            id=app_id,
            owner_user_id=owner_user_id,
            name=name,
            redirect_uris=list(redirect_uris),
            created_at=now,
        )
    )


async def app_by_id(conn: AsyncConnection, app_id: str) -> App | None:
    row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).first()
    return None if row is None else _app(row)


async def owned_app(conn: AsyncConnection, owner_user_id: str, app_id: str) -> App | None:
    row = (
        await conn.execute(
            sa.select(apps).where(apps.c.id == app_id, apps.c.owner_user_id == owner_user_id)
        )
    ).first()
    return None if row is None else _app(row)


async def owned_apps(conn: AsyncConnection, owner_user_id: str) -> list[App]:
    """The owner's apps, oldest first."""
    rows = (
        await conn.execute(
            sa.select(apps).where(apps.c.owner_user_id == owner_user_id).order_by(apps.c.created_at)
        )
    ).all()
    return [_app(r) for r in rows]


async def all_apps(conn: AsyncConnection) -> list[App]:
    """Every app, oldest first (the operator)."""
    return [
        _app(r) for r in (await conn.execute(sa.select(apps).order_by(apps.c.created_at))).all()
    ]


async def app_stats(conn: AsyncConnection, app_id: str) -> AppStats:
    """The app's connected users and their totals, and its own storage workspace's counters."""
    users_count = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(workspaces)
        .where(
            workspaces.c.app_id == app_id,
            workspaces.c.kind == "app_user",
            workspaces.c.disconnected_at.is_(None),
        )
    )
    totals = (
        await conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(workspaces.c.images_count), 0),
                sa.func.coalesce(sa.func.sum(workspaces.c.storage_used), 0),
            ).where(workspaces.c.app_id == app_id, workspaces.c.kind == "app_user")
        )
    ).one()
    storage = (
        await conn.execute(
            sa.select(
                workspaces.c.id,
                workspaces.c.plan,
                workspaces.c.images_count,
                workspaces.c.storage_used,
            ).where(workspaces.c.app_id == app_id, workspaces.c.kind == "app")
        )
    ).first()
    stats = AppStats(
        connected_users=int(users_count or 0),
        images=int(totals[0]),
        storage_bytes=int(totals[1]),
    )
    if storage is None:
        return stats
    return replace(
        stats,
        storage_workspace_id=storage.id,
        storage_plan=storage.plan,
        storage_images=int(storage.images_count),
        storage_used=int(storage.storage_used),
    )


async def mark_secret_rotated(conn: AsyncConnection, app_id: str, now: dt.datetime) -> None:
    await conn.execute(apps.update().where(apps.c.id == app_id).values(secret_rotated_at=now))


async def set_redirect_uris(
    conn: AsyncConnection, app_id: str, redirect_uris: Sequence[str]
) -> None:
    await conn.execute(
        apps.update().where(apps.c.id == app_id).values(redirect_uris=list(redirect_uris))
    )


async def set_paused(conn: AsyncConnection, app_id: str, paused: bool) -> None:
    await conn.execute(apps.update().where(apps.c.id == app_id).values(paused=paused))


async def set_blocked(conn: AsyncConnection, app_id: str, blocked: bool) -> bool:
    """Whether the app exists (and now has ``blocked`` set)."""
    result = await conn.execute(apps.update().where(apps.c.id == app_id).values(blocked=blocked))
    return bool(result.rowcount == 1)


async def user_id_by_email(conn: AsyncConnection, email: str) -> str | None:
    """The user id of a normalised ``email``, or None."""
    user_id = await conn.scalar(sa.select(users.c.id).where(users.c.email == email))
    return None if user_id is None else str(user_id)


# -- authentication (the hot path of every app request) -----------------------------------------


async def secret_row(db: Database, digest: str) -> sa.Row | None:
    """One SELECT: the secret with this hash, its app, and the app's own storage workspace."""
    storage = workspaces.alias("storage")
    return await db.fetch_first(
        sa.select(
            apps,
            app_secrets.c.id.label("secret_id"),
            app_secrets.c.secret_hash,
            app_secrets.c.revoked_at,
            app_secrets.c.last_used_at,
            storage.c.id.label("storage_id"),
            storage.c.prefix.label("storage_prefix"),
        )
        .select_from(
            app_secrets.join(apps, apps.c.id == app_secrets.c.app_id).outerjoin(
                storage, sa.and_(storage.c.app_id == apps.c.id, storage.c.kind == "app")
            )
        )
        .where(app_secrets.c.secret_hash == digest)
    )


async def touch_secret(conn: AsyncConnection, secret_id: str, now: dt.datetime) -> None:
    await conn.execute(
        app_secrets.update().where(app_secrets.c.id == secret_id).values(last_used_at=now)
    )


async def connected_workspace(db: Database, user_id: str, app_id: str) -> sa.Row | None:
    """One SELECT: id and prefix of the user's open workspace inside the app, or None."""
    return await db.fetch_first(
        sa.select(workspaces.c.id, workspaces.c.prefix).where(
            workspaces.c.user_id == user_id,
            workspaces.c.app_id == app_id,
            workspaces.c.kind == "app_user",
            workspaces.c.disconnected_at.is_(None),
        )
    )


# -- secrets -------------------------------------------------------------------------------------


async def insert_secret(conn: AsyncConnection, info: SecretInfo, secret_hash: str) -> None:
    await conn.execute(
        app_secrets.insert().values(
            id=info.id,
            app_id=info.app_id,
            name=info.name,
            secret_hash=secret_hash,
            display_prefix=info.display_prefix,
            created_at=info.created_at,
        )
    )


async def secrets_of(
    conn: AsyncConnection, app_id: str, *, include_revoked: bool = False
) -> list[SecretInfo]:
    """The app's secrets, oldest first: the active ones, or all of them."""
    query = (
        sa.select(app_secrets)
        .where(app_secrets.c.app_id == app_id)
        .order_by(app_secrets.c.created_at, app_secrets.c.id)
    )
    if not include_revoked:
        query = query.where(app_secrets.c.revoked_at.is_(None))
    return [secret_info(r) for r in (await conn.execute(query)).all()]


async def active_secrets(
    conn: AsyncConnection, app_id: str, *, secret_id: str | None = None
) -> list[SecretInfo]:
    """The app's active secrets (or just ``secret_id``, if active), in no particular order."""
    query = sa.select(app_secrets).where(
        app_secrets.c.app_id == app_id, app_secrets.c.revoked_at.is_(None)
    )
    if secret_id is not None:
        query = query.where(app_secrets.c.id == secret_id)
    return [secret_info(r) for r in (await conn.execute(query)).all()]


async def revoke_secrets(
    conn: AsyncConnection, secret_ids: Sequence[str], now: dt.datetime
) -> None:
    await conn.execute(
        app_secrets.update().where(app_secrets.c.id.in_(list(secret_ids))).values(revoked_at=now)
    )


async def app_name_and_owner(db: Database, app_id: str) -> sa.Row | None:
    return await db.fetch_first(
        sa.select(apps.c.name, apps.c.owner_user_id).where(apps.c.id == app_id)
    )


# -- what an account's deletion takes with it ----------------------------------------------------


async def owned_app_ids(conn: AsyncConnection, user_id: str) -> list[str]:
    return list(
        (
            await conn.execute(
                sa.select(apps.c.id).where(apps.c.owner_user_id == user_id).order_by(apps.c.id)
            )
        ).scalars()
    )


async def delete_app_secrets(conn: AsyncConnection, app_ids: Sequence[str]) -> None:
    await conn.execute(app_secrets.delete().where(app_secrets.c.app_id.in_(list(app_ids))))


async def delete_apps(conn: AsyncConnection, app_ids: Sequence[str]) -> None:
    await conn.execute(apps.delete().where(apps.c.id.in_(list(app_ids))))
