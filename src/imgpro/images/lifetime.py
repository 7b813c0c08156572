"""When an image stops existing: the ``expires_at`` rules, at upload and on a change.

Anonymous images always expire, at most ``limits.anon_ttl_seconds`` after their upload: a TTL
may only shorten their life, and no change makes them permanent or lets them live longer. A
new expiry is always in the future (DELETE removes an image now). Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from imgpro.images.fields import invalid
from imgpro.principal import Principal


def expiry_at_upload(
    principal: Principal, ttl: int | None, now: dt.datetime, *, anon_ttl: int
) -> dt.datetime | None:
    """``expires_at`` of an image uploaded ``now`` with ``ttl`` seconds (None: permanent)."""
    if principal.is_anonymous:
        # Anonymous uploads always expire; a TTL may only shorten their life.
        ttl = min(ttl or anon_ttl, anon_ttl)
    return now + dt.timedelta(seconds=ttl) if ttl else None


def check_expiry_change(
    row: Any, changes: dict[str, Any], now: dt.datetime, *, anon_ttl: int
) -> None:
    """Refuse (422 validation_failed) an ``expires_at`` change the row may not take."""
    expires = changes.get("expires_at")
    if expires is not None and expires <= now:
        # A past expiry would delete the image while answering 404 to a write that worked:
        # refuse it, nothing changes (DELETE removes an image now).
        raise invalid("expires_at", "must be in the future; DELETE removes an image now")
    if row.workspace_id == "anonymous" and "expires_at" in changes:
        latest = row.created_at + dt.timedelta(seconds=anon_ttl)
        if changes["expires_at"] is None or changes["expires_at"] > latest:
            raise invalid("expires_at", "anonymous images cannot be made permanent")
