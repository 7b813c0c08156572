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

The statements themselves live in ``repository.py``; this module decides which limits apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.billing import repository as repo
from imgpro.billing.plans import Plan, PlanBook
from imgpro.billing.repository import Counters
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


async def read_counters(
    conn: AsyncConnection, workspace_id: str, now: dt.datetime
) -> Counters | None:
    """The workspace's counters, uploads as of the month ``now`` falls in; None if no such
    workspace."""
    return await repo.counters(conn, workspace_id, period_of(now))


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
            await repo.count_upload(
                conn, workspace_id, size, period_of(now), uploads_limit=None, storage_limit=None
            )
            return
        plan = self.plans.get(await repo.workspace_plan(conn, workspace_id) or "")
        if await repo.count_upload(
            conn,
            workspace_id,
            size,
            period_of(now),
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
