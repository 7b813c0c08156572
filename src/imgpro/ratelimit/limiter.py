"""Anonymous-upload and sign-in rate limits over the ``limits`` library (moving windows).

Storage: Redis when ``Settings.redis_url`` is set, so every process of every host shares one
set of counters (the moving window's check-and-add is a Lua script there, atomic across
processes). Without Redis, a SQLite file in the data directory that every process of the host
opens (``host.py``): exact per host, so ``imgpro serve``'s several processes still
admit 20 anonymous uploads an hour, not 20 per process. ``rate_limits.store = "memory"``
keeps them in each process's memory instead (one-process setups that want no file).

Time: the ``limits`` storages read ``time.time()`` themselves. Here they read the app's
:class:`~imgpro.clock.Clock` instead — :class:`ClockedMemoryStorage` and
:class:`ClockedRedisStorage` override the two moving-window primitives (``acquire_entry``,
``get_moving_window``) to take the timestamp from the clock (Redis: the same Lua scripts the
library ships, given our timestamp). The strategy (``MovingWindowRateLimiter``) is the
library's, unchanged. So tests move windows with a ``FrozenClock``, never with sleeps.

Clients are keyed by :func:`imgpro.ratelimit.addresses.rate_key` of their address (behind trusted
proxies: :func:`imgpro.ratelimit.addresses.client_address`).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from imgpro.clock import Clock
from imgpro.errors import RateLimited, wait_action
from imgpro.ratelimit.addresses import client_address, parse_networks, rate_key
from imgpro.ratelimit.host import HostFileStorage
from imgpro.settings import RateLimitSettings

log = logging.getLogger("imgpro.ratelimit")

Now = Callable[[], float]


# -- storages on the app's clock -----------------------------------------------------------------


class _Entry:
    __slots__ = ("atime", "expiry")

    def __init__(self, atime: float, expiry: float) -> None:
        self.atime = atime
        self.expiry = atime + expiry


class ClockedMemoryStorage(MemoryStorage):
    """The library's in-memory storage, with moving-window timestamps from ``now``.

    The base class's background expiry task runs on real time, so it is never started here;
    instead each key keeps at most ``limit`` entries (only those matter to a moving window)
    and idle keys are dropped every ``PRUNE_EVERY`` acquisitions.
    """

    PRUNE_EVERY = 1024

    def __init__(self, now: Now) -> None:
        super().__init__()
        self._now = now
        self._since_prune = 0

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._now()
        # No await between the check and the insert: atomic on the event loop.
        events = cast(list[_Entry], self.events.setdefault(key, []))
        if len(events) > limit - amount and events[limit - amount].atime >= now - expiry:
            return False
        events[:0] = [_Entry(now, expiry)] * amount  # newest first, as the library keeps them
        del events[limit:]
        self._prune(now)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._now()
        events = cast(list[_Entry], self.events.get(key, []))
        inside = [e for e in events if e.atime >= now - expiry]
        if not inside:
            return now, 0
        return inside[-1].atime, len(inside)

    def _prune(self, now: float) -> None:
        self._since_prune += 1
        if self._since_prune < self.PRUNE_EVERY:
            return
        self._since_prune = 0
        for key in [k for k, ev in self.events.items() if not ev or ev[0].expiry <= now]:
            self.events.pop(key, None)
            self.locks.pop(key, None)


class ClockedRedisStorage(RedisStorage):
    """The library's Redis storage (redis-py), with moving-window timestamps from ``now``.

    Entries still expire in Redis on real time (EXPIRE = the window length), which only ever
    removes entries the window has already left.
    """

    def __init__(self, uri: str, now: Now, *, key_prefix: str) -> None:
        super().__init__(uri, implementation="redispy", key_prefix=key_prefix)
        self._now = now

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        bridge: Any = self.bridge
        acquired = await bridge.lua_acquire_moving_window(
            [bridge.prefixed_key(key)], [self._now(), limit, expiry, amount]
        )
        return bool(acquired)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        bridge: Any = self.bridge
        now = self._now()
        window = await bridge.lua_moving_window([bridge.prefixed_key(key)], [now - expiry, limit])
        if window:
            return float(window[0]), int(window[1])
        return now, 0

    async def close(self) -> None:
        await self.bridge.get_connection().aclose()  # type: ignore[attr-defined]


def make_storage(
    redis_url: str, now: Now, *, key_prefix: str, host_path: Path | None = None
) -> Storage:
    """Redis when configured (exact across hosts); else the host-wide file (exact across this
    host's processes); else, with no file given, this process's memory."""
    if not redis_url:
        if host_path is not None:
            return HostFileStorage(host_path, now)
        return ClockedMemoryStorage(now)
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    return ClockedRedisStorage(uri, now, key_prefix=key_prefix)


# -- decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The outcome of one rate-limited request, and the headers that describe it."""

    allowed: bool
    limit: int  # of the window closest to exhaustion
    remaining: int
    reset_after: int  # seconds until that window frees a slot
    retry_after: int  # seconds until a refused request may succeed (0 when allowed)
    policy: str  # "20;w=3600, 100;w=86400"

    def headers(self) -> dict[str, str]:
        if not self.policy:  # no limit configured (or the store is down): nothing to say
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
            "RateLimit-Policy": self.policy,
        }

    def error(self, message: str = "Too many uploads from this address.") -> RateLimited:
        return RateLimited(message, action=wait_action(self.retry_after), headers=self.headers())


UNLIMITED = Decision(True, 0, 0, 0, 0, "")


def _seconds(until: float) -> int:
    """Whole seconds to wait until an entry ``until`` seconds from now has left the window.

    The library's windows include their edge (an entry made at t still counts at t + window),
    so the wait must be strictly longer: the smallest whole number above ``until``.
    """
    return math.floor(until) + 1


class _Limit:
    """One rule (a list of windows) over a shared limiter."""

    def __init__(self, rule: str, name: str) -> None:
        self.items: tuple[RateLimitItem, ...] = tuple(parse_many(rule)) if rule.strip() else ()
        self.name = name
        self.policy = ", ".join(f"{i.amount};w={i.get_expiry()}" for i in self.items)


class RateLimiter:
    """The service's rate limits. Fails open (logged) if its storage is unreachable: a Redis
    outage must not take uploads and sign-ins down with it."""

    def __init__(
        self,
        settings: RateLimitSettings,
        clock: Clock,
        *,
        redis_url: str = "",
        trusted_proxies: Sequence[str] = (),
        host_path: Path | None = None,
    ) -> None:
        self.clock = clock
        self.storage = make_storage(
            redis_url, self._now, key_prefix=settings.key_prefix, host_path=host_path
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.trusted = parse_networks(trusted_proxies)
        self.anon_uploads = _Limit(settings.anon_uploads, "anon-upload")
        self.login_ip = _Limit(settings.login_per_ip, "login-ip")
        self.login_email = _Limit(settings.login_per_email, "login-email")
        self.signups = _Limit(settings.signups_per_ip, "signup")
        self.failed_imports = _Limit(settings.failed_imports, "failed-import")
        self.mail_address = _Limit(settings.mail_per_address, "mail-address")
        self.mail_ip = _Limit(settings.mail_per_ip, "mail-ip")

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def client_address(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        return client_address(peer, forwarded_for, self.trusted)

    async def _stats(self, limit: _Limit, ident: str) -> list[tuple[RateLimitItem, int, float]]:
        """(item, remaining, seconds until a slot frees) for each window."""
        now = self._now()
        out = []
        for item in limit.items:
            stats = await self.limiter.get_window_stats(item, limit.name, ident)
            out.append((item, max(stats.remaining, 0), max(stats.reset_time - now, 0.0)))
        return out

    def _decision(
        self, limit: _Limit, stats: list[tuple[RateLimitItem, int, float]], allowed: bool
    ) -> Decision:
        # Report the window closest to exhaustion (on a tie, the longer one: it frees later).
        item, remaining, reset = min(stats, key=lambda s: (s[1], -s[0].get_expiry()))
        retry = 0
        if not allowed:
            # Every exhausted window must free a slot before a retry can pass.
            retry = max([_seconds(r) for _, rem, r in stats if rem <= 0] + [1])
        return Decision(allowed, item.amount, remaining, _seconds(reset), retry, limit.policy)

    async def _consume(self, limit: _Limit, ident: str) -> Decision:
        if not limit.items:
            return UNLIMITED
        try:
            # Test every window first so a refused request consumes nothing; then take a slot
            # in each. (Two processes racing past the test can at worst spend a slot of a
            # longer window on a request a shorter one then refuses — never admit one more.)
            allowed = True
            for item in limit.items:
                if not await self.limiter.test(item, limit.name, ident):
                    allowed = False
                    break
            if allowed:
                for item in limit.items:
                    if not await self.limiter.hit(item, limit.name, ident):
                        allowed = False
                        break
            return self._decision(limit, await self._stats(limit, ident), allowed)
        except Exception:
            log.exception("rate-limit storage failed; allowing the request")
            return UNLIMITED

    # -- anonymous uploads -----------------------------------------------------------------
    async def anonymous_upload(self, address: str) -> Decision:
        """Take one anonymous upload slot for ``address``; raises 429 rate_limited if none."""
        decision = await self._consume(self.anon_uploads, rate_key(address))
        if not decision.allowed:
            raise decision.error()
        return decision

    # -- sign-up and sign-in (used by the web pages) ---------------------------------------
    async def signup(self, address: str) -> Decision:
        """Take one sign-up slot for ``address``; raises 429 rate_limited if none."""
        decision = await self._consume(self.signups, rate_key(address))
        if not decision.allowed:
            raise decision.error("Too many sign-ups from this address.")
        return decision

    @staticmethod
    def _email_key(email: str) -> str:
        # Hashed: the shared store never holds addresses in clear.
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    async def check_login(self, address: str, email: str) -> None:
        """Before checking a password: raise 429 rate_limited if this address, or this email,
        has failed too often lately. Consumes nothing (only failures count)."""
        try:
            for limit, ident in (
                (self.login_ip, rate_key(address)),
                (self.login_email, self._email_key(email)),
            ):
                for item in limit.items:
                    if not await self.limiter.test(item, limit.name, ident):
                        decision = self._decision(limit, await self._stats(limit, ident), False)
                        raise decision.error("Too many sign-in attempts; try again later.")
        except RateLimited:
            raise
        except Exception:
            log.exception("rate-limit storage failed; allowing the sign-in attempt")

    async def login_failed(self, address: str, email: str) -> None:
        """Count a failed sign-in against the address and the email."""
        await self._consume(self.login_ip, rate_key(address))
        await self._consume(self.login_email, self._email_key(email))

    async def login_succeeded(self, email: str) -> None:
        """A correct password clears the email's failures (the address's stay)."""
        try:
            for item in self.login_email.items:
                await self.limiter.clear(item, self.login_email.name, self._email_key(email))
        except Exception:
            log.exception("rate-limit storage failed while clearing sign-in failures")

    # -- URL imports: failures are what costs (DNS, connects, timeouts), so they are counted --
    async def check_imports(self, ident: str) -> None:
        """Before an import: raise 429 rate_limited if ``ident`` (a principal) has failed too
        many imports lately. Consumes nothing (only failures count)."""
        try:
            for item in self.failed_imports.items:
                if not await self.limiter.test(item, self.failed_imports.name, ident):
                    decision = self._decision(
                        self.failed_imports, await self._stats(self.failed_imports, ident), False
                    )
                    raise decision.error("Too many failed imports; try again later.")
        except RateLimited:
            raise
        except Exception:
            log.exception("rate-limit storage failed; allowing the import")

    async def import_failed(self, ident: str) -> None:
        await self._consume(self.failed_imports, ident)

    # -- emails a stranger can trigger (sign-in codes, password resets) --------------------
    async def mail_request(self, address: str, email: str) -> None:
        """Take one slot for the client address and one for the email address (known or not,
        so the limit says nothing about accounts); raises 429 rate_limited if either is out."""
        for limit, ident in (
            (self.mail_ip, rate_key(address)),
            (self.mail_address, self._email_key(email)),
        ):
            decision = await self._consume(limit, ident)
            if not decision.allowed:
                raise decision.error("Too many emails asked for; try again later.")

    async def close(self) -> None:
        if isinstance(self.storage, ClockedRedisStorage | HostFileStorage):
            await self.storage.close()
