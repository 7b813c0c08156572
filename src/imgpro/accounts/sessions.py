"""Signed-in browser sessions: server-side rows keyed by a hash of the cookie's token.

The cookie carries 256 random bits; the database keeps only their SHA-256, so a leaked table
(or backup) cannot be replayed as a cookie. Logging out deletes the row, so a copied cookie is
dead at once. Every login mints a new token (session rotation: a token planted before login
is never promoted to a signed-in session).

Passwords are checked with Argon2id off the event loop; an unknown email is checked against a
dummy hash so it costs the same time as a wrong password (no user enumeration by timing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from imgpro import ids
from imgpro.accounts.passwords import verify_password
from imgpro.accounts.service import User, normalise_email
from imgpro.db.engine import Database
from imgpro.db.tables import sessions, users, workspaces
from imgpro.errors import ValidationFailed

# A session ends 30 days after login, or after 7 days without a visit, whichever comes first.
SESSION_LIFETIME = dt.timedelta(days=30)
SESSION_IDLE = dt.timedelta(days=7)
# last_seen_at is written at most this often per session (a page view is otherwise read-only).
TOUCH_RESOLUTION = dt.timedelta(minutes=10)
MAX_PASSWORD = 1024  # Argon2 takes any length; refuse absurd inputs before hashing them


@dataclass(frozen=True)
class SessionUser:
    """The person behind a live session and the account workspace they act on."""

    user_id: str
    email: str
    workspace_id: str
    workspace_prefix: str
    plan: str
    verified: bool = True  # the email address was proven (verification link or a code)


def token_hash(token: str) -> str:
    return ids.sha256_hex(token)


async def authenticate(db: Database, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None — for every kind of miss."""
    try:
        email = normalise_email(email)
    except ValidationFailed:
        email = ""
    row = None
    if email and len(password) <= MAX_PASSWORD:
        async with db.read() as conn:
            row = (await conn.execute(
                sa.select(users.c.id, users.c.email, users.c.password_hash, users.c.created_at,
                          workspaces.c.id.label("wid"))
                .join(workspaces, sa.and_(workspaces.c.user_id == users.c.id,
                                          workspaces.c.kind == "account"))
                .where(users.c.email == email))).first()
    # Always pay for one Argon2 verification, hit or miss (the dummy hash stands in).
    ok = await asyncio.to_thread(verify_password, row.password_hash if row else None,
                                 password[:MAX_PASSWORD])
    if row is None or not ok:
        return None
    return User(id=row.id, email=row.email, workspace_id=row.wid, created_at=row.created_at)


async def start_session(db: Database, user_id: str, *, now: dt.datetime,
                        replaces: str | None = None) -> str:
    """Create a session for ``user_id``; returns the cookie token (never stored).

    ``replaces`` is the token the browser presented before (if any): it is deleted, so a login
    always ends with a fresh token. Expired sessions of this user are swept on the way.
    """
    token = ids.token(32)
    async with db.write() as conn:
        if replaces:
            await conn.execute(sessions.delete().where(
                sessions.c.token_hash == token_hash(replaces)))
        await conn.execute(sessions.delete().where(
            sessions.c.user_id == user_id,
            sa.or_(sessions.c.expires_at <= now, sessions.c.last_seen_at <= now - SESSION_IDLE)))
        await conn.execute(sessions.insert().values(
            token_hash=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
            expires_at=now + SESSION_LIFETIME))
    return token


async def load_session(db: Database, token: str, *, now: dt.datetime) -> SessionUser | None:
    """The live session behind a cookie token, or None (unknown, expired or idle too long)."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    # Every signed-in page comes through here: one SELECT, no transaction around it.
    row = await db.fetch_first(
        sa.select(sessions.c.expires_at, sessions.c.last_seen_at, users.c.id, users.c.email,
                  users.c.email_verified_at, workspaces.c.id.label("wid"), workspaces.c.prefix,
                  workspaces.c.plan)
        .join(users, users.c.id == sessions.c.user_id)
        .join(workspaces, sa.and_(workspaces.c.user_id == users.c.id,
                                  workspaces.c.kind == "account"))
        .where(sessions.c.token_hash == digest))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at <= now - SESSION_IDLE:
        await end_session(db, token)
        return None
    if now - row.last_seen_at >= TOUCH_RESOLUTION:
        await db.touch(sessions.update().where(sessions.c.token_hash == digest)
                       .values(last_seen_at=now))
    return SessionUser(user_id=row.id, email=row.email, workspace_id=row.wid,
                       workspace_prefix=row.prefix, plan=row.plan,
                       verified=row.email_verified_at is not None)


async def end_session(db: Database, token: str) -> None:
    """Log out: the row goes, so the cookie is worthless even if someone copied it."""
    async with db.write() as conn:
        await conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash(token)))


async def end_all_sessions(db: Database, user_id: str, *, keep: str | None = None) -> None:
    """Sign a person out everywhere (e.g. after a password change or on the operator's word);
    ``keep`` is a cookie token whose session survives (the browser that made the change)."""
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if keep:
        query = query.where(sessions.c.token_hash != token_hash(keep))
    async with db.write() as conn:
        await conn.execute(query)


async def owned_workspace_plan(db: Database, workspace_id: str, user_id: str) -> str | None:
    """The plan of ``workspace_id`` if ``user_id`` owns it (their account's own workspace or
    their workspace inside an app), else None — one answer for "missing" and "not yours"."""
    async with db.read() as conn:
        row = (await conn.execute(sa.select(workspaces.c.plan).where(
            workspaces.c.id == workspace_id, workspaces.c.user_id == user_id))).first()
    return None if row is None else str(row.plan)
