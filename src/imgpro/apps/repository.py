"""Every SQL statement of the apps domain: the ``apps`` rows, their machine secrets
(``app_secrets``), hosted-login codes (``connect_codes``) and the workspaces an app reaches.

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
from imgpro.db.tables import app_secrets, apps, connect_codes, users, workspaces

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
