"""Signed-in browser sessions: their lifetimes and how a cookie token is stored (only its
SHA-256). The use cases (start, load, end) are AccountService's (service.py)."""

from __future__ import annotations

import datetime as dt

from imgpro import ids
from imgpro.accounts.models import SessionUser

__all__ = [
    "MAX_PASSWORD",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "TOUCH_RESOLUTION",
    "SessionUser",
    "token_hash",
]

# A session ends 30 days after login, or after 7 days without a visit, whichever comes first.
SESSION_LIFETIME = dt.timedelta(days=30)
SESSION_IDLE = dt.timedelta(days=7)
# last_seen_at is written at most this often per session (a page view is otherwise read-only).
TOUCH_RESOLUTION = dt.timedelta(minutes=10)
MAX_PASSWORD = 1024  # Argon2 takes any length; refuse absurd inputs before hashing them


def token_hash(token: str) -> str:
    return ids.sha256_hex(token)
