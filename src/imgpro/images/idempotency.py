"""``Idempotency-Key`` on create: replay a finished request, refuse a different or concurrent one.

A key belongs to one principal scope and lives 24 hours. Claiming a key is an INSERT that only
one request can win (primary key on (scope, key)), so two concurrent retries never both run.
Only successful responses are remembered: a failed attempt releases the key so the client can
retry once it has fixed the cause (an oversized file, a quota that was since raised).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from imgpro.db.engine import Database
from imgpro.db.tables import idempotency_keys
from imgpro.errors import IdempotencyConflict, IdempotencyInProgress, ValidationFailed

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1-255 printable characters.",
                               details=[{"field": "Idempotency-Key", "message": "1-255 chars"}])
    return key


async def complete_in(conn: Any, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    """Mark the key done inside the caller's transaction: the upload records its image and its
    answer in one commit, so a server killed at any moment leaves either both or neither, and
    a retry after a crash never creates a second image."""
    await conn.execute(idempotency_keys.update().where(
        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key).values(
        state="done", response_status=status, response_body=json.dumps(body)))


class IdempotencyStore:
    def __init__(self, db: Database, ttl_seconds: int, stale_seconds: int = 120) -> None:
        self.db = db
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        # A first attempt still "in progress" after this long died with its server (kill -9,
        # power loss): nothing will ever finish or release it, so a retry may take it over.
        self.stale = dt.timedelta(seconds=stale_seconds)

    async def claim(self, scope: str, key: str, request_hash: str,
                    now: dt.datetime) -> Replay | None:
        """Claim ``key`` for this request, or return the response to replay, or raise 409."""
        async with self.db.write() as conn:
            row = (await conn.execute(sa.select(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key))).first()
            if row is not None and (row.expires_at <= now or (
                    row.state != "done" and row.created_at <= now - self.stale)):
                await conn.execute(idempotency_keys.delete().where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key))
                row = None
            if row is None:
                try:
                    await conn.execute(idempotency_keys.insert().values(
                        scope=scope, key=key, request_hash=request_hash, state="in_progress",
                        created_at=now, expires_at=now + self.ttl))
                    return None
                except IntegrityError:
                    # Lost a race with a concurrent first attempt (PostgreSQL path).
                    raise IdempotencyInProgress() from None
        if row.request_hash != request_hash:
            raise IdempotencyConflict()
        if row.state != "done":
            raise IdempotencyInProgress()
        return Replay(status=row.response_status, body=json.loads(row.response_body))

    async def complete(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        async with self.db.write() as conn:
            await complete_in(conn, scope, key, status, body)

    async def release(self, scope: str, key: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(idempotency_keys.delete().where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key,
                idempotency_keys.c.state == "in_progress"))

    async def purge_expired(self, now: dt.datetime) -> int:
        async with self.db.write() as conn:
            result = await conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.expires_at <= now))
        return result.rowcount
