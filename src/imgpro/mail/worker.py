"""The background task that drains the outbox, one per server process (started in the app's
lifespan). It sends what is due, then sleeps until this process queues something or the poll
interval passes (messages queued by other processes, retries coming due)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from imgpro.mail.outbox import Mailer

log = logging.getLogger("imgpro.mail")


class OutboxWorker:
    def __init__(self, mailer: Mailer, *, poll_seconds: float = 5.0) -> None:
        self.mailer = mailer
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="imgpro-mail-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self.mailer.wakeup.clear()
            try:
                while await self.mailer.deliver_due() > 0:
                    pass
            except Exception:  # the database may be briefly unavailable: try again later
                log.exception("mail outbox: delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.mailer.wakeup.wait(), self.poll_seconds)
