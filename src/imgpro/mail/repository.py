"""Every SQL statement on the ``mail_outbox`` table. When to retry, what to blank and how long
to keep a message is decided in ``outbox.py``; each function here runs in the connection (the
transaction) its caller passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import mail_outbox


async def insert_message(conn: AsyncConnection, **row: Any) -> None:
    await conn.execute(mail_outbox.insert().values(**row))


def _unleased(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.or_(mail_outbox.c.locked_until.is_(None), mail_outbox.c.locked_until <= now)


async def due_ids(conn: AsyncConnection, now: dt.datetime, limit: int) -> list[str]:
    """Ids of unsent, not failed, unleased messages due by ``now``, the longest waiting first."""
    return list(
        (
            await conn.execute(
                sa.select(mail_outbox.c.id)
                .where(
                    mail_outbox.c.sent_at.is_(None),
                    mail_outbox.c.failed_at.is_(None),
                    mail_outbox.c.next_attempt_at <= now,
                    _unleased(now),
                )
                .order_by(mail_outbox.c.next_attempt_at)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def take_lease(
    conn: AsyncConnection, message_id: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Lease an unsent, unleased message until ``until`` and count the attempt, in one
    conditional UPDATE: only the process whose UPDATE matched sends it (True)."""
    result = await conn.execute(
        mail_outbox.update()
        .where(
            mail_outbox.c.id == message_id,
            mail_outbox.c.sent_at.is_(None),
            mail_outbox.c.failed_at.is_(None),
            _unleased(now),
        )
        .values(locked_until=until, attempts=mail_outbox.c.attempts + 1)
    )
    return bool(result.rowcount == 1)


async def message(conn: AsyncConnection, message_id: str) -> sa.Row:
    return (await conn.execute(sa.select(mail_outbox).where(mail_outbox.c.id == message_id))).one()


async def update_message(conn: AsyncConnection, message_id: str, **values: Any) -> None:
    await conn.execute(mail_outbox.update().where(mail_outbox.c.id == message_id).values(**values))


async def prune(
    conn: AsyncConnection, *, forget_before: dt.datetime, blank_logged_before: dt.datetime
) -> None:
    """Delete messages created before ``forget_before``; blank the bodies of messages sent
    to the log and created before ``blank_logged_before``."""
    await conn.execute(mail_outbox.delete().where(mail_outbox.c.created_at < forget_before))
    await conn.execute(
        mail_outbox.update()
        .where(
            mail_outbox.c.transport == "log",
            mail_outbox.c.created_at < blank_logged_before,
            mail_outbox.c.text_body != "",
        )
        .values(text_body="", html_body="")
    )


async def recent(conn: AsyncConnection, *, limit: int, to: str | None) -> Sequence[Any]:
    """The latest ``limit`` messages, newest first (only those to ``to``, if given)."""
    query = (
        sa.select(mail_outbox)
        .order_by(mail_outbox.c.created_at.desc(), mail_outbox.c.id)
        .limit(limit)
    )
    if to is not None:
        query = query.where(mail_outbox.c.to_address == to)
    return (await conn.execute(query)).all()
