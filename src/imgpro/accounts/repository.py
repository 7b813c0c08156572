"""Every SQL statement of the account use cases on users, their workspaces, sessions and
quota notices (service.py, profile.py, codes.py, recovery.py, notify.py). Email tokens are in
tokens_repository.py, deleting an account in deletion_repository.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts.models import User
from imgpro.db.engine import Database
from imgpro.db.tables import api_keys, mail_notices, sessions, users, workspaces

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


async def profile_row(db: Database, user_id: str) -> sa.Row[Any] | None:
    """The whole ``users`` row (the account page)."""
    return await db.fetch_first(sa.select(users).where(users.c.id == user_id))


async def email_of(conn: AsyncConnection, user_id: str) -> str | None:
    email = await conn.scalar(sa.select(users.c.email).where(users.c.id == user_id))
    return None if email is None else str(email)


async def mark_email_verified(conn: AsyncConnection, user_id: str, now: dt.datetime) -> None:
    """The address counts as verified from ``now`` (unless it already did)."""
    await conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.email_verified_at.is_(None))
        .values(email_verified_at=now)
    )


async def verify_current_email(
    conn: AsyncConnection, user_id: str, email: str, now: dt.datetime
) -> bool:
    """Mark ``email`` verified if it is still the account's address (an earlier verification
    time stands); False if the account now uses another address (or is gone)."""
    result = await conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.email == email)
        .values(email_verified_at=sa.func.coalesce(users.c.email_verified_at, now))
    )
    return result.rowcount == 1


async def change_email(conn: AsyncConnection, user_id: str, email: str, now: dt.datetime) -> None:
    """The account takes ``email``, verified at ``now``. Raises IntegrityError if another
    account uses it."""
    await conn.execute(
        users.update().where(users.c.id == user_id).values(email=email, email_verified_at=now)
    )


async def set_notify_switches(
    conn: AsyncConnection, user_id: str, switches: dict[str, bool]
) -> None:
    """``switches``: notice kind (``quota``, ``keys``, ``apps``) → wanted."""
    await conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(**{f"notify_{kind}": wanted for kind, wanted in switches.items()})
    )


async def email_and_switch(db: Database, user_id: str, kind: str) -> tuple[str, bool] | None:
    """The account's address and whether its ``notify_<kind>`` switch is on; None if no such
    account."""
    wants = getattr(users.c, f"notify_{kind}").label("wants")
    row = await db.fetch_first(sa.select(users.c.email, wants).where(users.c.id == user_id))
    return None if row is None else (str(row.email), bool(row.wants))


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


async def workspace_owner(conn: AsyncConnection, workspace_id: str) -> sa.Row | None:
    """Who a workspace belongs to: its ``user_id``, ``app_id`` and ``kind``."""
    return (
        await conn.execute(
            sa.select(workspaces.c.user_id, workspaces.c.app_id, workspaces.c.kind).where(
                workspaces.c.id == workspace_id
            )
        )
    ).first()


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


# -- notices sent once per period (notify.py) --------------------------------------------------


async def record_notice(
    conn: AsyncConnection, *, workspace_id: str, kind: str, period: str, now: dt.datetime
) -> None:
    """Raises IntegrityError if this notice was recorded already: the primary key (workspace,
    kind, period) is the "once per period"."""
    await conn.execute(
        mail_notices.insert().values(
            workspace_id=workspace_id, kind=kind, period=period, created_at=now
        )
    )
