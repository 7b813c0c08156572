"""The host-wide rate-limit store (no Redis): every process of one host shares one SQLite file,
so the limits are exact per host, not per process (SPEC §7)."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

from imgpro.clock import FrozenClock
from imgpro.errors import RateLimited
from imgpro.ratelimit import RateLimiter
from imgpro.ratelimit.host import HostFileStorage
from imgpro.settings import RateLimitSettings, Settings


def rules(anon: str = "20/hour;100/day", **more: str) -> RateLimitSettings:
    return RateLimitSettings(anon_uploads=anon, **more)


def test_the_default_store_is_the_host_file_and_redis_or_memory_replace_it(tmp_path):
    assert Settings(data_dir=tmp_path).rate_limit_file == tmp_path / "ratelimits.db"
    assert Settings(data_dir=tmp_path, redis_url="redis://x:6379/0").rate_limit_file is None
    memory = Settings(data_dir=tmp_path, rate_limits=RateLimitSettings(store="memory"))
    assert memory.rate_limit_file is None


async def test_the_moving_window_follows_the_clock(tmp_path):
    clock = FrozenClock()
    limiter = RateLimiter(rules("3/minute"), clock, host_path=tmp_path / "rl.db")
    try:
        assert isinstance(limiter.storage, HostFileStorage)
        for _ in range(3):
            await limiter.anonymous_upload("192.0.2.1")
            clock.advance(seconds=10)
        with pytest.raises(RateLimited) as e:
            await limiter.anonymous_upload("192.0.2.1")
        assert e.value.action == {"type": "wait", "retry_after": 31}
        await limiter.anonymous_upload("192.0.2.2")  # another client is unaffected
        clock.advance(seconds=30)
        with pytest.raises(RateLimited):  # the first entry is exactly a minute old: still in
            await limiter.anonymous_upload("192.0.2.1")
        clock.advance(seconds=1)
        decision = await limiter.anonymous_upload("192.0.2.1")
        assert (decision.remaining, decision.reset_after) == (0, 10)
    finally:
        await limiter.close()


async def test_two_limiters_on_one_file_share_counters_and_sign_in_limits(tmp_path):
    clock = FrozenClock()
    path = tmp_path / "rl.db"
    one = RateLimiter(rules("3/minute", login_per_email="2/hour"), clock, host_path=path)
    two = RateLimiter(rules("3/minute", login_per_email="2/hour"), clock, host_path=path)
    try:
        await one.anonymous_upload("192.0.2.1")
        clock.advance(seconds=20)
        await two.anonymous_upload("192.0.2.1")
        decision = await one.anonymous_upload("192.0.2.1")
        assert (decision.remaining, decision.reset_after) == (0, 41)
        with pytest.raises(RateLimited) as e:
            await two.anonymous_upload("192.0.2.1")
        assert e.value.action["retry_after"] == 41
        await one.login_failed("192.0.2.9", "ann@example.com")
        await two.login_failed("192.0.2.9", "ann@example.com")
        with pytest.raises(RateLimited):
            await one.check_login("192.0.2.10", "ann@example.com")
        await two.login_succeeded("ann@example.com")  # clears it for both
        await one.check_login("192.0.2.10", "ann@example.com")
    finally:
        await one.close()
        await two.close()


async def test_expired_rows_are_pruned(tmp_path):
    clock = FrozenClock()
    storage = HostFileStorage(tmp_path / "rl.db", lambda: clock.now().timestamp())
    storage.PRUNE_EVERY = 10
    try:
        for n in range(9):
            assert await storage.acquire_entry(f"k{n}", 5, 60)
        clock.advance(seconds=61)
        assert await storage.acquire_entry("fresh", 5, 60)  # the tenth acquisition prunes
        keys = await asyncio.to_thread(
            lambda: {r[0] for r in storage._connect().execute("SELECT key FROM hits")}
        )
        assert keys == {"fresh"}
        assert await storage.incr("c", 60) == 1 and await storage.incr("c", 60, 2) == 3
        assert await storage.get("c") == 3 and await storage.check()
        await storage.clear("c")
        assert await storage.get("c") == 0
    finally:
        await storage.close()


def _hammer(path: str, attempts: int, start: multiprocessing.synchronize.Event) -> int:
    """One 'server process': try ``attempts`` acquisitions of one key; count the admitted."""
    storage = HostFileStorage(Path(path), lambda: 1_800_000_000.0)
    start.wait()

    async def run() -> int:
        got = 0
        for _ in range(attempts):
            got += await storage.acquire_entry("anon/192.0.2.1", 20, 3600)
        await storage.close()
        return got

    return asyncio.run(run())


def test_exact_across_processes(tmp_path):
    """4 processes × 10 attempts at once against a limit of 20: exactly 20 admitted."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Event()
    path = str(tmp_path / "rl.db")
    with ctx.Pool(4) as pool:
        results = [pool.apply_async(_hammer, (path, 10, start)) for _ in range(4)]
        start.set()
        admitted = [r.get(timeout=120) for r in results]
    assert sum(admitted) == 20, admitted
