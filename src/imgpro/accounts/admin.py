"""The operator's account chores: list accounts, set a password, delete an account with
everything it owns. Called by ``imgpro users …``; no framework imports."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from imgpro.accounts.passwords import hash_password
from imgpro.accounts.service import normalise_email
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
from imgpro.errors import NotFound, ValidationFailed
from imgpro.images import repository as repo
from imgpro.transforms import repository as transform_repo

MIN_PASSWORD = 8
DELETE_BATCH = 200


class UserNotFound(NotFound):
    message = "No such account."


@dataclass(frozen=True)
class UserRow:
    id: str
    email: str
    created_at: dt.datetime
    plan: str
    images: int
    storage_bytes: int
    keys: int


@dataclass(frozen=True)
class Deletion:
    user_id: str
    email: str
    images: int
    keys: int
    workspaces: int


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"Password must be at least {MIN_PASSWORD} characters.",
                               details=[{"field": "password", "message": "too short"}])


async def list_users(db: Database) -> list[UserRow]:
    """Every account, oldest first, with its own workspace's plan and counters."""
    live_keys = (sa.select(sa.func.count()).select_from(api_keys)
                 .where(api_keys.c.user_id == users.c.id, api_keys.c.revoked_at.is_(None))
                 .scalar_subquery())
    query = (sa.select(users.c.id, users.c.email, users.c.created_at, workspaces.c.plan,
                       workspaces.c.images_count, workspaces.c.storage_used,
                       live_keys.label("keys"))
             .join(workspaces, sa.and_(workspaces.c.user_id == users.c.id,
                                       workspaces.c.kind == "account"))
             .order_by(users.c.created_at, users.c.id))
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [UserRow(id=r.id, email=r.email, created_at=r.created_at, plan=r.plan,
                    images=int(r.images_count), storage_bytes=int(r.storage_used),
                    keys=int(r.keys)) for r in rows]


async def _user_id(conn: Any, email: str) -> tuple[str, str]:
    row = (await conn.execute(sa.select(users.c.id, users.c.email)
                              .where(users.c.email == normalise_email(email)))).first()
    if row is None:
        raise UserNotFound(f"No account with email {email.strip()}.")
    return str(row.id), str(row.email)


async def set_password(db: Database, email: str, password: str) -> str:
    """Replace an account's password and end its sessions (every signed-in browser must log in
    with the new one). Returns the user id."""
    check_password(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with db.write() as conn:
        user_id, _ = await _user_id(conn, email)
        await conn.execute(users.update().where(users.c.id == user_id)
                           .values(password_hash=password_hash))
        await conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    return user_id


async def delete_user(db: Database, email: str, *, now: dt.datetime,
                      remove_blobs: Callable[[Sequence[Any]], Awaitable[None]]) -> Deletion:
    """Delete an account and everything it owns: the images of its own workspace and of its
    workspaces inside apps (rows first, as the API's delete does, then the blobs and variants
    through ``remove_blobs``), its keys, sessions, hosted-login codes and plan requests.

    An account that owns apps is refused: their users' images live in those apps, and deleting
    other people's data is not a side effect of deleting one account.
    """
    async with db.read() as conn:
        user_id, shown = await _user_id(conn, email)
        owned = (await conn.execute(sa.select(apps.c.id).where(apps.c.owner_user_id == user_id)
                                    .order_by(apps.c.id))).scalars().all()
        if owned:
            raise ValidationFailed(f"{shown} owns app(s) {', '.join(owned)}; their users' "
                                   "images live there. Block the apps (`imgpro apps block`) "
                                   "and move or delete them first.")
        wids = list((await conn.execute(sa.select(workspaces.c.id)
                                        .where(workspaces.c.user_id == user_id))).scalars())
    removed = 0
    while wids:  # in batches: a large account must not hold one huge transaction
        async with db.write() as conn:
            rows = (await conn.execute(sa.select(images).where(images.c.workspace_id.in_(wids))
                                       .order_by(images.c.seq).limit(DELETE_BATCH))).all()
            await repo.delete_rows(conn, rows, now)
        if not rows:
            break
        await remove_blobs(rows)
        removed += len(rows)
    async with db.write() as conn:
        keys = (await conn.execute(api_keys.delete().where(api_keys.c.user_id == user_id))
                ).rowcount
        await conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
        await conn.execute(connect_codes.delete().where(connect_codes.c.user_id == user_id))
        await conn.execute(plan_requests.delete().where(sa.or_(
            plan_requests.c.user_id == user_id, plan_requests.c.workspace_id.in_(wids))))
        await conn.execute(image_tombstones.delete()
                           .where(image_tombstones.c.workspace_id.in_(wids)))
        await conn.execute(api_keys.delete().where(api_keys.c.workspace_id.in_(wids)))
        for wid in wids:
            await transform_repo.delete_workspace_rows(conn, wid)  # presets, signing settings
        await conn.execute(workspaces.delete().where(workspaces.c.id.in_(wids)))
        await conn.execute(users.delete().where(users.c.id == user_id))
    return Deletion(user_id=user_id, email=shown, images=removed, keys=int(keys or 0),
                    workspaces=len(wids))
