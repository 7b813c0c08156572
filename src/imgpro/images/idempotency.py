"""``Idempotency-Key`` on create: replay a finished request, refuse a different or concurrent one.

A key belongs to one principal scope and lives 24 hours. Claiming a key is an INSERT that only
one request can win (primary key on (scope, key)), so two concurrent retries never both run.
A retry is recognised by its *parsed* request (``images/fingerprint.py``), never raw bytes.

Crash safety (a ``kill -9`` mid-request):

- A claim carries a random ``owner`` token and a short lease that its request renews while it
  runs (:meth:`Claim.held`). A claim whose lease ran out belongs to a process that died; the
  next retry with the same request takes it over. No 24-hour 409.
- The image row and the "done" response are committed in **one** transaction
  (:meth:`Claim.complete_in`, called by ``ImageService`` inside its insert transaction), and
  that UPDATE only matches while this request still owns the claim. So after a crash either
  both exist (the retry replays the image that was committed) or neither (the retry creates
  it); and a request whose claim was taken over rolls its image back: never a duplicate.

Only successful responses are remembered: a failed attempt releases the key so the client can
retry once it has fixed the cause (an oversized file, a quota that was since raised).

These are the rules; the statements they run are in ``idempotency_repository.py``, each in the
transaction this module opens (or, for :meth:`Claim.complete_in`, the image's).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.errors import IdempotencyConflict, IdempotencyInProgress, ValidationFailed
from imgpro.images import idempotency_repository as repo

log = logging.getLogger("imgpro.idempotency")

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key must be 1-255 printable characters.",
            details=[{"field": "Idempotency-Key", "message": "1-255 chars"}],
        )
    return key


class Claim:
    """This request's hold on a key: renew it while working, complete it with the image."""

    def __init__(self, store: IdempotencyStore, scope: str, key: str, owner: str) -> None:
        self.store = store
        self.scope, self.key, self.owner = scope, key, owner

    async def complete_in(self, conn: AsyncConnection, status: int, body: dict[str, Any]) -> None:
        """Record the response inside the caller's transaction (the one inserting the image).
        Raises — rolling the image back with it — if the claim is no longer ours."""
        if not await repo.complete(conn, self.scope, self.key, self.owner, status, body):
            raise IdempotencyInProgress()

    async def release(self) -> None:
        async with self.store.db.write() as conn:
            await repo.release(conn, self.scope, self.key, self.owner)

    async def renew(self) -> bool:
        lease_end = self.store.clock.now() + self.store.lease
        async with self.store.db.write() as conn:
            return await repo.renew(conn, self.scope, self.key, self.owner, lease_end)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Renew the lease every third of it while the body runs (upload, fetch, probe)."""

        async def heartbeat() -> None:
            interval = self.store.lease.total_seconds() / 3
            while True:
                await asyncio.sleep(interval)
                try:
                    if not await self.renew():
                        return  # taken over or finished: complete_in will tell
                except Exception:  # a transient DB error: the next beat tries again
                    log.warning("could not renew idempotency claim", exc_info=True)

        task = asyncio.create_task(heartbeat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class IdempotencyStore:
    def __init__(
        self, db: Database, ttl_seconds: int, *, lease_seconds: int = 30, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.clock = clock or Clock()

    async def claim(
        self, scope: str, key: str, request_hash: str, now: dt.datetime
    ) -> Replay | Claim:
        """Claim ``key`` for this request, or return the response to replay, or raise 409."""
        owner = secrets.token_hex(16)
        lease_end = now + self.lease
        async with self.db.write() as conn:
            row = await repo.find(conn, scope, key)
            if row is not None and row.expires_at <= now:
                await repo.delete(conn, scope, key)
                row = None
            if row is None:
                try:
                    await repo.insert_claim(
                        conn,
                        scope,
                        key,
                        request_hash=request_hash,
                        owner=owner,
                        lease_expires_at=lease_end,
                        created_at=now,
                        expires_at=now + self.ttl,
                    )
                except IntegrityError:
                    # Lost a race with a concurrent first attempt (PostgreSQL path).
                    raise IdempotencyInProgress() from None
                return Claim(self, scope, key, owner)
            if row.request_hash != request_hash:
                raise IdempotencyConflict()
            if row.state == "done":
                return Replay(status=row.response_status, body=repo.decode_body(row.response_body))
            if row.lease_expires_at is not None and row.lease_expires_at > now:
                raise IdempotencyInProgress()
            # The claim outlived its request (the process died before committing: the image
            # and the "done" row commit together, so nothing was created). Take it over —
            # compare-and-swap on the old owner, so two retries cannot both win.
            taken = await repo.take_over(
                conn,
                scope,
                key,
                old_owner=row.owner,
                owner=owner,
                lease_expires_at=lease_end,
                now=now,
            )
            if not taken:
                raise IdempotencyInProgress()
            log.info("took over an idempotency claim whose request died (scope %s)", scope)
            return Claim(self, scope, key, owner)

    async def purge_expired(self, now: dt.datetime) -> int:
        """Keys past their 24 hours, and claims whose request died (lease run out)."""
        async with self.db.write() as conn:
            return await repo.purge_expired(conn, now)
