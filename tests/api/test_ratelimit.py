"""Anonymous upload rate limits (SPEC §2.1): 429 + Retry-After + wait action, RateLimit headers on
every anonymous create response, trusted proxies, keys exempt, Redis-shared counters, sign-in
limits. Windows move with the FrozenClock — no test sleeps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

import imagegen
from billing.support import app_client
from conftest import REDIS_URL, redis_available
from factories import make_account, upload
from imgpro.clock import FrozenClock
from imgpro.db.tables import images
from imgpro.errors import RateLimited
from imgpro.ratelimit.addresses import client_address, parse_networks, rate_key
from imgpro.ratelimit.limiter import ClockedMemoryStorage, RateLimiter
from imgpro.settings import RateLimitSettings

PNG = imagegen.png(16, 12)


def rules(anon: str = "20/hour;100/day", **more: str) -> RateLimitSettings:
    return RateLimitSettings(anon_uploads=anon, **more)


async def image_rows(services) -> int:
    async with services.db.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(images))


# -- the defaults through the API ----------------------------------------------------------------


async def test_ratelimit_headers_on_success_and_on_failure(client):
    r = await upload(client, PNG)
    assert r.status_code == 201
    assert (
        r.headers["ratelimit-limit"],
        r.headers["ratelimit-remaining"],
        r.headers["ratelimit-reset"],
    ) == ("20", "19", "3601")
    assert r.headers["ratelimit-policy"] == "20;w=3600, 100;w=86400"

    r = await upload(client, b"this is not an image")
    assert r.status_code == 422
    assert (r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]) == ("20", "18")

    r = await client.post("/v1/images", files={"caption": (None, "no file part")})
    assert r.status_code == 422
    assert r.headers["ratelimit-remaining"] == "17"


async def test_an_oversized_anonymous_file_keeps_its_signup_action_and_gets_the_headers(client):
    r = await upload(client, b"\0" * (20 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert r.json()["error"]["action"]["type"] == "signup"
    assert r.headers["ratelimit-remaining"] == "19"


async def test_twenty_an_hour_then_429_with_retry_after(client, services, clock):
    assert (await upload(client, PNG)).status_code == 201  # t0
    clock.advance(minutes=10)
    for n in range(19):
        r = await upload(client, PNG)
        assert r.status_code == 201, (n, r.text)
    assert r.headers["ratelimit-remaining"] == "0"

    r = await upload(client, PNG)

    assert r.status_code == 429
    assert r.json()["error"] == {
        "type": "rate_limit_error",
        "code": "rate_limited",
        "message": "Too many uploads from this address.",
        "action": {"type": "wait", "retry_after": 3001},
    }  # t0's slot frees after t0 + 1h
    assert r.headers["retry-after"] == "3001"
    assert (
        r.headers["ratelimit-limit"],
        r.headers["ratelimit-remaining"],
        r.headers["ratelimit-reset"],
    ) == ("20", "0", "3001")
    assert await image_rows(services) == 20  # the refused upload stored nothing

    clock.advance(seconds=3000)  # t0 + 1h: t0's upload is still inside the window
    assert (await upload(client, PNG)).status_code == 429
    clock.advance(seconds=1)  # now it has left: exactly one slot is free again
    assert (await upload(client, PNG)).status_code == 201
    r = await upload(client, PNG)
    assert r.status_code == 429 and r.headers["retry-after"] == "600"


async def test_the_daily_window(settings, clock):
    async with app_client(settings, clock, rate_limits=rules("2/hour;3/day")) as (client, _):
        assert [(await upload(client, PNG)).status_code for _ in range(3)] == [201, 201, 429]
        clock.advance(hours=1, seconds=1)
        assert (await upload(client, PNG)).status_code == 201  # the third of the day
        r = await upload(client, PNG)
        assert r.status_code == 429
        # The hour has room; the day does not until the first upload has left it.
        assert r.json()["error"]["action"]["retry_after"] == 23 * 3600
        assert (r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]) == ("3", "0")
        clock.advance(seconds=23 * 3600 - 1)
        assert (await upload(client, PNG)).status_code == 429
        clock.advance(seconds=1)
        assert (await upload(client, PNG)).status_code == 201


async def test_keys_are_never_rate_limited(settings, clock):
    async with app_client(settings, clock, rate_limits=rules("1/hour")) as (client, services):
        acct = await make_account(services)
        for _ in range(3):
            r = await upload(client, PNG, headers=acct["headers"])
            assert r.status_code == 201
            assert "ratelimit-limit" not in r.headers
        assert (await upload(client, PNG)).status_code == 201
        assert (await upload(client, PNG)).status_code == 429
        assert (await upload(client, PNG, headers=acct["headers"])).status_code == 201


# -- client address ------------------------------------------------------------------------------


async def test_forwarded_for_from_an_untrusted_peer_changes_nothing(settings, clock):
    async with app_client(settings, clock, rate_limits=rules("1/hour")) as (client, _):
        r = await upload(client, PNG, headers={"X-Forwarded-For": "198.51.100.1"})
        assert r.status_code == 201
        r = await upload(client, PNG, headers={"X-Forwarded-For": "198.51.100.2"})
        assert r.status_code == 429  # still the peer 203.0.113.7
        r = await upload(client, PNG, headers={"X-Forwarded-For": "198.51.100.3, 10.0.0.1"})
        assert r.status_code == 429


async def test_forwarded_for_from_a_trusted_proxy(settings, clock):
    async with app_client(
        settings, clock, rate_limits=rules("1/hour"), trusted_proxies=["203.0.113.0/24", "10.0.0.1"]
    ) as (client, _):

        async def status(xff: str | None) -> int:
            headers = {"X-Forwarded-For": xff} if xff is not None else {}
            return (await upload(client, PNG, headers=headers)).status_code

        assert await status("198.51.100.1") == 201
        assert await status("198.51.100.2") == 201
        assert await status("198.51.100.1") == 429
        # A client-supplied left-most entry is ignored: the right-most untrusted one counts.
        assert await status("6.6.6.6, 198.51.100.2") == 429
        assert await status("198.51.100.1, 198.51.100.3, 10.0.0.1, 203.0.113.9") == 201
        assert await status(None) == 201  # the proxy's own request: keyed by the proxy
        assert await status("garbage") == 429  # unparseable: the proxy itself, already used


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.7", [], "203.0.113.7"),
        ("203.0.113.7", ["1.2.3.4"], "203.0.113.7"),  # untrusted peer
        ("10.0.0.5", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.5", ["9.9.9.9, 1.2.3.4"], "1.2.3.4"),
        ("10.0.0.5", ["1.2.3.4, 10.0.0.9"], "1.2.3.4"),
        ("10.0.0.5", ["9.9.9.9", "1.2.3.4"], "1.2.3.4"),  # several headers: one list, in order
        ("10.0.0.5", ["10.0.0.7, 10.0.0.8"], "10.0.0.7"),  # all trusted: the left-most
        ("10.0.0.5", ["1.2.3.4:5678"], "1.2.3.4"),
        ("10.0.0.5", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.5", ["1.2.3.4, not-an-ip"], "10.0.0.5"),
        ("::ffff:10.0.0.5", ["1.2.3.4"], "1.2.3.4"),  # IPv4-mapped peer
    ],
)
def test_client_address(peer, xff, expected):
    assert client_address(peer, xff, parse_networks(["10.0.0.0/8"])) == expected


def test_ipv6_clients_share_a_limit_per_64():
    assert rate_key("2001:db8:1:2::1") == rate_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert rate_key("2001:db8:1:3::1") != rate_key("2001:db8:1:2::1")
    assert rate_key("198.51.100.1") == "198.51.100.1"


def test_bad_trusted_proxy_setting_fails_at_startup():
    with pytest.raises(ValueError):
        RateLimiter(rules(), FrozenClock(), trusted_proxies=["10.0.0.0/33"])


# -- the limiter itself (memory) ------------------------------------------------------------------


async def test_the_moving_window_follows_the_clock():
    clock = FrozenClock()
    limiter = RateLimiter(rules("3/minute"), clock)
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


async def test_an_empty_rule_means_no_limit_and_no_headers():
    limiter = RateLimiter(rules(""), FrozenClock())
    for _ in range(50):
        decision = await limiter.anonymous_upload("192.0.2.1")
    assert decision.allowed and decision.headers() == {}


async def test_idle_keys_are_pruned():
    clock = FrozenClock()
    storage = ClockedMemoryStorage(lambda: clock.now().timestamp())
    storage.PRUNE_EVERY = 10
    for n in range(9):
        assert await storage.acquire_entry(f"k{n}", 5, 60)
    clock.advance(seconds=61)
    assert await storage.acquire_entry("fresh", 5, 60)  # the tenth acquisition prunes
    assert set(storage.events) == {"fresh"}


async def test_login_limits_per_address_and_per_email():
    clock = FrozenClock()
    limiter = RateLimiter(rules(login_per_ip="4/hour", login_per_email="2/hour"), clock)
    await limiter.check_login("192.0.2.1", "ann@example.com")
    await limiter.login_failed("192.0.2.1", "ann@example.com")
    await limiter.login_failed("192.0.2.2", "ANN@example.com ")  # same email, another address
    with pytest.raises(RateLimited) as e:
        await limiter.check_login("192.0.2.3", "ann@example.com")
    assert e.value.action["retry_after"] == 3601
    await limiter.check_login("192.0.2.1", "bob@example.com")  # the address has room left
    await limiter.login_failed("192.0.2.1", "bob@example.com")
    await limiter.login_failed("192.0.2.1", "cy@example.com")
    await limiter.login_failed("192.0.2.1", "dee@example.com")
    with pytest.raises(RateLimited):  # 4 failures from this address, whatever the email
        await limiter.check_login("192.0.2.1", "eve@example.com")
    # A successful sign-in clears the email's failures, not the address's.
    await limiter.login_succeeded("ann@example.com")
    await limiter.check_login("192.0.2.9", "ann@example.com")
    clock.advance(hours=1, seconds=1)
    await limiter.check_login("192.0.2.1", "eve@example.com")


async def test_signups_per_address():
    limiter = RateLimiter(rules(signups_per_ip="2/hour"), FrozenClock())
    await limiter.signup("192.0.2.1")
    await limiter.signup("192.0.2.1")
    with pytest.raises(RateLimited):
        await limiter.signup("192.0.2.1")


async def test_an_unreachable_store_fails_open(caplog):
    limiter = RateLimiter(rules("1/hour"), FrozenClock(), redis_url="redis://127.0.0.1:1/0")
    try:
        for _ in range(3):
            decision = await limiter.anonymous_upload("192.0.2.1")
            assert decision.allowed and decision.headers() == {}
    finally:
        await limiter.close()
    assert "rate-limit storage failed" in caplog.text


# -- Redis: counters shared by every process ------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    import redis.asyncio as aioredis

    prefix = f"imgpro-test-{uuid.uuid4().hex}"
    yield prefix
    r = aioredis.Redis.from_url(REDIS_URL)
    async for key in r.scan_iter(match=f"{prefix}:*"):
        await r.delete(key)
    await r.aclose()


@pytest.mark.redis
async def test_redis_limiters_share_counters_and_follow_the_clock(redis_prefix):
    clock = FrozenClock()
    settings = rules("3/minute", key_prefix=redis_prefix)
    one = RateLimiter(settings, clock, redis_url=REDIS_URL)
    two = RateLimiter(settings, clock, redis_url=REDIS_URL)  # "another process"
    try:
        await one.anonymous_upload("192.0.2.1")
        clock.advance(seconds=20)
        await two.anonymous_upload("192.0.2.1")
        decision = await one.anonymous_upload("192.0.2.1")
        assert (decision.remaining, decision.reset_after) == (0, 41)
        with pytest.raises(RateLimited) as e:
            await two.anonymous_upload("192.0.2.1")
        assert e.value.action["retry_after"] == 41
        clock.advance(seconds=41)
        await two.anonymous_upload("192.0.2.1")
        with pytest.raises(RateLimited):
            await one.anonymous_upload("192.0.2.1")
        # Sign-in helpers over Redis too.
        await one.login_failed("192.0.2.1", "ann@example.com")
        await one.login_succeeded("ann@example.com")
        await two.check_login("192.0.2.1", "ann@example.com")
    finally:
        await one.close()
        await two.close()


@pytest.mark.redis
async def test_two_apps_on_one_redis_share_the_anonymous_limit(settings, clock, redis_prefix):
    shared = {"redis_url": REDIS_URL, "rate_limits": rules("3/hour", key_prefix=redis_prefix)}
    async with (
        app_client(settings, clock, **shared) as (a, _),
        app_client(settings, clock, **shared) as (b, _),
    ):
        codes = [(await upload(c, PNG)).status_code for c in (a, b, a, b)]
        assert codes == [201, 201, 201, 429]
        r = await upload(a, PNG)
        assert r.status_code == 429 and r.headers["ratelimit-remaining"] == "0"
