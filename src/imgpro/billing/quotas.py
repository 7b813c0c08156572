"""Workspace usage counters, changed only by single conditional UPDATE statements.

``uploads_used`` counts this calendar month's uploads (UTC); ``period`` says which month it
counts, so the first upload of a new month resets it in the same statement. Because the check
and the increment are one UPDATE … WHERE, N+k concurrent uploads with N left admit exactly N,
on SQLite and PostgreSQL, across processes.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import workspaces


def period_of(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m")


def uploads_this_period(period: str) -> sa.ColumnElement[int]:
    """uploads_used as seen in ``period`` (0 if the counter belongs to an earlier month)."""
    return sa.case((workspaces.c.period == period, workspaces.c.uploads_used), else_=0)


async def count_upload(conn: AsyncConnection, workspace_id: str, size: int, now: dt.datetime, *,
                       uploads_limit: int | None, storage_limit: int | None) -> bool:
    """Count one stored upload of ``size`` bytes if it fits the limits; False if it does not."""
    period = period_of(now)
    used = uploads_this_period(period)
    query = workspaces.update().where(workspaces.c.id == workspace_id)
    if uploads_limit is not None:
        query = query.where(used + 1 <= uploads_limit)
    if storage_limit is not None:
        query = query.where(workspaces.c.storage_used + size <= storage_limit)
    result = await conn.execute(query.values(
        uploads_used=used + 1,
        period=period,
        storage_used=workspaces.c.storage_used + size,
        images_count=workspaces.c.images_count + 1,
    ))
    return result.rowcount == 1
