"""A first attempt that died with its server (kill -9) does not hold its Idempotency-Key for a
day: after ``idempotency_stale_seconds`` a retry runs it, and only once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from imgpro.errors import IdempotencyInProgress


async def test_a_stale_claim_is_taken_over_once(services: Any, clock: Any) -> None:
    store = services.idempotency
    now = clock.now()
    assert await store.claim("ws", "k1", "h", now) is None  # the attempt that died
    with pytest.raises(IdempotencyInProgress):
        await store.claim("ws", "k1", "h", now + dt.timedelta(seconds=5))
    later = now + store.stale + dt.timedelta(seconds=1)
    assert await store.claim("ws", "k1", "h", later) is None  # the retry takes it over
    with pytest.raises(IdempotencyInProgress):  # and holds it like any live attempt
        await store.claim("ws", "k1", "h", later + dt.timedelta(seconds=1))
    await store.complete("ws", "k1", 201, {"id": "img"})
    replay = await store.claim("ws", "k1", "h", later + store.stale * 2)
    assert replay is not None and replay.body == {"id": "img"}  # done is never stale
