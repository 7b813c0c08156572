"""A first attempt that died with its server (kill -9) does not hold its Idempotency-Key for a
day: once its lease runs out (nobody renews it), a retry takes the claim over, and only once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from imgpro.errors import IdempotencyInProgress
from imgpro.images.idempotency import Claim, Replay


async def test_a_dead_claim_is_taken_over_once(services: Any, clock: Any) -> None:
    store = services.idempotency
    now = clock.now()
    dead = await store.claim("ws", "k1", "h", now)  # the attempt that died: never renewed
    assert isinstance(dead, Claim)
    with pytest.raises(IdempotencyInProgress):
        await store.claim("ws", "k1", "h", now + dt.timedelta(seconds=1))
    later = now + store.lease + dt.timedelta(seconds=1)
    retry = await store.claim("ws", "k1", "h", later)  # the retry takes it over
    assert isinstance(retry, Claim) and retry.owner != dead.owner
    with pytest.raises(IdempotencyInProgress):  # and holds it like any live attempt
        await store.claim("ws", "k1", "h", later + dt.timedelta(seconds=1))
    async with services.db.write() as conn:
        await retry.complete_in(conn, 201, {"id": "img"})
    with pytest.raises(IdempotencyInProgress):  # the dead owner can no longer complete it
        async with services.db.write() as conn:
            await dead.complete_in(conn, 201, {"id": "other"})
    replay = await store.claim("ws", "k1", "h", later + store.lease * 10)
    assert isinstance(replay, Replay) and replay.body == {"id": "img"}  # done never expires early
