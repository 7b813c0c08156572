"""Rate limits: anonymous uploads, failed imports and sign-in/sign-up attempts, counted per
client address over moving windows.

- ``limiter.py``: :class:`RateLimiter` over the ``limits`` library (Redis, a per-host SQLite
  file, or memory), its clock-driven storages, the ``RateLimit-*`` headers.
- ``host.py``: the per-host SQLite storage, exact across one host's server processes.
- ``addresses.py``: the client's address behind trusted proxies and the key it is counted by
  (the CDN's fair render turns count by it too).
"""

from imgpro.ratelimit.limiter import RateLimiter

__all__ = ["RateLimiter"]
