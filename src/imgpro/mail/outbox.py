"""The durable outbox: every message is a row first, sent later by ``deliver_due``.

Why a table and not a fire-and-forget task: a message survives a restart or a crash between the
request and the SMTP conversation; an SMTP outage delays mail instead of losing it; and several
server processes (or hosts) share one queue. A row is *claimed* with a short lease (one
conditional UPDATE), so two processes never send the same message at the same time; a process
that dies mid-send leaves a lease that simply runs out and another takes the row over.

Retries back off exponentially (30 s, 1 min, 2 min, … capped at an hour) up to
``smtp.max_attempts``. Once the SMTP server has taken a message, its bodies are blanked: they
may hold a sign-in code or a reset link, and the outbox is not a mail archive. Messages "sent"
to the log (no SMTP configured) keep their bodies for a day, because the outbox *is* how the
operator reads them (``imgpro mail outbox``). The statements on the table are in
``repository.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.mail import repository as repo
from imgpro.mail.message import Message, compose
from imgpro.mail.transport import Transport

log = logging.getLogger("imgpro.mail")

LEASE = dt.timedelta(seconds=120)
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)
KEEP_SENT = dt.timedelta(days=30)
KEEP_LOGGED_BODIES = dt.timedelta(days=1)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1`` (after ``attempts`` failures)."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


class Mailer:
    """Queue messages (any process) and deliver due ones (the server's outbox worker)."""

    def __init__(
        self, db: Database, clock: Clock, transport: Transport, *, web_base: str, max_attempts: int
    ) -> None:
        self.db = db
        self.clock = clock
        self.transport = transport
        self.web_base = web_base
        self.max_attempts = max_attempts
        # Set when this process queues a message, so its own worker sends it at once instead
        # of at the next poll. Other processes' workers find it at their next poll.
        self.wakeup = asyncio.Event()

    async def send(
        self, to: str, kind: str, *, conn: AsyncConnection | None = None, **context: Any
    ) -> str:
        """Compose ``kind`` for ``to`` and queue it; returns the outbox id. With ``conn`` the
        row is written in the caller's transaction (it leaves only if that commits)."""
        message = compose(kind, to, {"web_base": self.web_base, **context})
        now = self.clock.now()
        row = {
            "id": ids.short_id(16),
            "kind": kind,
            "to_address": to,
            "subject": message.subject,
            "text_body": message.text,
            "html_body": message.html,
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
        }
        if conn is not None:
            await repo.insert_message(conn, **row)
        else:
            async with self.db.write() as own:
                await repo.insert_message(own, **row)
        self.wakeup.set()
        return str(row["id"])

    # -- delivery (the worker) -----------------------------------------------------------
    async def _claim(self, now: dt.datetime, limit: int) -> list[Any]:
        async with self.db.read() as conn:
            candidates = await repo.due_ids(conn, now, limit)
        claimed = []
        for message_id in candidates:
            async with self.db.write() as conn:
                # The lease: only the process whose UPDATE matched sends this row now.
                if await repo.take_lease(conn, message_id, now, now + LEASE):
                    claimed.append(await repo.message(conn, message_id))
        return claimed

    async def deliver_due(self, limit: int = 20) -> int:
        """Send every due message (up to ``limit``); returns how many were delivered."""
        now = self.clock.now()
        delivered = 0
        for row in await self._claim(now, limit):
            message = Message(
                kind=row.kind,
                to=row.to_address,
                subject=row.subject,
                text=row.text_body,
                html=row.html_body,
            )
            try:
                await self.transport.send(message)
            except Exception as exc:  # any failure is "try again later", up to the cap
                await self._failed(row, exc)
                continue
            await self._sent(row)
            delivered += 1
        if delivered or now.minute == 0:
            await self.prune()
        return delivered

    async def _sent(self, row: Any) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {
            "sent_at": now,
            "locked_until": None,
            "last_error": None,
            "transport": self.transport.name,
        }
        if self.transport.name != "log":
            values.update(text_body="", html_body="")
        async with self.db.write() as conn:
            await repo.update_message(conn, row.id, **values)

    async def _failed(self, row: Any, exc: Exception) -> None:
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:500]
        values: dict[str, Any] = {"locked_until": None, "last_error": error}
        if row.attempts >= self.max_attempts:
            values.update(failed_at=now, text_body="", html_body="")
            log.error(
                "mail %s to %s failed for good after %d attempts: %s",
                row.id,
                row.to_address,
                row.attempts,
                error,
            )
        else:
            values["next_attempt_at"] = now + backoff(row.attempts)
            log.warning(
                "mail %s to %s failed (attempt %d, retrying): %s",
                row.id,
                row.to_address,
                row.attempts,
                error,
            )
        async with self.db.write() as conn:
            await repo.update_message(conn, row.id, **values)

    async def prune(self) -> None:
        """Forget old messages; blank the bodies of logged ones after a day."""
        now = self.clock.now()
        async with self.db.write() as conn:
            await repo.prune(
                conn, forget_before=now - KEEP_SENT, blank_logged_before=now - KEEP_LOGGED_BODIES
            )

    # -- reading (the operator's CLI, tests) ---------------------------------------------
    async def recent(self, *, limit: int = 20, to: str | None = None) -> Sequence[Any]:
        async with self.db.read() as conn:
            return await repo.recent(conn, limit=limit, to=to.strip().lower() if to else None)
