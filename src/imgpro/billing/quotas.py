"""Workspace usage counters, changed only by single conditional UPDATE statements.

``uploads_used`` counts this calendar month's uploads (UTC); ``period`` says which month it
counts, so the first upload of a new month resets it in the same statement. Because the check
and the increment are one UPDATE … WHERE, N+k concurrent uploads with N left admit exactly N,
on SQLite and PostgreSQL, across processes:

* SQLite: the upload transaction starts with ``BEGIN IMMEDIATE``, so writers are serialised and
  each UPDATE sees every earlier commit.
* PostgreSQL (READ COMMITTED): a second UPDATE of the same row waits for the first
  transaction's row lock, then re-evaluates its WHERE clause against the committed new row
  version — it never acts on a stale count.

The UPDATE runs inside the transaction that inserts the image row, so a counter only ever
changes together with a committed row: if the insert fails, the increment rolls back with it.
Deletes give storage back in the delete transaction (``images.repository.delete_rows``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.billing.plans import Plan, PlanBook
from imgpro.db.tables import workspaces
from imgpro.errors import ApiError, QuotaExceeded


def period_of(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m")


def period_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the calendar month (UTC) that ``now`` falls in."""
    now = now.astimezone(dt.UTC)
    start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    end = (
        dt.datetime(now.year + 1, 1, 1, tzinfo=dt.UTC)
        if now.month == 12
        else dt.datetime(now.year, now.month + 1, 1, tzinfo=dt.UTC)
    )
    return start, end


def uploads_this_period(period: str) -> sa.ColumnElement[int]:
    """uploads_used as seen in ``period`` (0 if the counter belongs to an earlier month)."""
    return sa.case((workspaces.c.period == period, workspaces.c.uploads_used), else_=0)


async def count_upload(
    conn: AsyncConnection,
    workspace_id: str,
    size: int,
    now: dt.datetime,
    *,
    uploads_limit: int | None,
    storage_limit: int | None,
    images_limit: int | None = None,
) -> bool:
    """Count one stored upload of ``size`` bytes if it fits the limits; False if it does not."""
    period = period_of(now)
    used = uploads_this_period(period)
    query = workspaces.update().where(workspaces.c.id == workspace_id)
    if uploads_limit is not None:
        query = query.where(used + 1 <= uploads_limit)
    if storage_limit is not None:
        query = query.where(workspaces.c.storage_used + size <= storage_limit)
    if images_limit is not None:
        query = query.where(workspaces.c.images_count + 1 <= images_limit)
    result = await conn.execute(
        query.values(
            uploads_used=used + 1,
            period=period,
            storage_used=workspaces.c.storage_used + size,
            images_count=workspaces.c.images_count + 1,
        )
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Counters:
    """A workspace's counters as of one read (uploads already resolved to this period)."""

    plan: str
    uploads_used: int
    storage_used: int
    images_count: int


async def read_counters(
    conn: AsyncConnection, workspace_id: str, now: dt.datetime
) -> Counters | None:
    row = (
        await conn.execute(
            sa.select(
                workspaces.c.plan,
                uploads_this_period(period_of(now)).label("uploads"),
                workspaces.c.storage_used,
                workspaces.c.images_count,
            ).where(workspaces.c.id == workspace_id)
        )
    ).first()
    if row is None:
        return None
    return Counters(
        plan=row.plan,
        uploads_used=int(row.uploads),
        storage_used=int(row.storage_used),
        images_count=int(row.images_count),
    )


def exhausted_limit(plan: Plan, counters: Counters, size: int) -> str:
    """Which limit refused an upload of ``size`` bytes: "uploads", "images" or "storage"."""
    if plan.uploads_per_month is not None and counters.uploads_used + 1 > plan.uploads_per_month:
        return "uploads"
    if plan.images is not None and counters.images_count + 1 > plan.images:
        return "images"
    return "storage"


@dataclass(frozen=True)
class Refusal:
    """Everything a quota error needs to say (read after the refused UPDATE)."""

    workspace_id: str
    plan: Plan
    counters: Counters
    limit: str  # uploads | images | storage
    now: dt.datetime


def plain_refusal(refusal: Refusal) -> ApiError:
    return QuotaExceeded("This workspace's plan has no room for this upload.")


class UploadQuota:
    """The quota hook of the upload transaction (``ImageService._count`` calls ``reserve``)."""

    def __init__(
        self, plans: PlanBook, refuse: Callable[[Refusal], ApiError] = plain_refusal
    ) -> None:
        self.plans = plans
        self.refuse = refuse

    async def reserve(
        self,
        conn: AsyncConnection,
        workspace_id: str,
        size: int,
        now: dt.datetime,
        *,
        metered: bool = True,
    ) -> None:
        """Count the upload inside the caller's transaction, or raise quota_exceeded.

        ``metered=False`` (anonymous traffic) still counts, but against no limit.
        """
        if not metered:
            await count_upload(
                conn, workspace_id, size, now, uploads_limit=None, storage_limit=None
            )
            return
        plan_name = await conn.scalar(
            sa.select(workspaces.c.plan).where(workspaces.c.id == workspace_id)
        )
        plan = self.plans.get(plan_name or "")
        if await count_upload(
            conn,
            workspace_id,
            size,
            now,
            uploads_limit=plan.uploads_per_month,
            storage_limit=plan.storage_bytes,
            images_limit=plan.images,
        ):
            return
        # Refused: nothing changed. Re-read (a fresh statement sees the latest commit) so the
        # error's usage snapshot says why.
        counters = await read_counters(conn, workspace_id, now)
        assert counters is not None  # the principal's workspace exists (FK of its credential)
        raise self.refuse(
            Refusal(workspace_id, plan, counters, exhausted_limit(plan, counters, size), now)
        )
