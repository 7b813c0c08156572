"""SQL for Idempotency-Key claims: every statement on ``idempotency_keys``.

The rules (when to replay, refuse, take over; the lease heartbeat) are in ``idempotency.py``.
Every function runs in the caller's transaction (``conn``): a claim's "done" record commits in
the image's insert transaction, and a takeover's compare-and-swap reads and writes in one.
A key row is (scope, key); a claim is that row while ``owner`` holds it ``in_progress``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import idempotency_keys as keys


def _row(scope: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(keys.c.scope == scope, keys.c.key == key)


def _dead(now: dt.datetime) -> sa.ColumnElement[bool]:
    """An in-progress claim nobody renews any more (NULL: left before leases existed)."""
    return sa.and_(
        keys.c.state == "in_progress",
        sa.or_(keys.c.lease_expires_at.is_(None), keys.c.lease_expires_at <= now),
    )


def _mine(scope: str, key: str, owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(_row(scope, key), keys.c.owner == owner, keys.c.state == "in_progress")


def decode_body(raw: str) -> dict[str, Any]:
    """A remembered response body, as :func:`complete` stored it."""
    body: dict[str, Any] = json.loads(raw)
    return body


async def find(conn: AsyncConnection, scope: str, key: str) -> sa.Row[Any] | None:
    return (await conn.execute(sa.select(keys).where(_row(scope, key)))).first()


async def delete(conn: AsyncConnection, scope: str, key: str) -> None:
    await conn.execute(keys.delete().where(_row(scope, key)))


async def insert_claim(
    conn: AsyncConnection,
    scope: str,
    key: str,
    *,
    request_hash: str,
    owner: str,
    lease_expires_at: dt.datetime,
    created_at: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """A new in-progress claim. Raises IntegrityError when the key exists already (a concurrent
    first attempt won the primary key)."""
    await conn.execute(
        keys.insert().values(
            scope=scope,
            key=key,
            request_hash=request_hash,
            state="in_progress",
            created_at=created_at,
            expires_at=expires_at,
            owner=owner,
            lease_expires_at=lease_expires_at,
        )
    )


async def take_over(
    conn: AsyncConnection,
    scope: str,
    key: str,
    *,
    old_owner: str | None,
    owner: str,
    lease_expires_at: dt.datetime,
    now: dt.datetime,
) -> bool:
    """Compare-and-swap a dead claim from ``old_owner`` to ``owner``: True if this one won."""
    taken = await conn.execute(
        keys.update()
        .where(
            _row(scope, key),
            keys.c.owner.is_(None) if old_owner is None else keys.c.owner == old_owner,
            _dead(now),
        )
        .values(owner=owner, lease_expires_at=lease_expires_at)
    )
    return taken.rowcount == 1


async def complete(
    conn: AsyncConnection, scope: str, key: str, owner: str, status: int, body: dict[str, Any]
) -> bool:
    """Record the response on ``owner``'s claim: True if the claim was still theirs."""
    result = await conn.execute(
        keys.update()
        .where(_mine(scope, key, owner))
        .values(
            state="done",
            response_status=status,
            response_body=json.dumps(body),
            lease_expires_at=None,
        )
    )
    return result.rowcount == 1


async def release(conn: AsyncConnection, scope: str, key: str, owner: str) -> None:
    await conn.execute(keys.delete().where(_mine(scope, key, owner)))


async def renew(
    conn: AsyncConnection, scope: str, key: str, owner: str, lease_expires_at: dt.datetime
) -> bool:
    """Extend ``owner``'s lease: False if the claim was taken over or finished."""
    result = await conn.execute(
        keys.update().where(_mine(scope, key, owner)).values(lease_expires_at=lease_expires_at)
    )
    return result.rowcount == 1


async def purge_expired(conn: AsyncConnection, now: dt.datetime) -> int:
    """Keys past their lifetime, and claims whose request died (lease run out)."""
    result = await conn.execute(keys.delete().where(sa.or_(keys.c.expires_at <= now, _dead(now))))
    return int(result.rowcount)
