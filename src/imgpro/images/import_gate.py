"""Admission for URL imports: bounded per process and per principal, cancelled with the client.

An import holds a connection, a temp file and up to a minute of wall time, mostly waiting on
someone else's server. Unbounded, 400 slow imports kept one process so busy that an unrelated
``GET /v1/usage`` took 96 s. So an import first takes a slot: at most
``imports.max_concurrent`` per process (busy: 503 ``busy``) and
``imports.max_concurrent_per_principal`` per caller (busy: 429 ``rate_limited``), both with
``Retry-After``. Refusing costs no I/O at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

from imgpro.errors import Busy, FetchFailed, RateLimited, wait_action

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2


class ImportGate:
    def __init__(self, max_total: int, max_per_principal: int) -> None:
        self.max_total = max_total
        self.max_per_principal = max_per_principal
        self.running: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.running.values())

    @contextlib.contextmanager
    def admit(self, who: str) -> Iterator[None]:
        """A slot for ``who``'s import, or an immediate 503/429 (no await: the check and the
        take happen in one step of the event loop, so they cannot race)."""
        if self.total >= self.max_total:
            raise Busy(
                "Too many imports are running; retry shortly.",
                action=wait_action(RETRY_AFTER_SECONDS),
            )
        if self.running[who] >= self.max_per_principal:
            raise RateLimited(
                f"At most {self.max_per_principal} imports at once; retry when one has finished.",
                action=wait_action(RETRY_AFTER_SECONDS),
            )
        self.running[who] += 1
        try:
            yield
        finally:
            self.running[who] -= 1
            if self.running[who] <= 0:
                del self.running[who]


async def until_disconnect(
    work: Awaitable[T], receive: Callable[[], Awaitable[Mapping[str, Any]]]
) -> T:
    """Run ``work``; cancel it if the client hangs up meanwhile (ASGI ``http.disconnect``).

    Only for a request whose body was read already: every further ``receive()`` then waits
    for the disconnect (or the end of the response)."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                task.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled() and not _being_cancelled():
            # Cancelled by the watcher, not by the server: the fetch is abandoned (its temp
            # file removed by the importer's own cleanup) and nobody waits for an answer.
            raise FetchFailed(
                "The source URL could not be fetched: the client disconnected."
            ) from None
        raise
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _being_cancelled() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
