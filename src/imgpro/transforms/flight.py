"""Cross-host single-flight: one render of a variant across every process and host.

Within a process the renderer already joins identical requests (``render.py``). Across
processes and hosts that share a blob store, a variant asked for on every host at once would be
rendered once per host; with Redis configured, the first process to ``SET NX`` a claim on the
variant's key renders it, stores it, then releases the claim; every other process waits for the
claim to go and reads the stored variant. The claim has a lease, so a host killed mid-render
holds nobody up for longer than that: the claim lapses and the next waiter renders.

A claim costs one Redis round trip per cold render (never on a hit). If Redis fails, the
renderer renders locally — the worst case is the old one (a duplicate render), never an error.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from imgpro.storage import BlobNotFound, BlobStore

# Compare-and-delete: only the holder's token releases its own claim (not a successor's).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class SharedFlights:
    def __init__(
        self,
        redis_url: str,
        *,
        key_prefix: str = "imgpro",
        lease_seconds: float = 20.0,
        poll_seconds: float = 0.025,
    ) -> None:
        self.redis_url = redis_url
        self.key_prefix = key_prefix
        self.lease_ms = int(lease_seconds * 1000)
        self.poll_seconds = poll_seconds
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self.redis_url)
            self._loop = loop
        return self._client

    def _name(self, key: str) -> str:
        return f"{self.key_prefix}:render:{key}"

    async def claim(self, key: str) -> str | None:
        """A token if this process now owns the render of ``key``; None if another does."""
        token = secrets.token_hex(8)
        won = await self._redis().set(self._name(key), token, nx=True, px=self.lease_ms)
        return token if won else None

    async def release(self, key: str, token: str) -> None:
        await self._redis().eval(_RELEASE, 1, self._name(key), token)

    async def wait(self, key: str, blobs: BlobStore) -> bytes | None:
        """Wait while another process holds the claim; then the variant it stored, or None if
        it stored nothing (it failed, or died and its lease ran out): claim it yourself then."""
        redis = self._redis()
        deadline = time.monotonic() + self.lease_ms / 1000 + 1
        # Another host's state: nothing in this process could set an Event for it.
        while await redis.exists(self._name(key)) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(self.poll_seconds)
        try:
            return await blobs.get_bytes(key)
        except BlobNotFound:
            return None

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None
