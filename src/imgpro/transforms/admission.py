"""Which cold render runs next: host-wide tokens, a fair queue per client, a bounded wait.

- **Globally**: a render runs only while it holds one of the host's tokens (``HostSlots``: as
  many as the host has cores, shared by every server process), so the host never runs more
  renders than cores, and no core idles while any process has work queued.
- **Per client**: the renders waiting in a process are queued per client (IP address, after the
  trusted-proxy walk) and served round-robin, so a client that floods the pool waits behind its
  own requests while everyone else's go past them.
- **Refused only when the wait is too long**: a request is refused (503 ``busy``, Retry-After)
  only when its expected wait passes ``max_wait_seconds``. The estimate: this request needs
  ``ahead + 1`` tokens to come to this process, where ``ahead`` counts the requests a fair
  round-robin serves before it; tokens free up at ``count / avg_seconds`` per second, shared
  between the processes that have renders waiting (the board says how many). A hard cap on the
  waiters of one process (``queue_size``) bounds memory whatever the estimate says.

Waiting for a token: the first waiter of each process polls (a non-blocking ``flock`` per free
token, every ``POLL_SECONDS``) — a token freed anywhere is taken within ~2 ms, next to renders
of 20 ms to seconds. A process that releases a token while others wait yields for a moment
instead of taking it straight back, so a busy process cannot keep the tokens to itself.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque
from pathlib import Path

from imgpro.errors import Busy, wait_action
from imgpro.transforms.hostslots import HostSlots

POLL_SECONDS = 0.002
YIELD_SECONDS = 0.001


class RenderAdmission:
    def __init__(
        self, run_dir: Path, tokens: int, *, max_wait_seconds: float, max_waiting: int
    ) -> None:
        self.slots = HostSlots(run_dir, tokens)
        self.tokens = tokens
        self.max_wait_seconds = max_wait_seconds
        self.max_waiting = max_waiting
        self.avg_seconds = 0.5  # moving average of render time; updated by the renderer
        self._queues: OrderedDict[str, deque[asyncio.Future[int]]] = OrderedDict()
        self._waiting = 0
        self._poller: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> int:
        return self.slots.held

    def observe(self, seconds: float) -> None:
        self.avg_seconds = 0.8 * self.avg_seconds + 0.2 * seconds

    # -- admission ------------------------------------------------------------------------
    def admit(self, client: str) -> asyncio.Future[int]:
        """A future token (to :meth:`release` once the render is done): already resolved when a
        token is free and nobody here waits, else queued in the client's turn. Raises
        :class:`Busy` at once, queueing nothing, when the expected wait passes the bound."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if not self._waiting:
            slot = self.slots.try_acquire()
            if slot is not None:
                future.set_result(slot)
                return future
        self._check_wait(client)
        self._queues.setdefault(client, deque()).append(future)
        self._set_waiting(self._waiting + 1)
        if self._poller is None or self._poller.done():
            self._poller = loop.create_task(self._poll())
        return future

    def abandon(self, client: str, future: asyncio.Future[int]) -> None:
        """The render will not run (its task was cancelled): give back the token or the place."""
        if future.done() and not future.cancelled():
            self.release(future.result())
        else:
            future.cancel()
            self._drop(client, future)

    def release(self, slot: int) -> None:
        self.slots.release(slot)
        if not self._waiting:
            return
        if not self.slots.competitors():
            self._grant_free()  # nobody else wants it: hand it on now, not at the next poll
        if self._waiting and (self._poller is None or self._poller.done()):
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        # Otherwise our poller retries soon, and the other processes get their chance first.

    def expected_wait(self, client: str, *, sweep: bool = False) -> float:
        """Seconds until a new request of ``client`` would get a token."""
        mine = len(self._queues.get(client, ()))
        ahead = mine + sum(min(len(q), mine + 1) for c, q in self._queues.items() if c != client)
        if not ahead and self.slots.held < self.tokens and not self.slots.competitors():
            return 0.0
        processes = 1 + self.slots.competitors(sweep=sweep)
        return self.avg_seconds * (ahead + 1) * processes / self.tokens

    def _check_wait(self, client: str) -> None:
        wait = self.expected_wait(client)
        if wait <= self.max_wait_seconds and self._waiting < self.max_waiting:
            return
        wait = self.expected_wait(client, sweep=True)  # forget processes that died
        if wait <= self.max_wait_seconds and self._waiting < self.max_waiting:
            return
        retry = max(1, math.ceil(wait))
        raise Busy(action=wait_action(retry), headers={"Retry-After": str(retry)})

    # -- the queue ------------------------------------------------------------------------
    def _set_waiting(self, n: int) -> None:
        self._waiting = n
        self.slots.publish_waiting(n)

    def _drop(self, client: str, future: asyncio.Future[int]) -> None:
        queue = self._queues.get(client)
        if queue is not None and future in queue:
            queue.remove(future)
            self._set_waiting(self._waiting - 1)
            if not queue:
                del self._queues[client]

    def _next(self) -> asyncio.Future[int] | None:
        """The head of the next client's queue, round-robin: that client moves to the back."""
        while self._queues:
            client, queue = next(iter(self._queues.items()))
            future = queue.popleft()
            if queue:
                self._queues.move_to_end(client)
            else:
                del self._queues[client]
            self._set_waiting(self._waiting - 1)
            if not future.done():
                return future
        return None

    def _grant_free(self) -> bool:
        """Hand free tokens to waiters, in turn; False when none was free."""
        while self._waiting:
            slot = self.slots.try_acquire()
            if slot is None:
                return False
            future = self._next()
            if future is None:
                self.slots.release(slot)
                break
            future.set_result(slot)
        return True

    async def _poll(self) -> None:
        await asyncio.sleep(YIELD_SECONDS if self.slots.competitors() else 0)
        while self._waiting:
            if not self._grant_free():
                await asyncio.sleep(POLL_SECONDS)

    def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        self.slots.close()
