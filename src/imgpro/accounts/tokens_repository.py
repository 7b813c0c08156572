"""Every SQL statement on ``email_tokens`` (one-time codes and emailed links); the rules —
HMACs, attempts, single use — are in tokens.py. Each function runs on the caller's connection,
so a use case keeps its statements in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.engine import Database
from imgpro.db.tables import email_tokens


async def insert_token(
    conn: AsyncConnection,
    *,
    token_id: str,
    purpose: str,
    email: str,
    user_id: str | None,
    secret_hash: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    browser_hash: str | None = None,
) -> None:
    await conn.execute(
        email_tokens.insert().values(
            id=token_id,
            purpose=purpose,
            email=email,
            user_id=user_id,
            secret_hash=secret_hash,
            browser_hash=browser_hash,
            attempts=0,
            created_at=now,
            expires_at=expires_at,
        )
    )


# -- codes (found by the asking browser) ------------------------------------------------------


async def void_browser_codes(
    conn: AsyncConnection, *, browser_hash: str, purpose: str, now: dt.datetime
) -> None:
    """Use up the browser's open codes of ``purpose`` (a new code replaces them)."""
    await conn.execute(
        email_tokens.update()
        .where(
            email_tokens.c.browser_hash == browser_hash,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def latest_open_code(
    conn: AsyncConnection, *, browser_hash: str, purpose: str
) -> sa.Row[Any] | None:
    """The browser's newest unused code of ``purpose`` (expired or exhausted ones too)."""
    return (
        await conn.execute(
            sa.select(email_tokens)
            .where(
                email_tokens.c.browser_hash == browser_hash,
                email_tokens.c.purpose == purpose,
                email_tokens.c.used_at.is_(None),
            )
            .order_by(email_tokens.c.created_at.desc())
            .limit(1)
        )
    ).first()


def _code_still_open(token_id: str, max_attempts: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        email_tokens.c.id == token_id,
        email_tokens.c.used_at.is_(None),
        email_tokens.c.attempts < max_attempts,
    )


async def count_wrong_guess(conn: AsyncConnection, token_id: str, *, max_attempts: int) -> None:
    await conn.execute(
        email_tokens.update()
        .where(_code_still_open(token_id, max_attempts))
        .values(attempts=email_tokens.c.attempts + 1)
    )


async def claim_code(
    conn: AsyncConnection, token_id: str, *, max_attempts: int, now: dt.datetime
) -> bool:
    """Use the code up; False if a racing guess used or exhausted it first (the condition is
    in the UPDATE, so only one of two racers wins)."""
    claimed = await conn.execute(
        email_tokens.update().where(_code_still_open(token_id, max_attempts)).values(used_at=now)
    )
    return claimed.rowcount == 1


# -- links (found by their secret's hash) -----------------------------------------------------


def _live_link(secret_hash: str, purpose: str, now: dt.datetime) -> sa.Select[Any]:
    return sa.select(email_tokens).where(
        email_tokens.c.secret_hash == secret_hash,
        email_tokens.c.purpose == purpose,
        email_tokens.c.used_at.is_(None),
        email_tokens.c.expires_at > now,
        email_tokens.c.user_id.is_not(None),
    )


async def peek_live_link(
    db: Database, *, secret_hash: str, purpose: str, now: dt.datetime
) -> sa.Row[Any] | None:
    # A page view, not a use: one SELECT, no transaction around it.
    return await db.fetch_first(_live_link(secret_hash, purpose, now))


async def live_link(
    conn: AsyncConnection, *, secret_hash: str, purpose: str, now: dt.datetime
) -> sa.Row[Any] | None:
    return (await conn.execute(_live_link(secret_hash, purpose, now))).first()


async def claim_link(conn: AsyncConnection, token_id: str, now: dt.datetime) -> bool:
    """Use the link up; False if another click used it first (one conditional UPDATE)."""
    claimed = await conn.execute(
        email_tokens.update()
        .where(email_tokens.c.id == token_id, email_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    return claimed.rowcount == 1


# -- upkeep -----------------------------------------------------------------------------------


async def void_user_tokens(
    conn: AsyncConnection, *, user_id: str, purpose: str, now: dt.datetime
) -> None:
    await conn.execute(
        email_tokens.update()
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def delete_expired_before(conn: AsyncConnection, cutoff: dt.datetime) -> None:
    await conn.execute(email_tokens.delete().where(email_tokens.c.expires_at < cutoff))


async def delete_user_tokens(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(email_tokens.delete().where(email_tokens.c.user_id == user_id))
