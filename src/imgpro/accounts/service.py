"""Accounts and workspaces: creating users, finding them, the shared anonymous workspace."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts.passwords import hash_password
from imgpro.db.engine import Database
from imgpro.db.tables import users, workspaces
from imgpro.errors import ValidationFailed


class EmailTaken(ValidationFailed):
    message = "An account with this email already exists."


@dataclass(frozen=True)
class User:
    id: str
    email: str
    workspace_id: str
    created_at: dt.datetime


def normalise_email(email: str) -> str:
    email = email.strip()
    local, sep, domain = email.rpartition("@")
    if not sep or not local or "." not in domain or len(email) > 320 or " " in email:
        raise ValidationFailed("Enter a valid email address.",
                               details=[{"field": "email", "message": "invalid email"}])
    # Lower-cased whole: two accounts differing only in case would be a support nightmare.
    return email.lower()


async def create_workspace(conn: AsyncConnection, *, kind: str, now: dt.datetime,
                           user_id: str | None = None, app_id: str | None = None,
                           plan: str = "free", workspace_id: str | None = None) -> str:
    wid = workspace_id or ids.short_id(12)
    await conn.execute(workspaces.insert().values(
        id=wid, kind=kind, user_id=user_id, app_id=app_id, prefix=ids.shard_prefix(wid),
        plan=plan, period=now.strftime("%Y-%m"), created_at=now,
    ))
    return wid


def check_new_password(password: str) -> None:
    if len(password) < 8:
        raise ValidationFailed("Password must be at least 8 characters.",
                               details=[{"field": "password", "message": "too short"}])
    if len(password) > 1024:  # Argon2 takes any length; refuse absurd inputs before hashing
        raise ValidationFailed("Use a password of at most 1024 characters.",
                               details=[{"field": "password", "message": "too long"}])


async def create_user(db: Database, email: str, password: str | None, *, now: dt.datetime,
                      plan: str = "free", verified: bool = False) -> User:
    """``password=None`` makes a passwordless account (a code sign-in): it has no password
    that anything could match until its owner sets one. ``verified`` says the address was
    proven (a code sign-in) or vouched for; otherwise a verification link is due."""
    email = normalise_email(email)
    password_hash = ""
    if password is not None:
        check_new_password(password)
        # Argon2 takes ~0.1 s of CPU on purpose: keep it off the event loop.
        password_hash = await asyncio.to_thread(hash_password, password)
    user_id = ids.short_id(12)
    try:
        async with db.write() as conn:
            await conn.execute(users.insert().values(
                id=user_id, email=email, password_hash=password_hash, created_at=now,
                email_verified_at=now if verified else None))
            wid = await create_workspace(conn, kind="account", user_id=user_id, now=now, plan=plan)
    except IntegrityError:
        raise EmailTaken() from None
    return User(id=user_id, email=email, workspace_id=wid, created_at=now)


async def find_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    row = (await conn.execute(
        sa.select(users.c.id, users.c.email, users.c.created_at, workspaces.c.id.label("wid"))
        .join(workspaces, sa.and_(workspaces.c.user_id == users.c.id,
                                  workspaces.c.kind == "account"))
        .where(users.c.email == normalise_email(email))
    )).first()
    if row is None:
        return None
    return User(id=row.id, email=row.email, workspace_id=row.wid, created_at=row.created_at)
