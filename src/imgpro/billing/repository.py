"""Every SQL statement of billing: a workspace's plan and usage counters (``workspaces``), the
recount of its image rows, and plan requests (``plan_requests``).

Each function runs in the connection (the transaction) its caller passes: the quota UPDATE
runs inside the upload transaction that inserts the image row, a plan change inside the
transaction that decided it. Why the counters are exact under concurrency is told in
``quotas.py``; the statements that make them so are :func:`count_upload` (one conditional
UPDATE) and :func:`lock_workspace` (before a recount).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import images, plan_requests, users, workspaces

# -- usage counters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counters:
    """A workspace's counters as of one read (uploads already resolved to this period)."""

    plan: str
    uploads_used: int
    storage_used: int
    images_count: int


def uploads_this_period(period: str) -> sa.ColumnElement[int]:
    """uploads_used as seen in ``period`` (0 if the counter belongs to an earlier month)."""
    return sa.case((workspaces.c.period == period, workspaces.c.uploads_used), else_=0)


async def count_upload(
    conn: AsyncConnection,
    workspace_id: str,
    size: int,
    period: str,
    *,
    uploads_limit: int | None,
    storage_limit: int | None,
    images_limit: int | None = None,
) -> bool:
    """Count one stored upload of ``size`` bytes in ``period`` if it fits the limits (None: no
    limit), in one conditional UPDATE; False if it does not fit (nothing changed)."""
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
    return bool(result.rowcount == 1)


async def counters(conn: AsyncConnection, workspace_id: str, period: str) -> Counters | None:
    """The workspace's plan and counters, uploads as seen in ``period``; None if no such
    workspace."""
    row = (
        await conn.execute(
            sa.select(
                workspaces.c.plan,
                uploads_this_period(period).label("uploads"),
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


def _row_totals(start: dt.datetime, workspace_id: str | None = None) -> Any:
    query = sa.select(
        images.c.workspace_id,
        sa.func.count().label("n"),
        sa.func.coalesce(sa.func.sum(images.c.bytes), 0).label("total"),
        sa.func.coalesce(sa.func.sum(sa.case((images.c.created_at >= start, 1), else_=0)), 0).label(
            "recent"
        ),
    ).group_by(images.c.workspace_id)
    if workspace_id is not None:
        query = query.where(images.c.workspace_id == workspace_id)
    return query.subquery()


def _compare(start: dt.datetime, period: str, workspace_id: str | None = None) -> Any:
    """One statement (one snapshot on every engine): counters beside what the rows say."""
    totals = _row_totals(start, workspace_id)
    uploads = uploads_this_period(period)
    query = (
        sa.select(
            workspaces.c.id,
            workspaces.c.kind,
            users.c.email,
            workspaces.c.images_count,
            workspaces.c.storage_used,
            uploads.label("uploads"),
            sa.func.coalesce(totals.c.n, 0).label("n"),
            sa.func.coalesce(totals.c.total, 0).label("total"),
            sa.func.coalesce(totals.c.recent, 0).label("recent"),
        )
        .select_from(
            workspaces.outerjoin(totals, totals.c.workspace_id == workspaces.c.id).outerjoin(
                users, users.c.id == workspaces.c.user_id
            )
        )
        .order_by(workspaces.c.id)
    )
    if workspace_id is not None:
        query = query.where(workspaces.c.id == workspace_id)
    return query


async def counters_beside_rows(
    conn: AsyncConnection, start: dt.datetime, period: str
) -> list[sa.Row]:
    """Every workspace's counters beside its image rows' count, bytes and rows created since
    ``start`` (``n``, ``total``, ``recent``), with its owner's email: one statement."""
    return list((await conn.execute(_compare(start, period))).all())


async def workspace_beside_rows(
    conn: AsyncConnection, start: dt.datetime, period: str, workspace_id: str
) -> sa.Row | None:
    """:func:`counters_beside_rows` of one workspace (None if there is no such workspace)."""
    return (await conn.execute(_compare(start, period, workspace_id))).first()


async def lock_workspace(conn: AsyncConnection, workspace_id: str) -> None:
    """Lock the workspace row for this transaction (PostgreSQL: FOR UPDATE; SQLite's write
    transaction is exclusive already): no upload or delete commits until it ends."""
    await conn.execute(
        sa.select(workspaces.c.id).where(workspaces.c.id == workspace_id).with_for_update()
    )


async def set_counters(conn: AsyncConnection, workspace_id: str, **values: Any) -> None:
    await conn.execute(workspaces.update().where(workspaces.c.id == workspace_id).values(**values))


# -- plans of workspaces -------------------------------------------------------------------------


async def workspace_plan(conn: AsyncConnection, workspace_id: str) -> str | None:
    """The workspace's plan, or None if there is no such workspace."""
    return await conn.scalar(sa.select(workspaces.c.plan).where(workspaces.c.id == workspace_id))


async def plan_and_owner(conn: AsyncConnection, workspace_id: str) -> sa.Row | None:
    """The workspace's ``plan`` and ``user_id``, or None."""
    return (
        await conn.execute(
            sa.select(workspaces.c.plan, workspaces.c.user_id).where(
                workspaces.c.id == workspace_id
            )
        )
    ).first()


async def set_workspace_plan(conn: AsyncConnection, workspace_id: str, plan: str) -> None:
    # Counters are kept: this month's uploads still count, against the new plan's limits.
    await conn.execute(workspaces.update().where(workspaces.c.id == workspace_id).values(plan=plan))


async def account_workspace_id(conn: AsyncConnection, email: str) -> str | None:
    """The account workspace of a normalised ``email``, or None."""
    return await conn.scalar(
        sa.select(workspaces.c.id)
        .join(users, users.c.id == workspaces.c.user_id)
        .where(users.c.email == email, workspaces.c.kind == "account")
    )


async def workspace_id(conn: AsyncConnection, workspace_id: str) -> str | None:
    """``workspace_id`` if that workspace exists, else None."""
    return await conn.scalar(sa.select(workspaces.c.id).where(workspaces.c.id == workspace_id))


async def plan_counts(conn: AsyncConnection, *, excluding: str) -> list[sa.Row]:
    """(plan, how many workspaces) for every plan in use, ``excluding`` one workspace."""
    return list(
        (
            await conn.execute(
                sa.select(workspaces.c.plan, sa.func.count())
                .where(workspaces.c.id != excluding)
                .group_by(workspaces.c.plan)
            )
        ).all()
    )


# -- plan requests (the manual provider) ---------------------------------------------------------


async def pending_request_id(conn: AsyncConnection, workspace_id: str, plan: str) -> str | None:
    """The pending request of this workspace for this plan, if there is one."""
    return await conn.scalar(
        sa.select(plan_requests.c.id).where(
            plan_requests.c.workspace_id == workspace_id,
            plan_requests.c.plan == plan,
            plan_requests.c.status == "pending",
        )
    )


async def insert_plan_request(
    conn: AsyncConnection,
    *,
    request_id: str,
    workspace_id: str,
    user_id: str | None,
    from_plan: str,
    plan: str,
    now: dt.datetime,
) -> None:
    await conn.execute(
        plan_requests.insert().values(
            id=request_id,
            workspace_id=workspace_id,
            user_id=user_id,
            from_plan=from_plan,
            plan=plan,
            status="pending",
            created_at=now,
        )
    )


async def plan_requests_with_email(conn: AsyncConnection, status: str | None) -> list[sa.Row]:
    """Plan requests in ``status`` (None: all), oldest first, each with its user's email."""
    query = (
        sa.select(plan_requests, users.c.email)
        .select_from(plan_requests.outerjoin(users, users.c.id == plan_requests.c.user_id))
        .order_by(plan_requests.c.created_at, plan_requests.c.id)
    )
    if status is not None:
        query = query.where(plan_requests.c.status == status)
    return list((await conn.execute(query)).all())


async def plan_request(conn: AsyncConnection, request_id: str) -> sa.Row | None:
    return (
        await conn.execute(sa.select(plan_requests).where(plan_requests.c.id == request_id))
    ).first()


async def decide_request(
    conn: AsyncConnection, request_id: str, status: str, now: dt.datetime
) -> bool:
    """Move a pending request to ``status`` in one conditional UPDATE: decided once (False if
    it was no longer pending)."""
    done = await conn.execute(
        plan_requests.update()
        .where(plan_requests.c.id == request_id, plan_requests.c.status == "pending")
        .values(status=status, decided_at=now)
    )
    return bool(done.rowcount == 1)


async def delete_plan_requests(
    conn: AsyncConnection, user_id: str, workspace_ids: Sequence[str]
) -> None:
    """The plan requests the user made or that name one of ``workspace_ids``."""
    await conn.execute(
        plan_requests.delete().where(
            sa.or_(
                plan_requests.c.user_id == user_id,
                plan_requests.c.workspace_id.in_(list(workspace_ids)),
            )
        )
    )
