"""An operator's block on one image (``imgpro moderation block | unblock``).

A blocked image is gone for every reader — the API, the CDN and the viewer page answer 404,
as for a deleted one (the rule is ``repository.live``) — but nothing is removed: its blob,
variants and row stay, and it still counts in its owner's storage until it is deleted (by its
expiry, the owner's account deletion, or the operator). Unblocking brings it back unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from imgpro.db.engine import Database
from imgpro.errors import NotFound, ValidationFailed
from imgpro.images import repository as repo

MAX_REASON = 500


@dataclass(frozen=True)
class BlockState:
    image_id: str
    workspace_id: str
    blocked_at: dt.datetime | None
    reason: str | None


async def block(
    db: Database, image_id: str, *, now: dt.datetime, reason: str | None = None
) -> BlockState:
    if reason is not None:
        reason = reason.strip() or None
        if reason is not None and len(reason) > MAX_REASON:
            raise ValidationFailed(f"The reason is longer than {MAX_REASON} characters.")
    return await _set(db, image_id, now, reason)


async def unblock(db: Database, image_id: str) -> BlockState:
    return await _set(db, image_id, None, None)


async def _set(
    db: Database, image_id: str, at: dt.datetime | None, reason: str | None
) -> BlockState:
    async with db.write() as conn:
        row = await repo.set_blocked(conn, image_id, at, reason)
    if row is None:
        raise NotFound()
    return BlockState(row.id, row.workspace_id, row.blocked_at, row.blocked_reason)
